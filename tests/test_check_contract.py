"""The engine reads a check only through `checks.base.Check`'s contract.

A check registered at run time with a precondition is reported `skipped` with its
own reason where the precondition fails, and judged (pass, fail) where it holds;
the K = 1 family runs because the registry holds it; and no engine module names
a concrete check class.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import numpy as np
import pytest

import axiomcheck as ac
from axiomcheck import checks
from axiomcheck.axioms import AXIOMS, Axiom
from axiomcheck.checks import properties as P
from axiomcheck.checks import registry
from axiomcheck.checks.base import Check, fmt
from axiomcheck.checks.pointwise import Case, Pointwise

FAST = dict(max_examples=10, sweep_size=32)
ENGINE = Path(__file__).resolve().parent.parent / "axiomcheck" / "engine"
MAJORITY = "needs K ≥ 3 teachers: with K = 2 one teacher always holds at least half of the weight"


class NoMajorityTeacher(Pointwise):
    """max_k w_k ≤ 1/2: no teacher outvotes the others together; asked only of K ≥ 3 teachers."""

    property = "no_majority_teacher"

    def applies(self, subject):
        return MAJORITY if subject.world.teachers < 3 else None

    def cases(self, subject, ev, args, W, where):
        top = W.max(axis=-1).astype(np.float64)
        yield Case(P.Violation(~(top <= 0.5 + subject.tol), np.where(np.isnan(top), np.inf, top - 0.5)),
                   np.ones(W.shape[:2], dtype=bool),
                   lambda b, r: ("max_k w_k must be ≤ 1/2", fmt(float(top[b, r]))))


@pytest.fixture
def majority(monkeypatch):
    """The check and its catalogue row, added for one test and removed after it."""
    axiom = Axiom("context.no_majority_teacher", "context", "no_majority_teacher", "example",
                  "max_k w_k ≤ 1/2 for K ≥ 3", "Fails when one teacher gets more than half of the weight.")
    monkeypatch.setitem(registry.PROPERTY_CHECKS, axiom.property, NoMajorityTeacher())
    monkeypatch.setitem(AXIOMS, axiom.id, axiom)
    return axiom.id


def _uniform(c, teachers=4):
    return np.full((c.shape[0], teachers), 1.0 / teachers)


def test_a_check_whose_precondition_fails_is_skipped_with_its_reason(majority):
    op = ac.context_operator(lambda c: _uniform(c, 2), name="two_teachers", world={"teachers": 2}, register=False)
    rep = ac.verify(op, **FAST)
    r = rep[majority]
    assert (r.status, r.message) == ("skipped", MAJORITY)
    assert rep["context.normalization"].status == "pass"  # the other checks run as before


def test_a_check_whose_precondition_holds_is_applied(majority):
    r = ac.verify(ac.context_operator(_uniform, name="uniform4", register=False), **FAST)[majority]
    assert r.status == "pass", r.message
    assert r.samples > 0

    def dominant(c):
        z = np.tanh(c[:, :1]) * np.array([[9.0, 0.0, 0.0, 0.0]])
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    r = ac.verify(ac.context_operator(dominant, name="dominant4", register=False), **FAST)[majority]
    assert r.status == "fail"
    assert r.message.startswith("max_k w_k must be ≤ 1/2, got ")


def test_the_k1_family_runs_because_the_registry_holds_it():
    """An operator finite for K = 4 and NaN when told K = 1: `finite` fails only through the K = 1 family."""
    def nan_alone(c, teachers=4):
        return np.full((c.shape[0], teachers), np.nan if teachers == 1 else 1.0 / teachers)

    op = ac.context_operator(nan_alone, name="nan_alone", register=False)
    r = ac.verify(op, axioms=["context.finite"], **FAST)["context.finite"]
    assert r.status == "fail" and "K = 1 family" in r.message
    held = list(registry.FEEDING_CHECKS)
    registry.FEEDING_CHECKS.clear()
    try:
        assert ac.verify(op, axioms=["context.finite"], **FAST)["context.finite"].status == "pass"
    finally:
        registry.FEEDING_CHECKS[:] = held


def test_a_feeding_check_runs_only_when_a_property_it_feeds_is_selected():
    """The K = 1 family feeds `finite` and `shape`: a run of other checks does not call the operator at K = 1."""
    told = []

    def counting(c, teachers=4):
        told.append(teachers)
        return _uniform(c, teachers)

    op = ac.context_operator(counting, name="counting", register=False)
    assert ac.verify(op, axioms=["context.normalization"], **FAST)["context.normalization"].status == "pass"
    assert 1 not in told
    assert ac.verify(op, axioms=["context.shape"], **FAST)["context.shape"].status == "pass"
    assert 1 in told


def _concrete_check_classes() -> set[str]:
    """Every subclass of `Check` defined in the checks package (the contract itself excepted)."""
    names = set()
    for path in sorted(Path(checks.__file__).parent.glob("*.py")):
        module = checks if path.stem == "__init__" else importlib.import_module(f"axiomcheck.checks.{path.stem}")
        names |= {n for n, obj in vars(module).items()
                  if inspect.isclass(obj) and issubclass(obj, Check) and obj is not Check
                  and obj.__module__ == module.__name__}
    return names


def _names(tree: ast.AST) -> list[tuple[int, str]]:
    """Every name the code uses (variables, attributes, imported names), with its line; prose is not code."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            out.append((node.lineno, node.id))
        elif isinstance(node, ast.Attribute):
            out.append((node.lineno, node.attr))
        elif isinstance(node, (ast.ImportFrom, ast.Import)):
            out += [(node.lineno, a.name.rpartition(".")[2]) for a in node.names]
    return out


def test_no_engine_module_mentions_a_concrete_check_class():
    concrete = _concrete_check_classes()
    assert {"Pointwise", "Shape", "SingleTeacher", "Regularity", "Pareto"} <= concrete
    hits = [f"{p.name}:{line}: {name}" for p in sorted(ENGINE.glob("*.py"))
            for line, name in _names(ast.parse(p.read_text(encoding="utf-8"))) if name in concrete]
    assert hits == []


def test_the_scan_finds_a_check_class_named_in_code():
    code = "from ..checks.pointwise import Pointwise\nok = isinstance(check, Pointwise)\n"
    assert [n for _, n in _names(ast.parse(code)) if n in _concrete_check_classes()] == ["Pointwise", "Pointwise"]
