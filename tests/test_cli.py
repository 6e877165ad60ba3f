"""The `axiomcheck` command: commands, output routing, exit codes, baselines, the no-argument demo."""

from __future__ import annotations

import io
import json
import shlex
import textwrap

import pytest

from axiomcheck.frontends import cli
from axiomcheck.output.text import Renderer, wants_fancy

FAST = ["--max-examples", "10"]


def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write_suite(folder, body, name="s.toml"):
    (folder / name).write_text('[suite]\nname = "s"\nmax_examples = 10\n\n' + textwrap.dedent(body))
    return folder / name


# ----------------------------------------------------------------------------- list, explain, version


def test_explain_and_unknown_axiom(capsys):
    code, out, _ = run_cli(capsys, "explain", "context.boundedness")
    assert code == 0 and "III.20" in out and "requires:" in out
    code, _, err = run_cli(capsys, "explain", "context.boundednes")
    assert code == 2 and "did you mean context.boundedness" in err


def _ids_any_report_can_hold() -> set[str]:
    """Every id the engine, the ensemble, the weight guard and the training-time checks put in a result,
    collected from what they emit (not from the catalogue)."""
    import ast
    import re
    from pathlib import Path

    import axiomcheck as ac
    from axiomcheck.dynamics import run_check_results
    from axiomcheck.kernels import GuardSpec, guard_init, guard_results

    fast = dict(max_examples=0, sweep_size=4, shrink=False)
    ops = [ac.operators(scale)[0] for scale in ("token", "task", "context", "importance")]
    ops.append(ac.compose(*ops[:3]))
    ids = {r.axiom for op in ops for r in ac.verify(op, **fast).results}
    ids |= {r.axiom for r in ac.verify_ensemble(ops[2], sweep_size=4).results}
    spec = GuardSpec(teachers=2)
    ids |= {r.axiom for r in guard_results(guard_init(spec), spec)}

    def raising(probs, context):
        raise ValueError("no weights")

    ids |= {r.axiom for r in run_check_results(ac.token_operator(raising, name="raising", register=False))}
    # and every id a training-time check writes into its code
    folder = Path(ac.__file__).parent / "dynamics"
    ids |= {node.value for path in folder.glob("*.py") for node in ast.walk(ast.parse(path.read_text("utf-8")))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and re.fullmatch(r"dynamics\.[a-z_]+", node.value) and node.value not in ("dynamics.json", "dynamics.html")}
    assert {i.split(".")[0] for i in ids} >= {"token", "task", "context", "importance", "unified", "ensemble",
                                               "runtime", "dynamics"}
    return ids


def test_explain_knows_every_id_any_report_can_hold(capsys):
    """`axiomcheck explain dynamics.convergence` once exited 2: the training-time ids were not catalogued."""
    ids = _ids_any_report_can_hold()
    unknown = [i for i in sorted(ids) if run_cli(capsys, "explain", i)[0] != 0]
    assert unknown == []
    code, out, _ = run_cli(capsys, "explain", "dynamics.convergence")
    assert (code, out.splitlines()[0]) == (0, "dynamics.convergence (training-time check, paper Thm VI.2)")


def test_list_text_and_json(capsys):
    code, out, _ = run_cli(capsys, "list", "--scale", "context")
    assert code == 0 and "uniform_context" in out and "context.safety_prioritization" in out
    assert "\x1b" not in out
    code, out, _ = run_cli(capsys, "list", "--format", "json")
    doc = json.loads(out)
    assert code == 0 and {"operators", "axioms"} <= set(doc)
    assert any(a["id"] == "token.positivity" for a in doc["axioms"])


def test_version_and_help(capsys):
    code, out, _ = run_cli(capsys, "--version")
    assert code == 0 and out.startswith("axiomcheck ")
    code, out, _ = run_cli(capsys, "verify", "--help")
    assert code == 0 and "--max-examples" in out and "--context-dim" in out and "exit codes" in out


