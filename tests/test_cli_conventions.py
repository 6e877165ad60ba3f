"""Command-line conventions: mistyped commands, missing extras, help texts, colour, 80 columns, completion."""

from __future__ import annotations

import argparse
import io
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

from axiomcheck import errors
from axiomcheck.frontends import cli
from axiomcheck.output.text import Renderer, wants_fancy

REPO = Path(__file__).resolve().parent.parent
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
COLOUR_ENV = ("NO_COLOR", "FORCE_COLOR", "TERM", "COLUMNS")


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    """A fresh folder, and no colour or width settings inherited from the caller's environment."""
    monkeypatch.chdir(tmp_path)
    for name in COLOUR_ENV:
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def tiny_suite(folder: Path, name: str = "s.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text('[suite]\nname = "tiny"\nmax_examples = 5\n[[item]]\noperator = "uniform_context"\n'
                    'axioms = ["context.normalization"]\n')
    return path


# ----------------------------------------------------------------------------- 1. a mistyped command


def test_mistyped_command_gets_a_suggestion_and_exit_2(capsys, clean_env):
    code, out, err = run_cli(capsys, "veriffy", "x")
    assert code == 2 and out == ""
    assert "did you mean 'verify'?" in err and "malformed suite" not in err
    code, _, err = run_cli(capsys, "xyzzy")
    assert code == 2 and "no such command or suite file" in err and "malformed suite" not in err


def test_existing_paths_are_still_an_implicit_run(capsys, clean_env):
    # a folder whose name is one letter away from a command is a path, not a typo
    tiny_suite(clean_env / "verifi")
    code, out, err = run_cli(capsys, "verifi", "-q", "-o", "out")
    assert code == 0, out + err
    assert (clean_env / "out" / "report.json").exists()
    tiny_suite(clean_env, "lists.toml")
    code, out, err = run_cli(capsys, "lists.toml", "-q", "-o", "out2")
    assert code == 0, out + err
    # a suite file that does not exist is still the loader's to report
    code, _, err = run_cli(capsys, "nosuch.toml")
    assert code == 2 and "nosuch.toml: no such suite file or folder" in err


# ----------------------------------------------------------------------------- 2. a missing optional dependency


def _missing_extra_error():
    return getattr(errors, "MissingExtraError", None)


def test_dynamics_without_optax_is_exit_2_with_the_install_line(capsys, clean_env, monkeypatch):
    monkeypatch.setitem(sys.modules, "optax", None)  # as if optax were not installed
    code, _, err = run_cli(capsys, "dynamics", "--operator", "uniform_context", "--quick", "--no-progress",
                           "--check", "safety_constrained", "-o", str(clean_env / "out"))
    assert code == 2, err
    assert "pip install 'axiomcheck[dynamics]'" in err and "optax" in err and "internal error" not in err


def test_the_dynamics_demo_checks_its_extras_before_working(capsys, clean_env, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code, _, err = run_cli(capsys, "dynamics", "--demo", "--quick", "--no-progress", "-o", str(clean_env / "out"))
    assert code == 2 and "matplotlib" in err and "pip install 'axiomcheck[dynamics]'" in err
    assert not (clean_env / "out" / "dynamics.json").exists()


def test_python_m_dynamics_reports_a_missing_extra_too(clean_env):
    code = ("import sys; sys.modules['optax'] = None; from axiomcheck.dynamics.__main__ import main; "
            f"sys.exit(main(['--demo', '--quick', '--no-progress', '-o', {str(clean_env / 'out')!r}]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert "error:" in proc.stderr and "pip install 'axiomcheck[dynamics]'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_digits_and_figures_name_their_extra(monkeypatch):
    from axiomcheck.dynamics import plots
    from axiomcheck.dynamics.digits_data import load_digits_arrays

    missing = _missing_extra_error()
    assert missing is not None and issubclass(missing, ImportError)
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError) as info:
        load_digits_arrays()
    assert isinstance(info.value, missing) and cli.exit_code(info.value) == 2
    assert "pip install 'axiomcheck[data]'" in str(info.value)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError) as info:
        plots.to_base64(None)
    assert isinstance(info.value, missing) and "pip install 'axiomcheck[plots]'" in str(info.value)


# ----------------------------------------------------------------------------- 3. help text everywhere


def _parsers():
    from axiomcheck.dynamics.__main__ import build_parser as dynamics_parser

    top = cli.build_parser()
    yield "axiomcheck", top
    for action in top._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, p in action.choices.items():
                yield f"axiomcheck {name}", p
    yield "axiomcheck dynamics (its own parser)", dynamics_parser("axiomcheck dynamics")


def test_every_option_of_every_command_has_help():
    missing = []
    for name, parser in _parsers():
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            if not (action.help or "").strip() or action.help == argparse.SUPPRESS:
                missing.append(f"{name}: {'/'.join(action.option_strings) or action.dest}")
            if isinstance(action, argparse._SubParsersAction):
                missing += [f"{name} {c.dest}" for c in action._choices_actions if not (c.help or "").strip()]
    assert not missing, missing


