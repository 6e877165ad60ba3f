"""What the checks found, as typed records: one `CheckEvidence` per check id.

A check adds to its evidence (samples seen, the worst violation, the share of
inputs that violate it, an estimate, an error); it never deletes.  How evidence
becomes a verdict — a non-deterministic operator makes regularity "cannot be
judged", an error of the whole run spoils every check — is decided once, when
results are assembled (`engine.assemble`).  Shrinking records into a fresh
`Evidence`, so the search for a small counterexample cannot disturb what the
sweep found.
"""

from __future__ import annotations

import dataclasses
from typing import Any


def percent(part: int, whole: int) -> str:
    """A share as a short percentage that never rounds a corner case to 0% or a near-total to 100%.

    >>> percent(3, 3), percent(1, 3), percent(1, 5000), percent(4999, 5000)
    ('100%', '33.3%', '0.02%', '99.98%')
    """
    if whole <= 0:
        return "0%"
    if part == whole:
        return "100%"
    x = 100.0 * part / whole
    digits = 1
    while digits < 6 and (round(x, digits) == 0 or round(x, digits) >= 100):
        digits += 1
    return f"{round(x, digits):g}%"


@dataclasses.dataclass
class Finding:
    """The most severe violation of one check seen so far.

    The message reads "<must>, got <got>, at <where>"; `finite` says whether the
    violating values were finite (a finite violation is the one shown, NaN or inf
    rows are reported as a share beside it).
    """

    severity: float
    must: str
    got: str
    where: str
    counterexample: dict[str, Any]
    source: str
    finite: bool = True
    extra: str = ""
    at_word: str = "at"

    def outranks(self, other: Finding | None) -> bool:
        if other is None:
            return True
        if self.finite != other.finite:
            return self.finite
        return self.severity > other.severity

    def replaces(self, old: Finding | None) -> bool:
        """A shrunk finding replaces the sweep's unless it trades a finite violation for a NaN one."""
        return old is None or self.finite or not old.finite

    @property
    def message(self) -> str:
        text = f"{self.must}, got {self.got}" + (f", {self.at_word} {self.where}" if self.where else "")
        return text + (f"; {self.extra}" if self.extra else "")


@dataclasses.dataclass
class Share:
    """How many sweep inputs a value check saw, and how many broke it (finite, NaN, inf)."""

    checked: int = 0
    finite: int = 0
    violating: int = 0
    nan: int = 0
    inf: int = 0

    def add(self, checked: int, finite: int, violating: int, nan: int, inf: int) -> None:
        self.checked += checked
        self.finite += finite
        self.violating += violating
        self.nan += nan
        self.inf += inf

    def describe(self, population: str = "sweep samples") -> str:
        """What share of the inputs broke the check, as a clause (empty when nothing was counted).

        >>> s = Share(); s.add(1792, 1792, 56, 0, 0); s.describe()
        'violated on 3.1% of the 1792 sweep samples'
        >>> s = Share(); s.add(100, 98, 1, 2, 0); s.describe()
        'violated on 1% of the 98 finite sweep samples; NaN on 2%'
        >>> s = Share(); s.add(1536, 0, 0, 1536, 0); s.describe()
        'none of the 1536 sweep samples had finite weights to judge; NaN on 100%'
        """
        if self.checked == 0:
            return ""
        if self.finite == 0:
            text = f"none of the {self.checked} {population} had finite weights to judge"
        elif self.finite == self.checked:
            text = f"violated on {percent(self.violating, self.finite)} of the {self.finite} {population}"
        else:
            text = f"violated on {percent(self.violating, self.finite)} of the {self.finite} finite {population}"
        if self.nan:
            text += f"; NaN on {percent(self.nan, self.checked)}"
        if self.inf:
            text += f"; inf on {percent(self.inf, self.checked)}"
        return text


@dataclasses.dataclass
class CheckEvidence:
    """Everything recorded about one check id."""

    samples: int = 0
    finding: Finding | None = None
    error: str | None = None
    skip: str | None = None
    note: str | None = None
    aside: str | None = None  # what part of the check did not run, and why (said beside any verdict)
    estimate: Any = None
    share: Share = dataclasses.field(default_factory=Share)


class Evidence:
    """The evidence of every check of one run, plus what spoils the whole run."""

    def __init__(self, ids: list[str]):
        self.checks = {i: CheckEvidence() for i in ids}
        self.fatal: str | None = None  # the operator could not be evaluated at all
        self.fatal_brief: str | None = None  # fatal in short, for the checks after the first (a world hint)
        self.everywhere: str | None = None  # an error that concerns every check (raised, mutated, hung)

    def __contains__(self, axiom: str) -> bool:
        return axiom in self.checks

    def __getitem__(self, axiom: str) -> CheckEvidence:
        return self.checks[axiom]

    def count(self, axiom: str | None, n: int) -> None:
        if axiom in self.checks:
            self.checks[axiom].samples += int(n)

    def find(self, axiom: str | None, finding: Finding) -> None:
        if axiom in self.checks and finding.outranks(self.checks[axiom].finding):
            self.checks[axiom].finding = finding

    def fail(self, axiom: str | None, message: str) -> None:
        """Record an error (the first one stays)."""
        if axiom in self.checks and self.checks[axiom].error is None:
            self.checks[axiom].error = message

    def fail_all(self, message: str) -> None:
        if self.everywhere is None:
            self.everywhere = message

    def aside(self, axiom: str | None, text: str) -> None:
        """Say beside the check's verdict that part of it did not run, and why."""
        if axiom in self.checks:
            self.checks[axiom].aside = text

    def skip(self, axiom: str | None, reason: str) -> None:
        if axiom in self.checks:
            self.checks[axiom].skip = reason

    def found(self, axiom: str | None) -> bool:
        return axiom in self.checks and self.checks[axiom].finding is not None