# ----------------------------------------------------------------------------- verify


def test_verify_passing_operator(capsys, in_tmp, ops_file):
    code, out, err = run_cli(capsys, "verify", "ops.py:uniform", *FAST)
    assert code == 0, out + err
    assert "context.normalization" in out and "passed" in out
    assert "\x1b" not in out + err  # not a terminal: plain text


def test_verify_failure_prints_a_reproduction_that_reproduces(capsys, in_tmp, ops_file):
    code, out, _ = run_cli(capsys, "verify", "ops.py:unnormalized", "--seed", "3", *FAST)
    assert code == 1
    line = next(ln for ln in out.splitlines() if "reproduce:" in ln)
    command = shlex.split(line.split("reproduce:", 1)[1])
    assert command[:3] == ["axiomcheck", "verify", "ops.py:unnormalized"]
    assert command[command.index("--axioms") + 1] == "context.normalization"
    code, out, _ = run_cli(capsys, *command[1:])
    assert code == 1 and "FAIL" in out and "context.normalization" in out
    # only the named axiom was checked
    assert "context.positivity" not in out


def test_json_on_stdout_stays_clean(capsys, in_tmp, ops_file):
    code, out, err = run_cli(capsys, "verify", "ops.py:chatty", "--format", "json", *FAST)
    assert code == 0
    doc = json.loads(out)  # the operator's print() went to stderr, the summary too
    assert doc["ok"] is True and doc["suites"][0]["items"][0]["item"] == "ops.py:chatty"
    assert "debug output from inside the operator" in err and "passed" in err


def test_operator_error_exits_1(capsys, in_tmp, ops_file):
    code, out, _ = run_cli(capsys, "verify", "ops.py:raises", *FAST)
    assert code == 1 and "ERROR" in out and "RuntimeError: boom" in out


@pytest.mark.parametrize("argv, needle", [
    (["verify", "no_such_op_xyz"], "no operator named 'no_such_op_xyz'"),
    (["verify", "ops.py:missing"], "has no attribute 'missing'"),
    (["verify", "ops.py:not_an_operator"], "not an axiomcheck Operator"),
    (["verify", "ops.py:uniform", "--seed", "-1"], "--seed"),
    (["verify", "ops.py:uniform", "--axioms", "token.positivity"], "context-scale operator"),
    (["verify", "ops.py:uniform", "--axioms", "context.nope"], "unknown axiom id 'context.nope'"),
    (["verify", "ops.py:uniform", "--format", "json,html"], "need --output DIR"),
    (["verify", "ops.py:uniform", "--format", "pdf"], "--format"),
    # a first word that is no command and no path is now named as such (it was read as a suite path)
    (["frobnicate"], "no such command or suite file"),
])
def test_usage_errors_exit_2(capsys, in_tmp, ops_file, argv, needle):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and needle in err, err
    assert out == ""


def test_malformed_suite_exits_2_naming_file_and_line(capsys, in_tmp):
    write_suite(in_tmp, '[[item]]\noperator = "uniform_context"\naxioms = ["context.nonsense"]\n')
    code, _, err = run_cli(capsys, "run", "s.toml")
    assert code == 2
    assert "s.toml:7:" in err and "unknown axiom id 'context.nonsense'" in err


@pytest.mark.parametrize("where", ["suite", "item"])
@pytest.mark.parametrize("value", ["1e300", "inf", "nan", "-1", "0", "86401"])
def test_a_timeout_out_of_range_is_a_malformed_suite_naming_the_key(capsys, in_tmp, where, value):
    """A per-call limit is > 0 and at most one day; 1e300 used to overflow the wait (exit 3)."""
    head = f"timeout = {value}\n" if where == "suite" else ""
    item = f"timeout = {value}\n" if where == "item" else ""
    (in_tmp / "s.toml").write_text(f'[suite]\nname = "s"\n{head}\n[[item]]\noperator = "uniform_context"\n{item}')
    code, _, err = run_cli(capsys, "run", "s.toml")
    key = "[suite].timeout" if where == "suite" else "[[item]] #1.timeout"
    assert code == 2, err
    assert f"{key}: must be a number of seconds > 0 and ≤ 86400 (one day)" in err, err


