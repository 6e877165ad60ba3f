"""Reading conformance suites: TOML files that name operators, worlds and expected verdicts.

A suite is validated completely when it is loaded — TOML syntax, every key,
every axiom id, every operator import — so a malformed suite is refused with a
`SuiteError` naming the file, the line (where it can be found) and the key,
before anything runs.  Running a suite gives a `Run`: plain data (one
`Outcome` per operator × axiom) that the writers and renderers read.

The format (docs/suites-and-ci.md has the full reference)::

    [suite]
    name = "reference"
    seed = 0
    max_examples = 100
    isolate = false                     # true: each operator runs in a worker process
    [suite.world]
    teachers = 4

    [[item]]
    operator = "entropy_exp"            # a registered name, "module:attr" or "file.py:attr"
    spec = { bounds = [0.05, 0.9] }     # optional declared-spec overrides
    axioms = ["token.normalization"]    # optional; default: every check of the scale
    expect = { "token.normalization" = "fail" }   # default "pass"

An item passes when each verdict matches its expectation; a `skipped` result
matches "pass".

>>> suite = loads('[suite]\\nname = "doc"\\n[[item]]\\noperator = "uniform_context"\\n', "doc.toml")
>>> suite.items[0].id, suite.items[0].operator.scale
('uniform_context', 'context')
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

from ..errors import Problem, SuiteError
from .model import Suite
from .validate import Validator


def _display_path(path: str | Path) -> str:
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


def loads(text: str, path: str = "<suite>") -> Suite:
    """Parse and validate a suite from TOML text (`path` is used in messages)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line = int(m.group(1)) if m else None
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        col = f", column {m.group(2)}" if m else ""
        raise SuiteError([Problem(path, f"invalid TOML{col}: {msg}", line)]) from None
    return Validator(path, text).load(data)


def load(path: str | Path) -> Suite:
    """Read, parse and validate a suite file."""
    shown = _display_path(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SuiteError([Problem(shown, f"cannot read the suite: {exc}")]) from None
    return loads(text, shown)


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """Suite files named by `paths`: files as given, folders as their `*.toml` files (sorted)."""
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out.extend(sorted(p.glob("*.toml")))
        elif p.exists():
            out.append(p)
        else:
            raise SuiteError([Problem(str(p), "no such suite file or folder")])
    return out


def load_all(paths: Iterable[str | Path]) -> list[Suite]:
    """Load every suite, collecting the problems of all files before raising."""
    suites, problems = [], []
    for p in discover(paths):
        try:
            suites.append(load(p))
        except SuiteError as exc:
            problems.extend(exc.problems)
    if problems:
        raise SuiteError(problems)
    return suites


def builtin_suite_dir() -> Path:
    """The built-in suites' folder, installed with the package (`axiomcheck run --builtin`).

    The repository's conformance_suites/ holds the same files, copied from here
    by `make suites` (tests/test_packaging.py checks that the two agree).
    """
    return Path(__file__).resolve().parent / "builtin"


def default_suite_dir() -> Path | None:
    """`./conformance_suites` when it holds `*.toml` files, else None."""
    candidate = Path.cwd() / "conformance_suites"
    if candidate.is_dir() and any(candidate.glob("*.toml")):
        return candidate
    return None