# ----------------------------------------------------------------------------- 4. colour: flag > env > tty


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("env, flag, tty, fancy", [
    ({}, "auto", True, True),
    ({}, "auto", False, False),
    ({"FORCE_COLOR": "1"}, "auto", False, True),
    ({"FORCE_COLOR": "0"}, "auto", False, False),
    ({"NO_COLOR": "1"}, "auto", True, False),
    ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, "auto", True, False),
    ({"TERM": "dumb"}, "auto", True, False),
    ({"NO_COLOR": "1"}, "always", False, True),
    ({"FORCE_COLOR": "1"}, "never", True, False),
    ({}, "never", True, False),
])
def test_colour_decision(monkeypatch, env, flag, tty, fancy):
    for name in COLOUR_ENV:
        monkeypatch.delenv(name, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    stream = FakeTTY() if tty else io.StringIO()
    assert wants_fancy(stream, flag) is fancy
    assert Renderer(stream, color=flag).fancy is fancy


def test_force_color_and_the_color_flag_on_the_command(capsys, clean_env, monkeypatch):
    code, out, _ = run_cli(capsys, "list", "--scale", "context")
    assert code == 0 and not ANSI.search(out)  # a pipe: plain
    monkeypatch.setenv("FORCE_COLOR", "1")
    code, out, _ = run_cli(capsys, "list", "--scale", "context")
    assert code == 0 and ANSI.search(out)
    code, out, _ = run_cli(capsys, "list", "--scale", "context", "--color", "never")
    assert code == 0 and not ANSI.search(out)
    monkeypatch.delenv("FORCE_COLOR")
    monkeypatch.setenv("NO_COLOR", "1")
    code, out, _ = run_cli(capsys, "list", "--scale", "context", "--color", "always")
    assert code == 0 and ANSI.search(out)
    code, out, _ = run_cli(capsys, "list", "--scale", "context")
    assert code == 0 and not ANSI.search(out)


# ----------------------------------------------------------------------------- 5. 80 columns


LONG_IDS_SUITE = """\
[suite]
name = "wide"
max_examples = 5

[[item]]
operator = "indep_context_normalization"
axioms = ["context.normalization", "context.safety_prioritization"]

[[item]]
operator = "indep_context_safety_prioritization"
axioms = ["context.normalization", "context.safety_prioritization"]
expect = { "context.safety_prioritization" = "fail" }
"""


def test_ids_stay_whole_at_80_columns(capsys, clean_env, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    (clean_env / "wide.toml").write_text(LONG_IDS_SUITE)
    code, out, err = run_cli(capsys, "run", "wide.toml", "--color", "always")
    assert code == 1, out + err  # indep_context_normalization fails normalization, unexpectedly
    lines = ANSI.sub("", out).splitlines()
    for item in ("indep_context_normalization", "indep_context_safety_prioritization"):
        # the table row: the whole id, then its scale, on one line
        assert any(re.match(rf"\s*│?\s*{item}\s+│?\s*context\b", ln) for ln in lines), "\n".join(lines)
    assert any(re.match(r"\s*indep_context_normalization\s.*\bUNEXPECTED\b", ln) for ln in lines)
    rules = [ln for ln in lines if "───" in ln or "━━━" in ln]
    assert rules and max(len(ln.rstrip()) for ln in rules) <= 80

    code, out, err = run_cli(capsys, "verify", "indep_context_safety_prioritization", "--max-examples", "5",
                             "--color", "always")
    lines = ANSI.sub("", out).splitlines()
    for axiom, ref in (("context.normalization", "III.18"), ("context.safety_prioritization", "III.22"),
                       ("context.batch_independent", "well-posedness")):
        assert any(re.match(rf"\s*│?\s*{re.escape(axiom)}\s+│?\s*{re.escape(ref)}", ln) for ln in lines), \
            "\n".join(lines)


# ----------------------------------------------------------------------------- 7. shell completion


def test_completion_is_used_when_argcomplete_is_installed(capsys, clean_env, monkeypatch):
    assert "PYTHON_ARGCOMPLETE_OK" in (REPO / "axiomcheck" / "frontends" / "cli.py").read_text(encoding="utf-8")[:1024]
    seen = []
    fake = types.ModuleType("argcomplete")
    fake.autocomplete = lambda parser, **kw: seen.append(parser.prog)
    monkeypatch.setitem(sys.modules, "argcomplete", fake)
    code, _, _ = run_cli(capsys, "explain", "token.positivity")
    assert code == 0 and seen == []  # not asked by a shell: argcomplete is not even consulted
    monkeypatch.setenv("_ARGCOMPLETE", "1")
    code, _, _ = run_cli(capsys, "explain", "token.positivity")
    assert code == 0 and seen == ["axiomcheck"]
    monkeypatch.setitem(sys.modules, "argcomplete", None)  # the extra not installed: nothing happens
    code, _, _ = run_cli(capsys, "explain", "token.positivity")
    assert code == 0
