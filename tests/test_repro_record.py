"""Reproduction records: whoever runs a check attaches a `Reproduction`, every front end renders it.

Each front end's reproduce line is shown to come from the record: a field of the
record is changed and the rendered line follows, though nothing else about the
run changed.  A scan of the source keeps every front end and output module from
building or editing a reproduce line as text.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import axiomcheck as ac
from axiomcheck import suites as S
from axiomcheck.report import repro
from axiomcheck.report.repro import Reproduction, render
from axiomcheck.report.results import Report, Result

PACKAGE = Path(__file__).resolve().parent.parent / "axiomcheck"
SIZES = {"teachers": 4, "vocab": 16, "context_dim": 3, "tasks": 3}


# ============================================================================= the record and its renderer


def test_verify_attaches_the_record_its_line_is_rendered_from():
    rep = ac.verify("indep_context_normalization", vocab=8, seed=3, max_examples=0, tolerance=1e-5, timeout=3,
                    axioms=["context.normalization"])
    r = rep["context.normalization"]
    assert r.reproduction == Reproduction(
        "verify", "indep_context_normalization", target="indep_context_normalization",
        axioms=("context.normalization",), seed=3, max_examples=0, world={**SIZES, "vocab": 8},
        settings={"tolerance": 1e-5, "timeout": 3})
    assert r.reproduce == render(r.reproduction) == (
        "axiomcheck verify indep_context_normalization --seed 3 --max-examples 0 --teachers 4 --vocab 8 "
        "--context-dim 3 --tasks 3 --axioms context.normalization --tolerance 1e-05 --timeout 3")
    moved = r.with_reproduction(dataclasses.replace(r.reproduction, seed=11, target=None))
    assert moved.reproduce == (
        "ac.verify(op, seed=11, max_examples=0, teachers=4, vocab=8, context_dim=3, tasks=3, "
        "axioms=['context.normalization'])  # op: the Operator 'indep_context_normalization' (no importable name)")
    # report.json keeps the line only (schema v1 unchanged); the record stays in memory
    assert "reproduction" not in r.to_dict() and r.to_dict()["reproduce"] == r.reproduce
    assert Report.from_dict(rep.to_dict()).results == rep.results  # compared without the record


def test_a_result_given_a_record_renders_its_line_and_a_line_alone_stays_as_given():
    rec = repro.for_demo(3, quick=True, note="the real-data run")
    r = Result("dynamics.convergence", "Thm V.4", "pass", "ok", reproduction=rec)
    assert r.reproduce == "python -m axiomcheck.dynamics --demo --seed 3 --quick  # the real-data run"
    assert Result("token.finite", "III.1", "pass", "ok", reproduce="my line").reproduce == "my line"


def test_a_record_refuses_an_unknown_command_and_a_bare_string_of_ids():
    with pytest.raises(ValueError, match="command must be one of"):
        Reproduction("rerun")
    with pytest.raises(TypeError, match="sequence of check ids"):
        Reproduction("verify", axioms="token.finite")


def test_in_suite_names_only_what_differs_from_the_suite():
    rec = Reproduction("verify", "op", target="op", axioms=("context.positivity",), seed=1, max_examples=10,
                       world={**SIZES, "features": 9}, settings={"isolate": True, "tolerance": 0.1})
    assert render(repro.in_suite(rec, "my suite.toml", "x", {**SIZES, "vocab": 8})) == (
        "axiomcheck run 'my suite.toml' --item x --axioms context.positivity --seed 1 --max-examples 10 "
        "--vocab 16 --features 9 --isolate")
    assert render(repro.in_suite(rec, "s.toml", "x", {**SIZES, "features": 9}, suite_isolates=True)) == (
        "axiomcheck run s.toml --item x --axioms context.positivity --seed 1 --max-examples 10")


# ============================================================================= each front end renders it


def _doctored_report(op: ac.Operator, rec: Reproduction) -> Report:
    """A report of one failed check whose record says `rec` (the settings of the run say otherwise)."""
    axiom = rec.axioms[0]
    return Report(op.name, op.scale, (Result(axiom, ac.AXIOMS[axiom].paper_ref, "fail", "bad", reproduction=rec),))


def test_the_suite_runner_renders_the_engines_record_for_a_plain_item():
    op = ac.get("indep_context_normalization")
    item = S.single(op, "my ops.py:x")
    rec = repro.for_verify("elsewhere:y", op.name, ac.World(vocab=32), ac.Settings(seed=77, max_examples=9),
                           "context.normalization")
    [o] = S.judge(None, item, _doctored_report(op, rec), S.effective(item, {}))
    # the target as the user wrote it; the seed, budget and world of the record (not the item's settings)
    assert o.reproduce == ("axiomcheck verify 'my ops.py:x' --seed 77 --max-examples 9 --teachers 4 --vocab 32 "
                           "--context-dim 3 --tasks 3 --axioms context.normalization")


def test_the_suite_runner_renders_the_engines_record_for_a_suite_item():
    suite = S.loads('[suite]\nname = "w"\nworld = { vocab = 8 }\n[[item]]\nid = "x"\noperator = "uniform_context"\n'
                    'spec = { bounds = [0.1, 0.9] }\n', "s.toml")
    [item] = suite.items
    rec = repro.for_verify("uniform_context", "uniform_context", ac.World(teachers=6, vocab=8),
                           ac.Settings(seed=5, max_examples=2, isolate=True), "context.positivity")
    [o] = S.judge(suite, item, _doctored_report(item.operator, rec), S.effective(item, {}))
    assert o.reproduce == ("axiomcheck run s.toml --item x --axioms context.positivity --seed 5 --max-examples 2 "
                           "--teachers 6 --isolate")


def test_the_pytest_fixture_renders_the_engines_record(monkeypatch):
    """The `axiomcheck` fixture's object, outside a session (a test's own runs would enter this session's
    report): its settings from a marker, nothing from the command line or the ini file."""
    import axiomcheck.engine as engine
    from axiomcheck.pytest_plugin import Checker

    state = SimpleNamespace(overrides={}, ini={}, record=lambda *args: None)
    axiomcheck = Checker(state, SimpleNamespace(nodeid="test_x.py::test_x"), {"seed": 1})
    real = engine.verify

    def verify(*args, **kwargs):  # the engine's records say seed 4242; the run's settings say otherwise
        rep = real(*args, **kwargs)
        return dataclasses.replace(rep, results=tuple(
            r.with_reproduction(dataclasses.replace(r.reproduction, seed=4242)) for r in rep.results))

    monkeypatch.setattr(engine, "verify", verify)
    report = axiomcheck("indep_context_normalization", max_examples=0, axioms=["context.normalization"])
    line = report["context.normalization"].reproduce
    assert line.startswith("axiomcheck verify indep_context_normalization --seed 4242 --max-examples 0 ")
    [o] = axiomcheck.last.outcomes
    assert o.reproduce == line
    # an operator with no importable name: the Python call, from the same record
    op = ac.context_operator(lambda context: np.full((len(context), 4), 0.3), name="lambda_op", register=False)
    report = axiomcheck(op, max_examples=0, axioms=["context.normalization"])
    assert report["context.normalization"].reproduce.startswith("ac.verify(op, seed=4242, max_examples=0, ")


def test_the_ensemble_command_renders_the_record(capsys, monkeypatch):
    from axiomcheck.engine import ensemble
    from axiomcheck.frontends import cli

    rec = repro.for_ensemble("elsewhere:z", "uniform_context", ac.World(teachers=7), 31, 0, "ensemble.convexity")
    canned = Report("uniform_context", "ensemble", (
        Result("ensemble.convexity", ac.AXIOMS["ensemble.convexity"].paper_ref, "fail", "bad", reproduction=rec),),
        seed=0, world=dict(SIZES))
    monkeypatch.setattr(ensemble, "verify_ensemble", lambda *a, **k: canned)
    assert cli.main(["ensemble", "uniform_context", "--color", "never"]) == 1
    [line] = [ln.strip() for ln in capsys.readouterr().out.splitlines() if "reproduce:" in ln]
    # the operator as typed; the record's seed and world; no search budget on the command line's ensemble
    assert line == ("reproduce: axiomcheck ensemble uniform_context --seed 31 --teachers 7 --vocab 16 "
                    "--context-dim 3 --tasks 3 --axioms ensemble.convexity")


def test_the_training_time_checks_attach_records():
    from axiomcheck.dynamics import check_estimation_noise

    def broken(context):
        raise RuntimeError("no weights today")

    op = ac.context_operator(broken, name="broken_ctx", register=False)
    r = check_estimation_noise(op, quick=True, noise_on="inputs", seed=2)
    assert r.status == "error"
    assert r.reproduction == repro.for_dynamics("dynamics.estimation_noise", "broken_ctx", 2, registered=False,
                                                options={"quick": True, "noise_on": "inputs"})
    assert r.reproduce == ("from axiomcheck.dynamics import check_estimation_noise; check_estimation_noise(op, "
                           "seed=2, quick=True, noise_on='inputs')  # op = your Operator 'broken_ctx' "
                           "(not in the registry)")
    assert render(dataclasses.replace(r.reproduction, target="broken_ctx")) == (
        "python -c \"from axiomcheck.dynamics import check_estimation_noise; print(check_estimation_noise("
        "'broken_ctx', seed=2, quick=True, noise_on='inputs').to_dict())\"")


def test_a_negative_control_renders_its_own_record(monkeypatch):
    from axiomcheck.dynamics import controls

    made = []

    def for_control(operator, control, seed):
        made.append(dataclasses.replace(repro.for_control(operator, control, seed), seed=99))
        return made[-1]

    monkeypatch.setattr(controls, "for_control", for_control)
    [c] = controls.negative_controls(only=["rotation"])
    assert c["result"]["reproduce"] == render(made[0]) == (
        "python -c \"from axiomcheck.dynamics import negative_controls; print([c['result']['message'] for c in "
        "negative_controls('entropy_exp', seed=99) if c['name'] == 'rotation'])\"")


# ============================================================================= no line edited as text

#: The modules that show or pass on reproduce lines: the front ends, the output, the ensemble's checks
#: and the training-time checks.
RENDERING = ("frontends", "suites", "pytest_plugin.py", "output", "engine/ensemble.py", "dynamics")


def _record_builders() -> set[str]:
    """What a front end may use of `report/repro.py`: its records and their parts (`Reproduction`,
    `for_verify`, `in_suite`, ...) and `render`; never another function that returns a line (a `str`)."""
    tree = ast.parse((PACKAGE / "report" / "repro.py").read_text(encoding="utf-8"))
    out = {"render", "with_reproduction"}
    for node in tree.body:
        if isinstance(node, ast.ClassDef) or (isinstance(node, ast.FunctionDef) and not (
                isinstance(node.returns, ast.Name) and node.returns.id == "str")):
            out.add(node.name)
    return {name for name in out if not name.startswith("_")}


def _callee(node: ast.Call) -> str:
    f = node.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def _stored(value: ast.AST, builders: set[str]) -> bool:
    """Whether a value stored as a reproduce line comes from a record: a name passed on, a line copied
    unchanged, None, or a record (or its rendering) from `report/repro.py`."""
    if isinstance(value, ast.Constant) and value.value is None:
        return True
    if isinstance(value, ast.Name) or (isinstance(value, ast.Attribute) and value.attr == "reproduce"):
        return True
    return isinstance(value, ast.Call) and _callee(value) in builders


def line_surgery(source: str, builders: set[str]) -> list[str]:
    """Where `source` builds or edits a reproduce line as text (line numbers, with what was found)."""
    tree = ast.parse(source)
    parents = {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    out = []
    for node in ast.walk(tree):
        stored = []
        if isinstance(node, ast.keyword) and node.arg == "reproduce":
            stored.append(node.value)
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Attribute) and t.attr == "reproduce"
                                                  for t in node.targets):
            stored.append(node.value)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Attribute) \
                and node.target.attr == "reproduce":
            out.append(f"{node.lineno}: appends to a reproduce line")
        out += [f"{v.lineno}: a reproduce line not rendered from a record: {ast.unparse(v)}"
                for v in stored if not _stored(v, builders)]
        # a line read and then cut, joined or changed
        if isinstance(node, ast.Attribute) and node.attr == "reproduce" and isinstance(node.ctx, ast.Load):
            parent = parents.get(id(node))
            if isinstance(parent, (ast.BinOp, ast.Subscript)) or (
                    isinstance(parent, ast.Attribute) and parent.value is node):
                out.append(f"{node.lineno}: edits a reproduce line: {ast.unparse(parent)}")
        # a line built by anything of report/repro.py but its renderer and records
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "repro" \
                and node.attr not in builders:
            out.append(f"{node.lineno}: builds a line with repro.{node.attr}")
        if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("repro"):
            out += [f"{node.lineno}: builds a line with {a.name}" for a in node.names if a.name not in builders]
    return out


def _rendering_modules() -> list[Path]:
    out = []
    for name in RENDERING:
        path = PACKAGE / name
        out += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return out


def test_no_front_end_or_output_module_builds_or_edits_a_reproduce_line_as_text():
    builders = _record_builders()
    assert {"for_verify", "for_ensemble", "in_suite", "for_dynamics"} <= builders
    found = {str(p.relative_to(PACKAGE)): hits for p in _rendering_modules()
             if (hits := line_surgery(p.read_text(encoding="utf-8"), builders))}
    assert found == {}


def test_the_scan_finds_lines_built_or_edited_as_text():
    """The shapes the front ends once had: a line overwritten with one built from their own settings,
    a comment appended to a line, an old line builder, a line cut."""
    source = '''
from ..report.repro import dynamics_demo
from ..report import repro
o.reproduce = replay(o.axiom)
r = dataclasses.replace(r, reproduce=rerun + "  # the real-data run")
line = repro.ensemble_line(args.target, report.world, report.seed, r.axiom)
short = r.reproduce.split("  #")[0]
o.reproduce += " --isolate"
fine = dataclasses.replace(r, reproduce=repro.render(rec))
also_fine = r.with_reproduction(repro.in_suite(rec, "s.toml", "x", {}))
copied = Outcome(reproduce=r.reproduce)
'''
    hits = line_surgery(source, _record_builders())
    assert sorted(int(h.split(":")[0]) for h in hits) == [2, 4, 5, 6, 7, 8], hits
