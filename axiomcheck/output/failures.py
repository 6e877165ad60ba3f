"""What the terminal output prints under a failure: its counterexample, and a repeated error once.

A mixin of `text.Renderer` (which provides `line`, `console` and `fancy`), so
the renderer's module keeps to its tables and lines.  A failing check's
counterexample is printed under its message (`counterexample.lines`, within
the output's width); an item's checks that only repeat an earlier check's
error ("not run: ... (see <id>)", or the same message) are named on one line
under it (`common.repeats`), so an operator that fails on every call is read
once, not once per check.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..report.results import Outcome
from .common import POINTER, repeats
from .counterexample import lines as counterexample_lines


class FailureLines:
    """The lines a `Renderer` prints under a failed result or an unexpected outcome."""

    fancy: bool
    console: Any

    def line(self, text: str = "", style: str | None = None) -> None:  # the renderer's
        raise NotImplementedError

    def outcome_details(self, o: Outcome, *, show_suite: bool = True, same: Sequence[Outcome] = ()) -> None:
        raise NotImplementedError  # the renderer's

    @property
    def width(self) -> int:
        """The columns a block of text may take: the terminal's (at most 120) when fancy, else 100."""
        return min(self.console.width, 120) if self.fancy else 100

    def counterexample(self, ce: Any, indent: str = "    ") -> None:
        """A failing check's counterexample, compactly, within the output's width."""
        if isinstance(ce, dict) and ce:
            for text in counterexample_lines(ce, self.width - len(indent)):
                self.line(indent + text)

    def result_footer(self, res: Any) -> None:
        """Under a results table: a failed result's counterexample, and how to reproduce a failure or error
        (not for a check that only points at the one carrying the error)."""
        if res.status == "fail" and res.counterexample:
            self.line(f"{res.axiom}:")
            self.counterexample(res.counterexample, indent="  ")
        if res.status in ("fail", "error") and res.reproduce and not POINTER.match(res.message or ""):
            self.line(f"reproduce {res.axiom}: {res.reproduce}", "cyan")

    def outcome_footer(self, o: Outcome, same: Sequence[Outcome]) -> None:
        """Under an outcome's message: its counterexample, and the checks that repeat its error."""
        if o.status == "fail":
            self.counterexample(o.counterexample)
        if same:
            self.line(f"    the same {o.status} on {', '.join(x.axiom for x in same)} (not repeated)")

    def details(self, outcomes: Sequence[Outcome], *, show_suite: bool = True) -> None:
        """`outcome_details` of each, an item's repeated error shown once."""
        for o, same in repeats(outcomes):
            self.outcome_details(o, show_suite=show_suite, same=same)
