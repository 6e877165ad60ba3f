"""`--color never` and `NO_COLOR` give plain output on every subcommand that prints for people.

Plain means: no ANSI escapes, no box-drawing table rules, and every check id whole on one line
(a reader greps for `dynamics.safety_constrained`, not for its two halves).
"""

from __future__ import annotations

import re

import pytest

from axiomcheck.frontends import cli

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
BOX = re.compile("[\u2500-\u257f]")  # box drawing: ─ │ ┃ ━ ┏ ...
SUITE = ('[suite]\nname = "tiny"\nmax_examples = 5\n[[item]]\noperator = "uniform_context"\n'
         'axioms = ["context.normalization"]\n')

#: Every subcommand that prints a table or lines for people, with small arguments.
COMMANDS = {
    "run": ["run", "tiny.toml"],
    "verify": ["verify", "uniform_context", "--max-examples", "5", "--axioms", "context.normalization"],
    "ensemble": ["ensemble", "uniform_token", "--max-examples", "5"],
    "list": ["list"],
    "explain": ["explain", "context.normalization"],
    "dynamics": ["dynamics", "--operator", "entropy_exp", "--quick", "--check", "safety_constrained",
                 "--no-progress", "-o", "out"],
}


def test_every_printing_subcommand_is_covered():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    assert set(sub.choices) == set(COMMANDS)


@pytest.mark.parametrize("how", ["flag", "env"])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_plain_output(command, how, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.toml").write_text(SUITE)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")  # what a CI log sets: --color never / NO_COLOR must still win
    monkeypatch.setenv("COLUMNS", "60")     # narrow enough that a rich table would split long ids
    argv = list(COMMANDS[command])
    if how == "flag":
        argv += ["--color", "never"]
    else:
        monkeypatch.delenv("FORCE_COLOR")
        monkeypatch.setenv("NO_COLOR", "1")
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    for text in (out, err):
        assert not ANSI.search(text), text[:400]
        assert not BOX.search(text), text[:400]
    whole = {"dynamics": "dynamics.safety_constrained", "verify": "context.normalization",
             "explain": "context.normalization"}
    if command in whole:  # the id whole on one line, not split at a column edge
        assert whole[command] in out, out
