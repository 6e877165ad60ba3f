"""Adding an axiom takes one `Check` and one catalogue row, and the new check is reported.

This is the extension recipe of docs/architecture.md done at run time: the
check is registered in `checks.registry.PROPERTY_CHECKS` under its property, the
row in `axioms.AXIOMS` names that property, and nothing else changes: the engine
reads the check only through the contract of `checks.base.Check`.
"""

from __future__ import annotations

import numpy as np
import pytest

import axiomcheck as ac
from axiomcheck.axioms import AXIOMS, Axiom
from axiomcheck.checks import properties as P
from axiomcheck.checks.base import fmt
from axiomcheck.checks.pointwise import Case, Pointwise
from axiomcheck.checks.registry import PROPERTY_CHECKS

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
