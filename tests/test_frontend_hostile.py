"""The command line, the report files and the pytest plugin against hostile operators and inputs.

Most of these run `python -m axiomcheck.frontends.cli` in a fresh process: what an operator
does to the process (exit while imported, write to file descriptor 1, change
directory) is only visible there.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from axiomcheck.frontends import cli

FAST = ["--max-examples", "5"]

HEADER = textwrap.dedent('''
    import numpy as np
    import axiomcheck as ac
''')


def cli_process(cwd: Path, *argv: str, python_flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """`axiomcheck ARGV...` in a new process started in `cwd` (stdout and stderr as bytes)."""
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([sys.executable, *python_flags, "-m", "axiomcheck.frontends.cli", *argv], cwd=cwd, env=env,
                          capture_output=True, timeout=300)


def replay(cwd: Path, line: str) -> subprocess.CompletedProcess:
    """Run a printed `axiomcheck ...` reproduction line in `cwd`."""
    words = shlex.split(line)
    assert words[0] == "axiomcheck", line
    return cli_process(cwd, *words[1:])


def write(folder: Path, name: str, body: str) -> Path:
    """Write `body` (already dedented) to `folder/name`."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    return path


UNNORMALIZED = textwrap.dedent('''
    @ac.context_operator(name="{name}", register=False)
    def {attr}(context):
        return np.full((context.shape[0], 4), {value})
''')


# ----------------------------------------------------------------------------- a. exiting while imported


@pytest.mark.parametrize("statement, ref", [
    ("raise SystemExit(0)", "exits.py:op"),
    ("raise SystemExit(0)", "exits:op"),
    ("raise KeyboardInterrupt", "exits.py:op"),
    ("raise KeyboardInterrupt", "exits:op"),
])
def test_import_that_exits_or_interrupts_is_a_target_error(tmp_path, statement, ref):
    write(tmp_path, "exits.py", HEADER + statement + "\n")
    proc = cli_process(tmp_path, "verify", ref, *FAST)
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert "axiomcheck: error:" in err and statement.split()[1].split("(")[0] in err
    assert proc.stdout == b""


# ----------------------------------------------------------------------------- b. nothing to check


def test_suite_without_items_is_nothing_to_check(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "empty.toml", 'item = []\n[suite]\nname = "empty"\n')
    assert cli.main(["run", "empty.toml"]) == 2
    assert "nothing to check" in capsys.readouterr().err


def test_folder_without_suites_is_nothing_to_check(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "suites").mkdir()
    assert cli.main(["run", "suites"]) == 2
    assert "nothing to check" in capsys.readouterr().err


# ----------------------------------------------------------------------------- c. usage problems before the run


CALLED = textwrap.dedent('''
    import pathlib

    @ac.context_operator(name="marks", bounds=(0.25, 0.25), register=False)
    def marks(context):
        pathlib.Path("called.txt").write_text("the operator ran")
        return np.full((context.shape[0], 4), 0.25)
''')


@pytest.mark.parametrize("extra, needle", [
    (["-o", "somefile/reports"], "--output"),
    (["--timeout", "inf"], "--timeout"),
    (["--timeout", "nan"], "--timeout"),
    (["--timeout", "1e300"], "--timeout"),
    (["--baseline", "latin1.json"], "UTF-8"),
    (["--baseline", "numbers.json"], "must be a JSON list"),
    (["--baseline", "entries.json"], "must be a string"),
    (["--write-baseline", "somefile/b.json"], "--write-baseline"),
])
def test_usage_problems_exit_2_before_anything_runs(tmp_path, monkeypatch, capsys, extra, needle):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "called.py", HEADER + CALLED)
    (tmp_path / "somefile").write_text("a regular file")
    (tmp_path / "latin1.json").write_bytes('[{"operator": "caf\u00e9", "axiom": "context.finite"}]'.encode("latin-1"))
    (tmp_path / "numbers.json").write_text('{"a": 1, "b": 2.5}')
    (tmp_path / "entries.json").write_text('[{"operator": "x", "axiom": "context.finite", "suite": 3}]')
    code = cli.main(["verify", "called.py:marks", *FAST, *extra])
    err = capsys.readouterr().err
    assert code == 2 and needle in err, err
    assert not (tmp_path / "called.txt").exists(), "the operator ran before the usage error was found"


