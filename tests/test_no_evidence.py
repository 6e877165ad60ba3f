"""A check that saw nothing to judge never passes, and says what it saw; its messages read as sentences."""

from __future__ import annotations

import re

import numpy as np
import pytest

import axiomcheck as ac
from axiomcheck.checks.evidence import Share
from axiomcheck.engine import Settings
from axiomcheck.engine.assemble import result
from axiomcheck.engine.verifier import Verifier
from axiomcheck.sampling.domains import World
from tests.helpers import softmax

FAST = dict(max_examples=0, sweep_size=32)
COMPARED = ["context.continuity", "context.deterministic", "context.batch_independent"]


@ac.context_operator(name="all_nan", register=False)
def all_nan(context):
    return np.full((context.shape[0], 4), np.nan)


@ac.context_operator(name="all_inf", register=False)
def all_inf(context):
    return np.full((context.shape[0], 4), np.inf)


@ac.context_operator(name="smooth", register=False)
def smooth(context):
    return softmax(np.tanh(context[:, :1]) * np.arange(4.0)[None, :])


@pytest.mark.parametrize("op", [all_nan, all_inf], ids=["nan", "inf"])
def test_no_finite_output_is_never_a_pass(op):
    report = ac.verify(op, axioms=COMPARED + ["context.finite"], **FAST)
    by = {r.axiom: r for r in report.results}
    assert by["context.continuity"].status == "error"
    assert by["context.continuity"].message.startswith(
        "cannot be judged: no finite output on any sampled pair: the weights were NaN or inf at both ends of all ")
    assert by["context.continuity"].message.endswith("segments (see context.finite)")
    for axiom in ("context.deterministic", "context.batch_independent"):
        assert by[axiom].status == "error"
        assert re.fullmatch(r"cannot be judged: no finite output: every weight returned for the \d+ samples compared "
                            r"was NaN or inf \(see context.finite\)", by[axiom].message), by[axiom].message
    assert by["context.finite"].status == "fail"


def test_the_same_checks_pass_on_finite_weights():
    report = ac.verify(smooth, axioms=COMPARED, **FAST)
    assert [r.status for r in report.results] == ["pass", "pass", "pass"], report.statuses()
    assert "continuous; sampled Lipschitz estimate" in report.results[0].message


def test_a_builtin_with_one_teacher_no_longer_passes_regularity_on_nan():
    """ca_mkd at K = 1 returns NaN everywhere (its softmax over one teacher's −inf logit)."""
    report = ac.verify("ca_mkd", teachers=1, axioms=["token.regularity", "token.finite"], **FAST)
    by = {r.axiom: r for r in report.results}
    assert by["token.finite"].status == "fail"
    assert by["token.regularity"].status == "error"
    assert "no finite output on any sampled pair" in by["token.regularity"].message


@ac.importance_operator(name="nan_importance", register=False)
def nan_importance(losses, sizes):
    return np.full(sizes.shape, np.nan)


@ac.importance_operator(name="negative_importance", register=False)
def negative_importance(losses, sizes):
    return -np.ones(sizes.shape) / sizes.shape[1]


@ac.importance_operator(name="equal_importance", register=False)
def equal_importance(losses, sizes):
    return np.ones(sizes.shape) / sizes.shape[1]


@pytest.mark.parametrize("op, seen", [(nan_importance, "with NaN or inf"), (negative_importance, "with a negative")])
def test_pareto_cannot_be_judged_without_a_usable_importance(op, seen):
    [r] = ac.verify(op, axioms=["importance.pareto_compatibility"], **FAST).results
    assert r.status == "error"
    assert r.message.startswith("cannot be judged: no sampled λ is finite and ≥ 0 with a positive sum") and seen in \
        r.message, r.message


def test_pareto_passes_on_a_usable_importance():
    [r] = ac.verify(equal_importance, axioms=["importance.pareto_compatibility"], **FAST).results
    assert r.status == "pass" and r.samples > 0


def test_a_check_that_counted_nothing_is_not_a_pass():
    v = Verifier(smooth, World(), Settings(), axioms=["context.shape"])
    r = result(v.subject, v.evidence, "context.shape", "r")  # nothing was evaluated: no evidence at all
    assert (r.status, r.message) == ("error", "cannot be judged: no sampled input reached this check")
    v.evidence.count("context.shape", 1)
    r = result(v.subject, v.evidence, "context.shape", "r")
    assert (r.status, r.message) == ("pass", "holds on 1 sampled input")


