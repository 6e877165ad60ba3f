"""Steep is not a jump: a suspected jump is bisected on to the float resolution of its inputs.

A continuous function that changes over a scale below the radius floor (1e-9 in
float64) — a `+ 1e-8` guard, a clip at 1e-12 inside a log, a KL with a floored
teacher probability — passes as continuous with a steep slope; a step is still a
jump, now confirmed down to adjacent inputs.  The Lipschitz plot of the HTML
report shows each ratio at the radius of the segment it was seen on.
"""

from __future__ import annotations

import numpy as np
import pytest

import axiomcheck as ac
from axiomcheck.output.plots import lipschitz_points
from tests.helpers import context, softmax, token

FAST = dict(max_examples=0, sweep_size=64)


def regularity(op: ac.Operator, **kw: object) -> ac.Result:
    report = ac.verify(op, **{**FAST, **kw})
    return next(r for r in report.results if ac.AXIOMS[r.axiom].property == "regularity")


def log_clip(c):
    """Continuous: log|c₀| clipped at 1e-12, squashed — slope up to ~1e11 just above |c₀| = 1e-12."""
    x = np.log(np.clip(np.abs(c[:, :1]), 1e-12, None)) / 30.0
    return softmax(x * np.arange(4.0))


def dwa_guarded(losses, sizes, *, history):
    """DWA with its usual `+ 1e-8` guard: continuous, steep where the older loss is near 0."""
    r = history[:, -1] / (history[:, -2] + 1e-8)
    return softmax(np.tanh(r / 2.0))


def kl_floored(probs, context, *, student):
    """A KL from the student with the teacher probability floored at 1e-12: continuous, steep near 0."""
    q = student[:, None, :]
    kl = (q * (np.log(np.clip(q, 1e-12, None)) - np.log(np.clip(probs, 1e-12, None)))).sum(-1)
    return softmax(-np.tanh(kl / 10.0))


def step(c):
    return softmax(np.where(c[:, :1] > 0, 1.0, 0.0) * np.arange(4.0))


@pytest.mark.parametrize("op", [
    context(log_clip, name="log_clip"),
    ac.importance_operator(dwa_guarded, name="dwa_guarded", register=False),
    token(kl_floored, name="kl_floored"),
], ids=["clip_in_log", "dwa_guard", "floored_kl"])
def test_a_steep_continuous_function_is_not_a_jump(op):
    r = regularity(op)
    assert r.status == "pass", r.message
    assert "jump" not in r.message.replace("not a jump", "")
    assert "continuous with a steep slope on" in r.message and "no Lipschitz constant below that" in r.message
    assert r.estimate["discontinuous_pairs"] == 0
    # the slope was measured below the radius floor of 1e-9, where the bisection used to stop
    assert float(r.message.split(" at r = ")[1].split(" ")[0]) < 1e-9


def test_the_steep_ratio_is_stated_with_the_radius_it_was_seen_at():
    r = regularity(context(log_clip, name="log_clip"))
    ratio = float(r.message.split("ratio ≥ ")[1].split(" ")[0])
    radius = float(r.message.split(" at r = ")[1].split(" ")[0])
    assert ratio > 1e9 and radius < 1e-9
    assert ratio * radius <= 1.0  # a change of weights that lie in [0, 1]
    assert ratio == pytest.approx(r.estimate["lipschitz_lower_bound"], rel=1e-5)  # the largest ratio seen


def test_a_steep_function_still_breaks_a_declared_constant():
    r = regularity(context(log_clip, name="log_clip_L", lipschitz=10.0))
    assert r.status == "fail"
    assert "declared L = 10" in r.message


def test_a_true_step_is_still_a_jump_down_to_the_float_resolution():
    r = regularity(context(step, name="step"))
    assert r.status == "fail"
    assert "a jump" in r.message and "down to the float resolution of the inputs" in r.message
    ce = r.counterexample
    # the two inputs it ended at are as close as floats get around the step (far below the 1e-9 floor)
    assert ce["radius"] < 1e-15
    a, b = np.asarray(ce["input"]["context"]), np.asarray(ce["other_input"]["context"])
    assert np.abs(a - b).max() == pytest.approx(ce["radius"])
    assert (a[..., 0] > 0) != (b[..., 0] > 0)


def test_a_float32_step_is_a_jump_at_float32_resolution():
    def step32(c):
        return step(c.astype(np.float32)).astype(np.float32)

    r = regularity(context(step32, name="step32"))
    assert r.status == "fail" and "a jump" in r.message


def test_a_float32_function_steep_below_its_resolution_is_a_jump_in_float32():
    def log_clip32(c):
        return log_clip(c.astype(np.float32)).astype(np.float32)

    # float32 resolves no finer than ~1e-7: a slope over 1e-12 is a step at that precision
    r = regularity(context(log_clip32, name="log_clip32"))
    assert r.status == "fail" and "a jump" in r.message


# ============================================================================= the plot's points


def label_weights(probs, context, *, labels):
    p = probs[np.arange(len(labels)), :, labels]
    return softmax(-3.0 * np.log(p + 0.05))


@pytest.mark.parametrize("op", [token(label_weights, name="label_weights"), context(log_clip, name="log_clip")],
                         ids=["segments_of_many_lengths", "steep"])
def test_each_plotted_ratio_is_at_the_radius_it_was_seen_at(op):
    r = regularity(op)
    pts = lipschitz_points(r.estimate)
    assert len(pts) > 10
    # ratio × radius is a change of the weights that was observed: never above the largest change (≤ 1)
    assert max(q * d for d, q in pts) <= 1.0 + 1e-9
    assert max(q for _, q in pts) == pytest.approx(r.estimate["lipschitz_lower_bound"])


@pytest.mark.parametrize("fn", [step, log_clip], ids=["jump", "steep"])
def test_bisecting_past_the_floor_in_chunks_changes_nothing(fn):
    """The byte budget of a large vocabulary bisects a few segments per call: the same findings."""
    from axiomcheck.engine.settings import Settings
    from axiomcheck.engine.verifier import Verifier

    seen = []
    for chunk in (1 << 30, 3):
        v = Verifier(context(fn, name=fn.__name__), ac.World(), Settings(max_examples=0, sweep_size=64))
        v.subject.pair_chunk = chunk
        v.sweep()
        v.checks()
        e = v.evidence["context.continuity"]
        seen.append((e.finding.message if e.finding else e.note, e.estimate["lipschitz_lower_bound"]))
    assert seen[0] == seen[1]
