"""The options shared by the `axiomcheck` command and the pytest plugin, defined once.

Each `Option` knows its flag on the command line (`--seed`), its flag under
pytest (`--axiomcheck-seed`), its ini key (`axiomcheck_seed`), its type, its
default and its help text.  Both front ends add them with `add_to(addoption,
...)`, whose `addoption` is `argparse.ArgumentParser.add_argument` or pytest's
`OptionGroup.addoption` (they take the same keywords), so a flag, a default or
a help text never drifts between the two.  The world sizes are one option per
`World` field (`axiomcheck.spec.worlds`), so a new size gets its flags and ini key here.

Every option is added with `default=None`: a value the user did not give is
`None`, so the precedence "command line > suite file or marker > ini > built-in
default" can be applied afterwards with `resolve`.

>>> SEED.cli_flags, SEED.pytest_flag, SEED.ini
(('--seed',), '--axiomcheck-seed', 'axiomcheck_seed')
>>> resolve("max_examples", None, 50)
50
>>> resolve("max_examples", 7, 50)
7
>>> resolve("seed")
0
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..spec import worlds


def positive_int(text: str) -> int:
    """An integer ≥ 1 (argparse/pytest `type=`)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer ≥ 1, got {text!r}")
    return value


def natural_int(text: str) -> int:
    """An integer ≥ 0 (argparse/pytest `type=`)."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer ≥ 0, got {text!r}")
    return value


def nonneg_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be a number ≥ 0, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0 (a time limit of `inf` or `nan` is refused)."""
    value = float(text)
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def timeout_seconds(text: str) -> float:
    """A per-call time limit: a number of seconds > 0 and at most one day (`budget.MAX_TIMEOUT`)."""
    from ..sampling.budget import timeout_problem

    value = float(text)
    problem = timeout_problem(value)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem.replace(f"got {value!r}", f"got {text!r}"))
    return value


# argparse prints the type's __name__ in "invalid <name> value" messages.
positive_int.__name__ = "integer ≥ 1"
natural_int.__name__ = "integer ≥ 0"
nonneg_float.__name__ = "number ≥ 0"
positive_float.__name__ = "number > 0"
timeout_seconds.__name__ = "number of seconds"


@dataclasses.dataclass(frozen=True)
class Option:
    """One shared option: a setting name and how each front end spells it."""

    name: str  # the setting's name, e.g. "max_examples" (also the argparse dest)
    help: str
    type: Callable[[str], Any]
    default: Any
    metavar: str
    cli_flags: tuple[str, ...] = ()
    pytest_name: str = ""  # flag under pytest, without the leading "--axiomcheck-"
    world: bool = False  # one of the World sizes (teachers, vocab, ...)

    def __post_init__(self) -> None:
        if not self.cli_flags:
            object.__setattr__(self, "cli_flags", ("--" + self.name.replace("_", "-"),))
        if not self.pytest_name:
            object.__setattr__(self, "pytest_name", self.cli_flags[0].lstrip("-"))

    @property
    def pytest_flag(self) -> str:
        return "--axiomcheck-" + self.pytest_name

    @property
    def ini(self) -> str:
        return "axiomcheck_" + self.name

    @property
    def pytest_dest(self) -> str:
        """Where pytest keeps the value (`config.getoption(...)`), prefixed to avoid other plugins' names."""
        return "axiomcheck_" + self.name

    def kwargs(self, *, pytest: bool = False) -> dict[str, Any]:
        """Keywords for `add_argument` / `addoption` (the default is applied later, see `resolve`)."""
        shown = f" (default: {self.default})" if self.default is not None else ""
        return {"type": self.type, "default": None, "metavar": self.metavar,
                "dest": self.pytest_dest if pytest else self.name, "help": self.help + shown}


SEED = Option("seed", "seed of the sweep and the search; the same seed gives the same report",
              natural_int, 0, "S")
MAX_EXAMPLES = Option("max_examples", "Hypothesis examples per operator in the search phase",
                      natural_int, 100, "N")
REPORT_DIR = Option("report_dir", "write every report format (JSON, JUnit XML, Markdown, HTML) into DIR",
                    str, None, "DIR", cli_flags=("--output", "-o"), pytest_name="report")

#: Options that set how hard and where to look.
SETTINGS_OPTIONS = (SEED, MAX_EXAMPLES)
#: Options that size the sampled world: one per `World` field, in field order, its help, symbol and
#: default read from the field (`axiomcheck.spec.worlds`).
WORLD_OPTIONS = tuple(Option(name, worlds.help_text(name), positive_int, worlds.default(name), worlds.symbol(name),
                             cli_flags=(worlds.flag(name),), world=True) for name in worlds.fields())
#: Every shared option, in the order they are shown.
OPTIONS = (*SETTINGS_OPTIONS, *WORLD_OPTIONS, REPORT_DIR)
BY_NAME = {o.name: o for o in OPTIONS}


def add_to(addoption: Callable[..., Any], *, pytest: bool = False,
           options: Iterable[Option] = OPTIONS) -> None:
    """Add `options` with `addoption` (argparse's `add_argument` or pytest's `addoption`)."""
    for opt in options:
        flags = (opt.pytest_flag,) if pytest else opt.cli_flags
        addoption(*flags, **opt.kwargs(pytest=pytest))


def add_ini(addini: Callable[..., Any], options: Iterable[Option] = OPTIONS) -> None:
    """Declare an ini key (`axiomcheck_seed`, ...) for each option (pytest's `parser.addini`)."""
    for opt in options:
        addini(opt.ini, help=f"default for {opt.pytest_flag}: {opt.help}", default=None)


def parse_value(name: str, text: Any) -> Any:
    """Convert an ini or marker value with the option's type (an error names the option)."""
    opt = BY_NAME[name]
    if text is None or not isinstance(text, str):
        return text
    try:
        return opt.type(text)
    except (ValueError, argparse.ArgumentTypeError) as exc:
        raise ValueError(f"{opt.ini} {exc}") from None


def resolve(name: str, *candidates: Any) -> Any:
    """The first candidate that is not None, else the option's built-in default."""
    for value in candidates:
        if value is not None:
            return value
    return BY_NAME[name].default


def given(values: Mapping[str, Any] | argparse.Namespace) -> dict[str, Any]:
    """The shared options the user actually set (non-None), by setting name."""
    if isinstance(values, argparse.Namespace):
        values = vars(values)
    return {o.name: values[o.name] for o in OPTIONS if values.get(o.name) is not None}


def world_fields() -> tuple[str, ...]:
    """The names of the world options: the `World` fields."""
    return worlds.fields()