# ----------------------------------------------------------------------------- messages as sentences


def test_share_without_finite_samples_reads_as_a_sentence():
    s = Share()
    s.add(checked=1536, finite=0, violating=0, nan=1536, inf=0)
    assert s.describe() == "none of the 1536 sweep samples had finite weights to judge; NaN on 100%"
    s = Share()
    s.add(checked=10, finite=8, violating=2, nan=1, inf=1)
    assert s.describe() == "violated on 25% of the 8 finite sweep samples; NaN on 10%; inf on 10%"


def test_all_nan_failures_do_not_count_zero_finite_samples():
    report = ac.verify(all_nan, axioms=["context.normalization", "context.positivity", "context.boundedness"], **FAST)
    for r in report.results:
        assert r.status == "fail"
        assert "of the 0" not in r.message and "0%" not in r.message.replace("100%", ""), r.message
        assert "had finite weights to judge; NaN on 100%" in r.message, r.message


@ac.context_operator(name="boxed", bounds=(0.2, 0.3), register=False)
def boxed(context):
    return np.full((context.shape[0], 4), 0.25)


@ac.context_operator(name="leaves_its_box", bounds=(0.2, 0.3), register=False)
def leaves_its_box(context):
    """Claims [0.2, 0.3] but gives teacher 0 up to 0.4: the composition leaves its derived bounds."""
    t = 0.25 + 0.15 * np.tanh(np.abs(context[:, :1]))
    return np.concatenate([t, np.repeat((1.0 - t) / 3.0, 3, axis=1)], axis=1)


def test_derived_bounds_are_named_in_a_sentence():
    uniform = ac.token_operator(lambda probs, context: np.full(probs.shape[:2], 0.25), name="u", bounds=(0.25, 0.25),
                                register=False)
    small = dict(FAST, vocab=4, tasks=2, shrink=False)
    good = ac.verify(ac.compose(uniform, boxed), axioms=["unified.boundedness"], **small)
    [r] = good.results
    assert r.status == "pass"
    assert re.fullmatch(r"observed weights in \[0\.25, 0\.25\], within the bounds \[[\d.]+, [\d.]+\] derived from the "
                        r"components' declared ones, over \d+ samples", r.message), r.message
    bad = ac.verify(ac.compose(uniform, leaves_its_box), axioms=["unified.boundedness"], **small)
    [r] = bad.results
    assert r.status == "fail"
    assert r.message.startswith("w_k must lie in the bounds derived from the components' declared ones, "
                                "[w_min, w_max] = ["), r.message
    assert "the derived from" not in r.message


def test_declared_bounds_keep_their_message():
    [r] = ac.verify(leaves_its_box, axioms=["context.boundedness"], **FAST).results
    assert r.status == "fail" and r.message.startswith("w_k must lie in the declared [w_min, w_max] = [0.2, 0.3]")


@ac.context_operator(name="nan_far_out", register=False)
def nan_far_out(context):
    """Smooth weights, NaN wherever the first context feature exceeds 100."""
    w = softmax(np.tanh(context[:, :1]) * np.arange(4.0)[None, :])
    return np.where(context[:, :1] > 100.0, np.nan, w)


def _measure(pairs):
    from axiomcheck.checks.registry import PROPERTY_CHECKS

    v = Verifier(nan_far_out, World(), Settings(), axioms=["context.continuity"])
    A = (np.array([a for a, _ in pairs], dtype=float),)
    B = (np.array([b for _, b in pairs], dtype=float),)
    PROPERTY_CHECKS["regularity"].measure(v.subject, v.evidence, A, B)
    return v.evidence["context.continuity"]


def test_segments_without_a_finite_end_are_left_out_and_counted():
    e = _measure([([200.0, 0, 0], [300.0, 0, 0]), ([0.0, 0, 0], [0.5, 0, 0])])
    assert e.error is None and e.finding is None
    assert "over 1 segment," in e.note
    assert e.note.endswith("; 1 more segment with no finite weight at both ends was not measured"), e.note
    e = _measure([([200.0, 0, 0], [300.0, 0, 0]), ([150.0, 1, 0], [400.0, 0, 1])])
    assert e.note is None
    assert e.error == ("cannot be judged: no finite output on any sampled pair: the weights were NaN or inf at both "
                       "ends of all 2 segments")