# ----------------------------------------------------------------------------- d. stdout stays data


NOISY = textwrap.dedent('''
    import os, sys, threading

    print("print at import")
    os.write(1, b"fd write at import\\n")

    def _thread():
        print("print from a thread")
        os.write(1, b"fd write from a thread\\n")

    @ac.context_operator(name="noisy", bounds=(0.25, 0.25), register=False)
    def noisy(context):
        t = threading.Thread(target=_thread)
        t.start()
        t.join()
        os.write(1, b"fd write from the call\\n")
        sys.stdout.write("sys.stdout from the call\\n")
        return np.full((context.shape[0], 4), 0.25)
''')


def test_json_on_stdout_survives_fd_level_writes(tmp_path):
    write(tmp_path, "noisy.py", HEADER + NOISY)
    proc = cli_process(tmp_path, "verify", "noisy.py:noisy", "-f", "json", *FAST)
    assert proc.returncode == 0, proc.stderr.decode()
    doc = json.loads(proc.stdout.decode("utf-8"))
    assert doc["ok"] is True
    err = proc.stderr.decode()
    for text in ("print at import", "fd write at import", "print from a thread", "fd write from the call",
                 "sys.stdout from the call"):
        assert text in err


# ----------------------------------------------------------------------------- e. control characters


EVIL = textwrap.dedent('''
    @ac.context_operator(name="evil", register=False)
    def evil(context):
        raise RuntimeError("red \\x1b[31m nul \\x00 bell \\x07 surrogate \\ud800 end")
''')


def test_control_characters_and_surrogates_never_break_output(tmp_path):
    write(tmp_path, "evil.py", HEADER + EVIL)
    proc = cli_process(tmp_path, "verify", "evil.py:evil", "-o", "out", *FAST)
    text = proc.stdout.decode("utf-8") + proc.stderr.decode("utf-8")
    assert proc.returncode == 1, text
    assert "\x1b" not in text and "\x00" not in text and "\\x1b[31m" in text
    out = tmp_path / "out"
    doc = json.loads((out / "report.json").read_bytes().decode("utf-8"))
    messages = [o["message"] for o in doc["suites"][0]["items"][0]["outcomes"]]
    assert any("\x1b[31m" in m for m in messages)  # JSON keeps the text, escaped by JSON itself
    ET.fromstring((out / "junit.xml").read_bytes())  # valid XML 1.0
    for name in ("summary.md", "report.html"):
        page = (out / name).read_bytes().decode("utf-8")
        assert "\x1b" not in page and "\x00" not in page and "\\x1b[31m" in page, name
    proc = cli_process(tmp_path, "verify", "evil.py:evil", "-f", "junit", *FAST)
    ET.fromstring(proc.stdout)


# ----------------------------------------------------------------------------- f. chdir during the run


def test_operator_changing_directory_does_not_move_the_reports(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    write(tmp_path, "wander.py", HEADER + textwrap.dedent(f'''
    import os

    @ac.context_operator(name="wander", bounds=(0.25, 0.25), register=False)
    def wander(context):
        os.chdir({str(tmp_path / "elsewhere")!r})
        return np.full((context.shape[0], 4), 0.25)
    '''))
    proc = cli_process(tmp_path, "verify", "wander.py:wander", "-o", "reports", *FAST)
    assert proc.returncode == 0, proc.stderr.decode()
    assert (tmp_path / "reports" / "report.json").is_file()
    assert not (tmp_path / "elsewhere" / "reports").exists()


# ----------------------------------------------------------------------------- g. pytest report folder


def test_pytest_report_into_an_unwritable_place_is_a_clear_error(pytester, user_ops):
    (pytester.path / "ops.py").write_text(user_ops)
    (pytester.path / "blocker").write_text("a regular file")
    pytester.makepyfile(test_ops="""
        def test_fails(axiomcheck):
            axiomcheck.check("ops.py:unnormalized", max_examples=5)
    """)
    result = pytester.runpytest("--axiomcheck-report", "blocker/reports")
    out = result.stdout.str()
    assert "INTERNALERROR" not in out
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*axiomcheck: error: cannot write the reports into 'blocker/reports'*",
                                 "*FAILED test_ops.py::test_fails*"])


# ----------------------------------------------------------------------------- h. reproductions that reproduce


