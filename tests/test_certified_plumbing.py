"""Asking for certified checks from every front end: `--certify` and its flags on `axiomcheck verify` and
`run`, the `certify`/`domain` keys of a suite, the pytest plugin and its fixture.  The certifier is the fake
of `tests.fake_certifier`, which records what each front end handed it."""

from __future__ import annotations

import json
import textwrap

import pytest

from axiomcheck import suites as S
from axiomcheck.frontends import cli
from axiomcheck.report.certificate import Certificate
from tests.fake_certifier import fixed, install

FAST = ("--max-examples", "5", "--seed", "1")

TASK_OP = textwrap.dedent('''
    import numpy as np
    import axiomcheck as ac

    @ac.task_operator(name="t_task", register=False)
    def task(losses, sizes):
        return np.full(losses.shape, 0.25)
''')


def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def proving(monkeypatch):
    """A certifier that proves the bounds and answers nothing else; returns its calls."""
    return install(monkeypatch, fixed({"bounds": Certificate("proved", "context ∈ [-5, 5]", bound=[0.25, 0.25])}))


# ============================================================================= axiomcheck verify


def test_verify_certify_hands_the_flags_to_the_certifier_and_writes_certificates(capsys, in_tmp, ops_file, proving):
    code, out, err = run_cli(capsys, "verify", "ops.py:uniform", "--certify", "--domain", "context=-5,5",
                             "--domain", "context=-6,6", "--certify-gap", "0.05", "--certify-time", "3",
                             "-f", "json", *FAST)
    assert code == 0, err
    [call] = proving
    assert (call["domain"], call["gap"], call["max_time"]) == ({"context": (-6.0, 6.0)}, 0.05, 3.0)  # last wins
    doc = json.loads(out)
    item = doc["suites"][0]["items"][0]
    assert item["settings"]["certify"] is True and item["settings"]["domain"] == {"context": [-6.0, 6.0]}
    results = {r["axiom"]: r for r in item["report"]["results"]}
    assert results["context.boundedness"]["certificate"]["status"] == "proved"
    assert "certificate" not in results["context.normalization"]  # the fake said nothing about it
    assert item["report"]["assumptions"]["A1"]["status"] == "proved"
    assert doc["overrides"]["certify"] is True


def test_verify_certify_text_shows_the_certified_column_and_the_paper_link(capsys, in_tmp, ops_file):
    code, out, _ = run_cli(capsys, "verify", "ops.py:unnormalized", "--certify", "--domain", "context=-10,10",
                           *FAST)
    assert code == 1  # the sampled failure decides the exit code
    row = next(line for line in out.splitlines() if line.startswith("context.normalization"))
    assert " fail " in row and "refuted on context ∈ [-10, 10]^3 · violated at context=" in row
    assert "paper assumptions, certified:" in out and "Thm VI.2 (needs the failing checks to pass" in out


def test_verify_without_certify_prints_no_certificates(capsys, in_tmp, ops_file):
    code, out, _ = run_cli(capsys, "verify", "ops.py:uniform", *FAST)
    assert code == 0 and "certified" not in out and "paper assumptions" not in out


@pytest.mark.parametrize("extra, needle", [
    (["--domain", "context=-1,1"], "--domain applies to certified checks: add --certify"),
    (["--certify-time", "2"], "--certify-time applies to certified checks"),
    (["--certify", "--domain", "probs=0,1"], "probability simplex"),
    (["--certify", "--domain", "context=1"], "must be INPUT=LO,HI"),
    (["--certify", "--domain", "losses=0,1"], "--domain losses: 't_uniform' (context scale) does not take it"),
    (["--certify", "--certify-gap", "0"], "--certify-gap"),
    (["--certify", "--replay", "x.npz"], "--certify does not combine with --replay"),
])
def test_verify_refuses_bad_certify_flags(capsys, in_tmp, ops_file, extra, needle):
    code, out, err = run_cli(capsys, "verify", "ops.py:uniform", *extra, *FAST)
    assert code == 2 and needle in err, err
    assert out == ""


# ============================================================================= suites and axiomcheck run


SUITE = textwrap.dedent("""
    [suite]
    name = "cert"
    certify = true
    domain = { context = [-10, 10], losses = [0, 4] }
    certify_gap = 0.2

    [[item]]
    operator = "ops.py:uniform"

    [[item]]
    operator = "task.py:task"
    certify_time = 7

    [[item]]
    id = "narrow"
    operator = "ops.py:uniform"
    domain = { context = [-1, 1] }
    axioms = ["context.boundedness"]
""")


@pytest.fixture
def suite_dir(in_tmp, ops_file):
    (in_tmp / "task.py").write_text(TASK_OP)
    (in_tmp / "s.toml").write_text(SUITE)
    (in_tmp / "plain.toml").write_text(SUITE.replace("certify = true\n", ""))
    return in_tmp


