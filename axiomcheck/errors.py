"""The errors axiomcheck raises on purpose, under one base class.

Every error a user can cause (a bad declaration, an operator reference that
does not resolve, a malformed suite or baseline, a command line that cannot be
carried out) derives from `AxiomcheckError`; the command line maps each type
to its exit code in one table (`axiomcheck.frontends.cli.EXIT_CODES`).

>>> issubclass(SpecError, AxiomcheckError) and issubclass(SpecError, ValueError)
True
>>> str(SuiteError([Problem("s.toml", "unknown key 'x'", line=3)]))
"s.toml:3: unknown key 'x'"
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence


class AxiomcheckError(Exception):
    """Base of every error axiomcheck raises about its input."""


class SpecError(AxiomcheckError, ValueError):
    """A declaration that cannot describe any valid operator (raised when it is built)."""


class TargetError(AxiomcheckError, ValueError):
    """An operator reference (name, module:attr, file.py:attr) that does not resolve to an Operator."""


class UnknownOperatorError(TargetError, KeyError):
    """A name that no registered operator has (also a `KeyError`, as a registry lookup)."""

    __str__ = Exception.__str__  # a KeyError would quote its message


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with a suite file."""

    path: str
    message: str
    line: int | None = None
    key: str | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


class SuiteError(AxiomcheckError, ValueError):
    """A suite that cannot be run; `problems` lists each error with its file, line and key."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @property
    def path(self) -> str:
        return self.problems[0].path

    @property
    def line(self) -> int | None:
        return self.problems[0].line


class BaselineError(AxiomcheckError, ValueError):
    """A baseline file that cannot be read; the message names the file and the entry."""


class UsageError(AxiomcheckError):
    """A command line that cannot be carried out (exit 2)."""


class MissingExtraError(AxiomcheckError, ImportError):
    """An optional dependency that is not installed; the message ends with the `pip install` line (exit 2).

    Also an `ImportError`, so code that guards an import the old way still catches it.

    >>> str(MissingExtraError("the training-time checks need optax", extra="dynamics"))
    "the training-time checks need optax; install it with: pip install 'axiomcheck[dynamics]'"
    """

    def __init__(self, message: str, extra: str = "", package: str = ""):
        self.extra = extra
        self.package = package
        self.install = f"pip install 'axiomcheck[{extra}]'" if extra else ""
        super().__init__(f"{message}; install it with: {self.install}" if extra else message)
