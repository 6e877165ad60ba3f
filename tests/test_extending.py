"""Extending axiomcheck at run time, as the recipes of docs/architecture.md say, and nothing more.

An axiom is one `Check` and one catalogue row: the check is registered in
`checks.registry.PROPERTY_CHECKS` under its property, the row in `axioms.AXIOMS`
names that property, and the engine reads the check only through the contract of
`checks.base.Check`.  A keyword input is one `KeywordInput` record in
`spec.inputs.INPUTS`, offered by the scales that list its name in `Scale.keywords`.
(A scale is `tests/test_toy_scale.py`.)
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import axiomcheck as ac
from axiomcheck.axioms import AXIOMS, Axiom
from axiomcheck.checks import properties as P
from axiomcheck.checks.base import fmt
from axiomcheck.checks.pointwise import Case, Pointwise
from axiomcheck.checks.registry import PROPERTY_CHECKS
from axiomcheck.errors import SpecError
from axiomcheck.spec.inputs import INPUTS, KeywordInput
from axiomcheck.spec.scales import SCALES

FAST = dict(max_examples=10, sweep_size=32)


class NoDominantTeacher(Pointwise):
    """max_k w_k ≤ 0.9: no teacher takes over the ensemble."""

    property = "no_dominant_teacher"

    def cases(self, subject, ev, args, W, where):
        top = W.max(axis=-1).astype(np.float64)
        yield Case(P.Violation(~(top <= 0.9), np.where(np.isnan(top), np.inf, top - 0.9)),
                   np.ones(W.shape[:2], dtype=bool),
                   lambda b, r: ("max_k w_k must be ≤ 0.9", fmt(float(top[b, r]))))


@pytest.fixture
def extended(monkeypatch):
    axiom = Axiom("context.no_dominant_teacher", "context", "no_dominant_teacher", "example",
                  "max_k w_k ≤ 0.9", "Fails when one teacher gets more than 0.9 of the weight.")
    monkeypatch.setitem(PROPERTY_CHECKS, axiom.property, NoDominantTeacher())
    monkeypatch.setitem(AXIOMS, axiom.id, axiom)
    return axiom.id


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_a_new_check_passes_a_conforming_operator(extended):
    op = ac.context_operator(lambda c: np.full((c.shape[0], 4), 0.25), name="ext_uniform", register=False)
    r = ac.verify(op, **FAST)[extended]
    assert r.status == "pass", r.message
    assert r.samples > 0


def test_a_new_check_fails_a_violating_operator_with_a_shrunk_counterexample(extended):
    op = ac.context_operator(lambda c: _softmax(np.tanh(c[:, :1]) * np.array([[9.0, 0.0, 0.0, 0.0]])),
                             name="ext_dominant", register=False)
    r = ac.verify(op, **FAST)[extended]
    assert r.status == "fail"
    assert r.message.startswith("max_k w_k must be ≤ 0.9, got ")
    assert "% of" in r.message
    assert r.counterexample["input"]["context"]
    assert r.reproduce and extended in r.reproduce


# ============================================================================= a keyword input


def _temperature(family, draw, base):
    """A batch of temperatures for one sweep family (the record's `drawn`)."""
    n = next(iter(base.values())).shape[0]
    fixed = {"tiny": 1e-6, "huge": 1e6}.get(family)
    value = np.full(n, fixed) if fixed is not None else draw.rng.uniform(0.1, 10.0, size=n)
    return value, base


@pytest.fixture
def with_temperature(monkeypatch):
    """The record, and the context scale offering it: all a keyword input without a size of its own takes."""
    record = KeywordInput("temperature", "float[B] > 0", ("random", "tiny", "huge"), _temperature,
                          "‖Δtemperature‖∞", ("tiny", "huge"))
    monkeypatch.setitem(INPUTS, record.name, record)
    context = SCALES["context"]
    monkeypatch.setitem(SCALES, "context", dataclasses.replace(context, keywords=(*context.keywords, record.name)))


def tempered(context, *, temperature):
    z = np.tanh(context.sum(axis=1, keepdims=True) * np.arange(1.0, 5.0)) / (1.0 + temperature[:, None])
    return _softmax(z)


def cold_negative(context, *, temperature):
    w = np.full((context.shape[0], 4), 0.25)
    w[temperature < 1e-3] = [-0.25, 0.75, 0.25, 0.25]
    return w


def test_a_keyword_input_is_one_record_that_the_engine_samples(with_temperature):
    ok = ac.verify(ac.context_operator(tempered, name="tempered", register=False), **FAST)
    assert set(ok.statuses().values()) <= {"pass", "skipped"}, ok.statuses()
    assert ok.spec["inputs"] == ["context", "temperature"]
    assert ok.spec["metric"] == "max(‖Δcontext‖∞, ‖Δtemperature‖∞)"  # its record's term joins the scale's metric
    bad = ac.verify(ac.context_operator(cold_negative, name="cold_negative", register=False), **FAST)
    assert bad["context.positivity"].status == "fail"
    assert "temperature=1.e-06" in bad["context.positivity"].message  # the sweep reached its extreme family


def test_an_operator_naming_an_unknown_keyword_input_is_refused():
    """Without the record the same function is refused when it is declared: the record is what enables it."""
    with pytest.raises(SpecError, match="temperature"):
        ac.context_operator(tempered, name="tempered", register=False)


# ============================================================================= a mistake in the recipe


def test_a_check_registered_under_another_property_is_refused_before_anything_runs(monkeypatch):
    """A check registered under the row's property but declaring none of its own (here the base class's
    "") was reported "cannot be judged: no sampled input reached this check"; it is now a SpecError
    that says what to set."""
    class Unnamed(NoDominantTeacher):
        property = ""

    axiom = Axiom("context.no_dominant_teacher", "context", "no_dominant_teacher", "example", "s", "d")
    monkeypatch.setitem(PROPERTY_CHECKS, axiom.property, Unnamed())
    monkeypatch.setitem(AXIOMS, axiom.id, axiom)
    op = ac.context_operator(lambda c: np.full((c.shape[0], 4), 0.25), name="ext_uniform", register=False)
    with pytest.raises(SpecError, match="declares property = ''; set property = 'no_dominant_teacher' on it"):
        ac.verify(op, **FAST)


def test_a_row_whose_property_no_check_decides_is_refused(monkeypatch):
    axiom = Axiom("context.novel", "context", "novel", "example", "s", "d")
    monkeypatch.setitem(AXIOMS, axiom.id, axiom)
    op = ac.context_operator(lambda c: np.full((c.shape[0], 4), 0.25), name="ext_uniform", register=False)
    with pytest.raises(SpecError, match=r"no check decides it: register one in .*PROPERTY_CHECKS\['novel'\]"):
        ac.verify(op, **FAST)
