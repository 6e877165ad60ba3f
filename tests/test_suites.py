"""Conformance suites: loading, validation errors, running, expectations, baselines."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from axiomcheck import suites as S
from axiomcheck.report.baseline import Baseline, BaselineError, entries_for, write

SHIPPED = Path(__file__).resolve().parent.parent / "conformance_suites"


def suite_text(body: str, head: str = 'name = "t"\nmax_examples = 10') -> str:
    return f"[suite]\n{head}\n\n" + textwrap.dedent(body)


def write_suite(folder: Path, body: str, name: str = "s.toml", **kw) -> Path:
    path = folder / name
    path.write_text(suite_text(body, **kw))
    return path


# ----------------------------------------------------------------------------- shipped suites


def test_shipped_suites_load():
    names = {p.stem for p in SHIPPED.glob("*.toml")}
    assert {"reference", "independence", "composition"} <= names
    for path in sorted(SHIPPED.glob("*.toml")):
        suite = S.load(path)
        assert suite.items, path


def test_independence_suite_mirrors_the_library():
    from axiomcheck.library.independence import EXPECTED_FAILURES, INDEPENDENCE

    suite = S.load(SHIPPED / "independence.toml")
    by_op = {item.operator.name: item for item in suite.items}
    assert set(by_op) == {op.name for op in INDEPENDENCE.values()} and len(by_op) == 15
    for axiom, op in INDEPENDENCE.items():
        item = by_op[op.name]
        failing = {a for a, v in item.expect.items() if v == "fail"}
        assert failing == EXPECTED_FAILURES[axiom], op.name
        assert set(item.expect.values()) <= {"pass", "fail"}


def test_reference_suite_covers_the_conforming_families():
    from axiomcheck.library import CONFORMING

    suite = S.load(SHIPPED / "reference.toml")
    sources = {item.source for item in suite.items}
    assert {n for names in CONFORMING.values() for n in names} <= sources
    assert all(v == "pass" for item in suite.items for v in item.expect.values())


def test_composition_suite_loads_compositions():
    pytest.importorskip("axiomcheck.spec.compose", reason="ac.compose is not available yet")
    suite = S.load(SHIPPED / "composition.toml")
    assert all(item.operator.scale == "unified" for item in suite.items)
    item = next(i for i in suite.items if i.id == "entropy_exp+inverse_loss+ordinal_safety")
    assert [c.name for c in item.operator.components] == ["entropy_exp", "inverse_loss", "ordinal_safety"]


# ----------------------------------------------------------------------------- malformed suites


@pytest.mark.parametrize(
    "body, line, needle",
    [
        ('[[item]]\noperator = "uniform_context"\nexpect = { "context.normalization" = fail }\n', 7, "invalid TOML"),
        ('[[item]]\noperator = "uniform_context"\naxiom = ["context.positivity"]\n', 7, "unknown key 'axiom'"),
        ('[[item]]\noperator = "uniform_context"\naxioms = ["context.normality"]\n', 7, "unknown axiom id"),
        ('[[item]]\noperator = "uniform_context"\naxioms = ["token.positivity"]\n', 7, "token-scale check"),
        ('[[item]]\noperator = "no_such_operator_xyz"\n', 6, "no operator named"),
        ('[[item]]\noperator = "no_such_module_xyz:op"\n', 6, "cannot import 'no_such_module_xyz'"),
        ('[[item]]\noperator = "uniform_context"\nexpect = { "context.positivity" = "maybe" }\n', 7, "'maybe'"),
        ('[[item]]\noperator = "uniform_context"\nworld = { teachers = 0 }\n', 7, "integer ≥ 1"),
        ('[[item]]\noperator = "uniform_context"\nspec = { bounds = [0.5, 0.1] }\n', 7, "w_min must be ≤ w_max"),
        ('[[item]]\noperator = "uniform_context"\ncompose = ["uniform_task"]\n', 6, "exactly one of"),
        ('[[item]]\noperator = "uniform_context"\naxioms = ["context.positivity"]\n'
         'expect = { "context.normalization" = "fail" }\n', 8, "not among the item's axioms"),
        ('[[item]]\noperator = "uniform_context"\n[[item]]\noperator = "uniform_context"\n', 7, "already used"),
    ],
)
def test_malformed_suite_names_file_line_and_expectation(tmp_path, body, line, needle):
    path = write_suite(tmp_path, body)
    with pytest.raises(S.SuiteError) as info:
        S.load(path)
    text = str(info.value)
    assert needle in text
    assert "s.toml" in text
    assert info.value.line == line, text


def test_unknown_suite_key_and_missing_items(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[suite]\nname = "x"\nmax_example = 3\n')
    with pytest.raises(S.SuiteError) as info:
        S.load(path)
    text = str(info.value)
    assert "bad.toml:3: [suite]: unknown key 'max_example' (did you mean 'max_examples'?)" in text
    assert "at least one [[item]]" in text


def test_operator_that_is_not_an_operator(tmp_path, ops_file):
    path = write_suite(ops_file.parent, '[[item]]\noperator = "ops.py:not_an_operator"\n')
    with pytest.raises(S.SuiteError, match="is of type int, not an axiomcheck Operator"):
        S.load(path)


def test_load_all_reports_every_bad_file(tmp_path):
    (tmp_path / "a.toml").write_text("[suite\n")
    (tmp_path / "b.toml").write_text('[suite]\nname = "b"\n[[item]]\noperator = "uniform_context"\nfoo = 1\n')
    with pytest.raises(S.SuiteError) as info:
        S.load_all([tmp_path])
    assert {Path(p.path).name for p in info.value.problems} == {"a.toml", "b.toml"}


def test_dotted_expect_keys_and_spec_override(tmp_path, ops_file):
    path = write_suite(ops_file.parent, """
        [[item]]
        id = "u"
        operator = "ops.py:uniform"
        spec = { bounds = [0.2, 0.3], lipschitz = 0 }
        axioms = ["context.normalization", "context.boundedness"]
        expect.context.normalization = "pass"
    """)
    item = S.load(path).items[0]
    assert item.operator.bounds == (0.2, 0.3) and item.operator.lipschitz == 0.0
    assert item.axioms == ("context.normalization", "context.boundedness")
    assert item.spec_overrides["bounds"] == [0.2, 0.3] and not item.is_plain


# ----------------------------------------------------------------------------- running


@pytest.fixture
def small_suite(ops_file):
    path = write_suite(ops_file.parent, """
        [[item]]
        operator = "ops.py:uniform"

        [[item]]
        operator = "ops.py:unnormalized"
        expect = { "context.normalization" = "fail" }

        [[item]]
        id = "wrongly-expected"
        operator = "ops.py:uniform"
        axioms = ["context.positivity"]
        expect = { "context.positivity" = "fail" }
    """)
    return S.load(path)


def test_run_judges_verdicts_against_expectations(small_suite):
    run = S.run([small_suite])
    by = {(o.item, o.axiom): o for o in run.outcomes()}
    assert by[("ops.py:uniform", "context.normalization")].verdict == "ok"
    # not applicable (no safety declared) matches "pass"
    skipped = by[("ops.py:uniform", "context.safety_prioritization")]
    assert skipped.status == "skipped" and skipped.matched
    expected_fail = by[("ops.py:unnormalized", "context.normalization")]
    assert expected_fail.status == "fail" and expected_fail.matched and expected_fail.reproduce
    wrong = by[("wrongly-expected", "context.positivity")]
    assert wrong.status == "pass" and wrong.verdict == "unexpected"
    assert wrong.reproduce.startswith("axiomcheck run ") and "--item wrongly-expected" in wrong.reproduce
    assert not run.ok and run.exit_code == 1
    assert run.counts()["unexpected"] == 1


def test_effective_settings_precedence(small_suite):
    item = small_suite.items[0]  # suite sets max_examples = 10, nothing else
    eff = S.effective(item, {}, {"max_examples": 3, "seed": 7, "teachers": 5})
    assert (eff["max_examples"], eff["seed"], eff["teachers"], eff["vocab"]) == (10, 7, 5, 16)
    eff = S.effective(item, {"max_examples": 2}, {"max_examples": 3})
    assert eff["max_examples"] == 2


def test_reproduction_of_a_plain_item_is_a_verify_command(small_suite):
    item = small_suite.items[1]
    cmd = S.reproduction(small_suite, item, S.effective(item, {}), "context.normalization")
    assert cmd.startswith("axiomcheck run ")  # a .py path is relative to the suite: replay the suite
    plain = S.single(item.operator, "my_mod:op", seed=3, max_examples=5)
    cmd = S.reproduction(None, plain, S.effective(plain, {}), "context.positivity")
    assert cmd == ("axiomcheck verify my_mod:op --seed 3 --max-examples 5 --teachers 4 --vocab 16 "
                   "--context-dim 3 --tasks 3 --axioms context.positivity")


def test_internal_error_is_recorded_not_raised(small_suite, monkeypatch):
    def broken(*a, **k):
        raise RuntimeError("engine bug")

    monkeypatch.setattr(S.runner, "verify", broken)
    run = S.run([small_suite.select(["ops.py:uniform"])])
    assert run.exit_code == 3
    assert "engine bug" in run.items()[0].error


# ----------------------------------------------------------------------------- baselines


def test_baseline_known_new_and_stale(small_suite, tmp_path):
    run = S.run([small_suite])
    entries = entries_for(run.outcomes())
    assert [(e.operator, e.axiom) for e in entries] == [("wrongly-expected", "context.positivity")]
    path = tmp_path / "baseline.json"
    stale_entry = {"operator": "ops.py:uniform", "axiom": "context.normalization"}
    write(path, entries)
    data = json.loads(path.read_text())
    data.append(stale_entry)
    data.append({"operator": "not-run", "axiom": "token.positivity"})
    path.write_text(json.dumps(data))
    stale = Baseline.read(path).apply(run)
    assert run.ok and run.exit_code == 0 and run.counts()["known"] == 1
    assert [(e.operator, e.axiom) for e in stale] == [("ops.py:uniform", "context.normalization")]


@pytest.mark.parametrize("text, needle", [
    ("{", "invalid JSON"),
    ('{"a": 1}', "must be a JSON list"),
    ('[{"operator": "x"}]', "'axiom' must be a non-empty string"),
    ('[{"operator": "x", "axiom": "token.nope"}]', "unknown axiom id"),
    ('[{"operator": "x", "axiom": "token.positivity", "why": 1}]', "unknown key"),
])
def test_baseline_errors(tmp_path, text, needle):
    path = tmp_path / "b.json"
    path.write_text(text)
    with pytest.raises(BaselineError, match=needle):
        Baseline.read(path)