def test_file_target_imports_its_siblings(tmp_path):
    write(tmp_path, "pkg_dir/helpers_mod.py", "VALUE = 0.3\n")
    write(tmp_path, "pkg_dir/ops_here.py", HEADER + "from helpers_mod import VALUE\n"
          + UNNORMALIZED.format(name="sib", attr="bad", value="VALUE"))
    proc = cli_process(tmp_path, "verify", "pkg_dir/ops_here.py:bad", *FAST)
    out = proc.stdout.decode()
    assert proc.returncode == 1, out + proc.stderr.decode()
    line = next(ln for ln in out.splitlines() if "reproduce:" in ln).split("reproduce:", 1)[1]
    again = replay(tmp_path, line)
    assert again.returncode == 1 and "FAIL" in again.stdout.decode()


def test_verify_result_reproduce_line_works_from_the_project(tmp_path):
    write(tmp_path, "helpers_mod.py", "VALUE = 0.3\n")
    write(tmp_path, "myops.py", HEADER + "from helpers_mod import VALUE\n"
          + UNNORMALIZED.format(name="mine", attr="bad", value="VALUE"))
    code = ("import axiomcheck as ac, myops; "
            "r = ac.verify(myops.bad, max_examples=5)['context.normalization']; print(r.status); print(r.reproduce)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    status, line = proc.stdout.strip().splitlines()[-2:]
    assert status == "fail", proc.stderr
    again = replay(tmp_path, line)
    assert again.returncode == 1 and "FAIL" in again.stdout.decode(), again.stderr.decode()


def test_fixture_reproduce_line_works_from_the_project(tmp_path):
    write(tmp_path, "helpers_mod.py", "VALUE = 0.3\n")
    write(tmp_path, "conftest.py", "")
    write(tmp_path, "tests/test_inline.py", HEADER + "from helpers_mod import VALUE\n"
          + UNNORMALIZED.format(name="inline_bad", attr="inline_bad", value="VALUE") + textwrap.dedent('''

    def test_inline(axiomcheck):
        axiomcheck.check(inline_bad, max_examples=5, axioms=["context.normalization"])
    '''))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                           "tests/test_inline.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    line = next(ln for ln in proc.stdout.splitlines() if "reproduce:" in ln).split("reproduce:", 1)[1]
    assert "tests/test_inline.py:inline_bad" in line, line
    again = replay(tmp_path, line)
    assert again.returncode == 1 and "FAIL" in again.stdout.decode(), again.stderr.decode()


# ----------------------------------------------------------------------------- i. writing a baseline


def test_write_baseline_summary_says_recorded_not_failed(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "ops.py", HEADER + UNNORMALIZED.format(name="wb", attr="bad", value="0.3"))
    write(tmp_path, "s.toml", '[suite]\nname = "s"\nmax_examples = 5\n[[item]]\noperator = "ops.py:bad"\n'
          'axioms = ["context.normalization"]\n')
    code = cli.main(["run", "s.toml", "--write-baseline", "known.json"])
    out = capsys.readouterr().out
    assert code == 0
    assert "FAILED" not in out and "recorded 1 unexpected verdict into the baseline known.json" in out
    assert json.loads((tmp_path / "known.json").read_text())[0]["axiom"] == "context.normalization"


# ----------------------------------------------------------------------------- dynamics names operators as verify does


@pytest.mark.skipif(sys.version_info < (3, 11), reason="python -P is new in 3.11")
def test_dynamics_resolves_targets_like_verify(tmp_path, capsys):
    write(tmp_path, "weights.py", HEADER + textwrap.dedent('''
    @ac.context_operator(name="my_router_dyn", bounds=(0.25, 0.25), register=False)
    def my_router(context):
        return np.full((context.shape[0], 4), 0.25)
    '''))
    code = ("from axiomcheck.dynamics.problem import resolve_operator; "
            "print(resolve_operator('weights:my_router').name, resolve_operator('weights.py:my_router').name)")
    # -P: the current folder is not put on sys.path, as under the `axiomcheck` console script
    proc = subprocess.run([sys.executable, "-P", "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert proc.stdout.split() == ["my_router_dyn", "my_router_dyn"], proc.stderr
    assert cli.main(["dynamics", "--help"]) == 0
    assert "-o DIR, --output DIR, --out DIR" in capsys.readouterr().out