def test_suite_keys_reach_the_certifier_per_item(capsys, suite_dir, proving):
    code, _, err = run_cli(capsys, "run", "s.toml", "-o", "out", "-f", "json", "-q", *FAST)
    assert code == 0, err
    by_op = {c["op"].name: c for c in proving}
    assert [(c["op"].name, c["domain"]) for c in proving] == [
        ("t_uniform", {"context": (-10.0, 10.0)}),  # the suite's losses box is for the operators that take losses
        ("t_task", {"losses": (0.0, 4.0)}),
        ("t_uniform", {"context": (-1.0, 1.0)})]  # an item's box over its suite's
    assert by_op["t_task"]["max_time"] == 7.0 and by_op["t_task"]["gap"] == 0.2
    doc = json.loads((suite_dir / "out" / "report.json").read_text())
    first, task, narrow = doc["suites"][0]["items"]
    assert first["settings"]["certify"] is True and first["settings"]["domain"] == {"context": [-10.0, 10.0]}
    assert task["settings"]["certify_time"] == 7.0
    assert narrow["report"]["results"][0]["certificate"]["status"] == "proved"


def test_run_certify_turns_it_on_and_its_domain_overrides_the_suite(capsys, suite_dir, proving):
    code, _, err = run_cli(capsys, "run", "plain.toml", "--certify", "--domain", "context=-3,3", "-q",
                           "--item", "ops.py:uniform", *FAST)
    assert code == 0, err
    assert [c["domain"] for c in proving] == [{"context": (-3.0, 3.0)}]


def test_a_suite_without_certify_runs_as_it_always_did(capsys, suite_dir, proving):
    code, _, _ = run_cli(capsys, "run", "plain.toml", "-o", "out", "-f", "json", "-q", *FAST)
    assert code == 0 and proving == []
    doc = json.loads((suite_dir / "out" / "report.json").read_text())
    for item in doc["suites"][0]["items"]:
        assert not set(item["settings"]) & {"certify", "domain", "certify_gap", "certify_time"}
        assert "assumptions" not in item["report"]
        assert all("certificate" not in r for r in item["report"]["results"])
    # --domain without --certify applies to the items that certify: here none, so nothing changes
    code, _, _ = run_cli(capsys, "run", "plain.toml", "--domain", "context=-3,3", "-q", *FAST)
    assert code == 0 and proving == []


@pytest.mark.parametrize("body, needle", [
    ('certify = "yes"', "[suite].certify: must be true or false"),
    ("certify_gap = 0", "[suite].certify_gap: must be a finite number > 0"),
    ("domain = 3", "[suite].domain: must be a table"),
    ("domain = { probs = [0, 1] }", "probability simplex"),
    ("domain = { context = [2, 1] }", "[suite].domain['context'] must have lo ≤ hi"),
])
def test_bad_certify_keys_of_a_suite_are_refused(tmp_path, body, needle):
    with pytest.raises(S.SuiteError) as exc:
        S.loads(f'[suite]\nname = "x"\n{body}\n[[item]]\noperator = "uniform_context"\n', "x.toml")
    assert any(needle in str(p) for p in exc.value.problems), exc.value.problems


def test_an_items_box_for_an_input_its_operator_does_not_take_is_refused():
    with pytest.raises(S.SuiteError) as exc:
        S.loads('[suite]\nname = "x"\n[[item]]\noperator = "uniform_context"\ndomain = { losses = [0, 1] }\n',
                "x.toml")
    [problem] = exc.value.problems
    assert "[[item]] #1.domain: bounds input(s) ['losses']" in str(problem) and problem.line == 5


# ============================================================================= the pytest plugin


def test_the_plugin_honours_certify_in_a_suite_and_the_fixture_takes_it(pytester, user_ops, monkeypatch):
    calls = install(monkeypatch, fixed({"bounds": Certificate("proved", "context ∈ [-2, 2]", bound=[0.25, 0.25]),
                                        "normalization": Certificate("unknown", "context ∈ [-2, 2]")}))
    (pytester.path / "ops.py").write_text(user_ops)
    folder = pytester.mkdir("conformance_suites")
    (folder / "ops.py").write_text(user_ops)
    (folder / "c.toml").write_text(textwrap.dedent("""
        [suite]
        name = "c"
        max_examples = 5
        certify = true
        domain = { context = [-2, 2] }

        [[item]]
        id = "surprise"
        operator = "ops.py:unnormalized"
        axioms = ["context.normalization", "context.boundedness"]
    """))
    pytester.makepyfile(test_fixture="""
        def test_certified(axiomcheck):
            rep = axiomcheck("ops.py:uniform", certify=True, domain={"context": (-1, 1)}, max_examples=5)
            assert rep["context.boundedness"].certificate.status == "proved"
            assert rep.assumptions["A1"]["status"] == "proved"
    """)
    result = pytester.runpytest("-p", "no:xdist", "--axiomcheck-report", "out")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "context.normalization (paper III.18) on surprise: expected pass, got fail",
        "  certified: refuted on context ∈ ?-2, 2? · violated at context=*: found by the sampled checks",
    ])
    assert sorted(c["domain"]["context"] for c in calls) == [(-2.0, 2.0), (-1.0, 1.0)]
    doc = json.loads((pytester.path / "out" / "report.json").read_text())
    suite = next(s for s in doc["suites"] if s["name"] == "c")
    results = suite["items"][0]["report"]["results"]
    assert [r["certificate"]["status"] for r in results] == ["refuted", "proved"]
