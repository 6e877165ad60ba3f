"""One builder of results: every status, message and paper reference is decided by `axiomcheck.report.decision`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from axiomcheck.report.decision import decide, stated

PACKAGE = Path(__file__).resolve().parent.parent / "axiomcheck"
ALL = dict(fatal="f", failure="v", error="e", skip="s", passed="p")


@pytest.mark.parametrize("given, status, message", [
    (ALL, "error", "could not be checked: f"),
    ({**ALL, "fatal": None}, "fail", "v (also: e)"),
    ({**ALL, "fatal": None, "failure": None}, "error", "e"),
    ({"skip": "s", "passed": "p"}, "skipped", "s"),
    ({"passed": "p"}, "pass", "p"),
    ({"passed": lambda: "measured"}, "pass", "measured"),
])
def test_the_first_slot_that_holds_decides(given, status, message):
    r = decide("token.positivity", counterexample={"x": 1}, estimate={"n": 2}, seed=3, samples=4, **given)
    assert (r.status, r.message, r.paper_ref, r.seed, r.samples) == (status, message, "III.2", 3, 4)
    assert r.counterexample == ({"x": 1} if status == "fail" else None)  # a counterexample is a failure's
    assert r.estimate == {"n": 2}


def test_a_time_budget_never_lets_a_check_pass_silently():
    assert decide("token.positivity", passed="p", cut="not run: the time budget ran out").status == "skipped"
    cut = decide("token.positivity", passed="p", cut="got 10 of 64 samples")
    assert (cut.status, cut.message) == ("pass", "p; got 10 of 64 samples")
    fail = decide("token.positivity", failure="v", cut="not run: x")
    assert (fail.status, fail.message) == ("fail", "v; not run: x")


def test_an_id_without_a_catalogue_row_is_no_result():
    with pytest.raises(KeyError, match="unknown axiom id 'token.nothing'"):
        decide("token.nothing", passed="p")
    with pytest.raises(ValueError, match="must say what it measured"):
        decide("token.positivity")
    with pytest.raises(ValueError, match="status must be one of"):
        stated("token.positivity", "ok", "m")
    assert stated("dynamics.convergence", "fail", "m").paper_ref == "Thm VI.2"


def test_no_module_builds_a_result_by_hand():
    """The engine, the ensemble, the weight guard and the training-time checks once built their own."""
    allowed = {PACKAGE / "report" / "decision.py", PACKAGE / "report" / "results.py"}  # results.py: reading a report back
    hits = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "Result":
                hits.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert hits == []