@pytest.mark.parametrize("value", ["1e300", "inf", "nan", "-1", "0"])
def test_verify_timeout_out_of_range_is_a_usage_error(capsys, in_tmp, value):
    code, out, err = run_cli(capsys, "verify", "uniform_context", "--timeout", value)
    assert code == 2 and "argument --timeout: must be a number of seconds > 0 and ≤ 86400" in err, err
    assert out == ""


def test_the_longest_timeout_is_accepted(capsys, in_tmp):
    code, _, err = run_cli(capsys, "verify", "uniform_context", "--timeout", "86400", "--axioms",
                           "context.normalization", "--max-examples", "0")
    assert code == 0, err


def test_settings_refuse_a_timeout_the_waits_cannot_take():
    import axiomcheck as ac

    with pytest.raises(ValueError, match=r"timeout must be a number of seconds > 0 and ≤ 86400"):
        ac.Settings(timeout=1e300)
    assert ac.Settings(timeout=None).timeout is None


def test_internal_error_exits_3_with_hint(capsys, in_tmp, monkeypatch):
    from axiomcheck import suites

    def broken(paths):
        raise RuntimeError("a bug in axiomcheck")

    monkeypatch.setattr(suites, "load_all", broken)
    write_suite(in_tmp, '[[item]]\noperator = "uniform_context"\n')
    code, _, err = run_cli(capsys, "run", "s.toml")
    assert code == 3 and "internal error: RuntimeError: a bug in axiomcheck" in err and "--debug" in err
    assert "Traceback" not in err
    code, _, err = run_cli(capsys, "run", "s.toml", "--debug")
    assert code == 3 and "Traceback" in err


# ----------------------------------------------------------------------------- run, no arguments, baselines


def test_no_arguments_runs_local_suites_and_writes_reports(capsys, in_tmp, ops_file):
    suites = in_tmp / "conformance_suites"
    suites.mkdir()
    (suites / "ops.py").write_text(ops_file.read_text())
    write_suite(suites, """
        [[item]]
        operator = "ops.py:uniform"

        [[item]]
        operator = "ops.py:unnormalized"
        expect = { "context.normalization" = "fail" }
    """, name="mine.toml")
    code, out, err = run_cli(capsys)
    assert code == 0, out + err
    names = sorted(p.name for p in (in_tmp / "reports").iterdir())
    assert names == ["junit.xml", "report.html", "report.json", "summary.md"]
    assert "suite s" in out and "wrote reports/summary.md" in out
    assert "[2/2] s · ops.py:unnormalized: ok" in err  # plain progress lines off a terminal
    doc = json.loads((in_tmp / "reports" / "report.json").read_text())
    assert doc["ok"] and doc["counts"]["expected_fail"] == 1


def test_run_with_baseline_cycle(capsys, in_tmp, ops_file):
    write_suite(in_tmp, """
        [[item]]
        id = "wrong"
        operator = "ops.py:unnormalized"
        axioms = ["context.normalization", "context.positivity"]
    """)
    code, out, _ = run_cli(capsys, "run", "s.toml")
    assert code == 1 and "reproduce: axiomcheck run s.toml --item wrong --axioms context.normalization" in out
    code, out, _ = run_cli(capsys, "run", "s.toml", "--write-baseline", "known.json")
    assert code == 0 and json.loads((in_tmp / "known.json").read_text())[0]["axiom"] == "context.normalization"
    code, out, _ = run_cli(capsys, "run", "s.toml", "--baseline", "known.json")
    assert code == 0 and "KNOWN" in out
    # the violation is fixed (expected now): the baseline entry is stale, and reported
    write_suite(in_tmp, """
        [[item]]
        id = "wrong"
        operator = "ops.py:unnormalized"
        axioms = ["context.normalization", "context.positivity"]
        expect = { "context.normalization" = "fail" }
    """)
    code, out, _ = run_cli(capsys, "run", "s.toml", "--baseline", "known.json")
    assert code == 0 and "STALE" in out and "wrong · context.normalization" in out
    (in_tmp / "bad.json").write_text("[1]")
    code, _, err = run_cli(capsys, "run", "s.toml", "--baseline", "bad.json")
    assert code == 2 and "bad.json: entry 0" in err


def test_run_item_and_output_formats(capsys, in_tmp, ops_file):
    write_suite(in_tmp, """
        [[item]]
        operator = "ops.py:uniform"

        [[item]]
        operator = "ops.py:raises"
        expect = { "context.shape" = "error" }
    """)
    code, out, err = run_cli(capsys, "run", "s.toml", "--item", "ops.py:uniform", "-f", "junit", "-q")
    assert code == 0 and out.startswith("<?xml") and 'tests="9"' in out
    code, out, _ = run_cli(capsys, "run", "s.toml", "--item", "nope")
    assert code == 2
    code, out, _ = run_cli(capsys, "run", "s.toml", "-o", "out", "-f", "markdown")
    assert (in_tmp / "out" / "summary.md").exists() and not (in_tmp / "out" / "report.json").exists()


# ----------------------------------------------------------------------------- rendering


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_fancy_only_on_a_terminal_without_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    assert wants_fancy(FakeTTY()) and not wants_fancy(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not wants_fancy(FakeTTY())


def test_rich_table_on_a_terminal_plain_elsewhere():
    fancy, plain = FakeTTY(), io.StringIO()
    for stream, flag in ((fancy, True), (plain, False)):
        Renderer(stream, fancy=flag).table("t", ["a", "b"], [["1", "2"]])
    assert "\x1b[" in fancy.getvalue()
    assert "\x1b" not in plain.getvalue() and "a  b" in plain.getvalue()


def test_progress_bar_on_a_terminal_and_lines_elsewhere(ops_file):
    from axiomcheck import suites as S

    path = ops_file.parent / "p.toml"
    path.write_text('[suite]\nname = "p"\n[[item]]\noperator = "ops.py:uniform"\n')
    suite = S.load(path)
    fancy, plain = FakeTTY(), io.StringIO()
    for stream, flag in ((fancy, True), (plain, False)):
        with Renderer(stream, fancy=flag).progress([suite]) as hook:
            S.run([suite], {"max_examples": 5}, on_event=hook)
    assert "\x1b[" in fancy.getvalue()
    assert plain.getvalue() == "[1/1] p · ops.py:uniform: ok (" + plain.getvalue().split("(", 1)[1]
    assert "\x1b" not in plain.getvalue()


def test_ensemble_command_passes_fails_and_refuses(tmp_path, monkeypatch, capsys):
    from axiomcheck.frontends.cli import main

    assert main(["ensemble", "uniform_context"]) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "ensemble.convexity" in out
    (tmp_path / "scaled_weights.py").write_text(
        "import numpy as np\n"
        "import axiomcheck as ac\n"
        "scaled = ac.context_operator(lambda c: np.full((len(c), 4), 0.2), name='scaled', register=False)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["ensemble", "scaled_weights:scaled"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "sum to 0.8" in out
    assert "reproduce: axiomcheck ensemble scaled_weights:scaled --seed 0" in out
    assert main(["ensemble", "no_such_operator"]) == 2


def test_dynamics_command_usage_errors_exit_2(capsys):
    from axiomcheck.frontends.cli import main

    assert main(["dynamics", "--no-such-flag"]) == 2
    assert "axiomcheck dynamics" in capsys.readouterr().err
