"""The Hypothesis tier: a targeted search over small batches, then shrinking per failed check.

Both phases are bounded by example counts only, never by wall-clock time, so the
same seed gives the same report on an idle machine and on a loaded one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from ..calling.sandbox import OperatorMisbehaved
from ..checks.base import Check
from ..checks.evidence import Evidence, Finding
from ..checks.registry import PROPERTY_CHECKS, charge
from ..checks.subject import Subject
from ..sampling.budget import Clock, OutOfTime
from ..sampling.domains import Args


def value_checks(subject: Subject) -> list[Check]:
    """The selected checks that apply and read each returned weight vector (`Check.searched`: searched,
    targeted and shrunk)."""
    return [c for p in subject.ids if (c := PROPERTY_CHECKS[p]).searched and c.applies(subject) is None]


def _settings(max_examples: int) -> Any:
    from hypothesis import HealthCheck, Phase, settings

    return settings(max_examples=max_examples, database=None, deadline=None, derandomize=False,
                    suppress_health_check=list(HealthCheck), print_blob=False, report_multiple_bugs=False,
                    phases=[Phase.explicit, Phase.generate, Phase.target, Phase.shrink])


@contextlib.contextmanager
def _no_shrink_clock() -> Iterator[None]:
    """Lift Hypothesis' wall-clock cap on shrinking (300 s) while our example budget applies.

    Hypothesis has no setting for it; without this a slow operator on a loaded
    machine could end shrinking early and change the counterexample of a seed.
    """
    try:
        from hypothesis.internal.conjecture import engine as conjecture
    except ImportError:  # a Hypothesis without this module: nothing to lift
        yield
        return
    old = getattr(conjecture, "MAX_SHRINKING_SECONDS", None)
    if old is None:
        yield
        return
    conjecture.MAX_SHRINKING_SECONDS = 10**9
    try:
        yield
    finally:
        conjecture.MAX_SHRINKING_SECONDS = old


def observe_all(subject: Subject, ev: Evidence, args: Args, where: str, source: str) -> Any:
    """Call the operator on `args` and run every value check; returns the canonical weights."""
    w = subject.call(args)
    W = subject.domain.canonical(w)
    for check in value_checks(subject):
        check.observe(subject, ev, args, w, W, where, source)
    return W


def explore(subject: Subject, ev: Evidence, max_examples: int, clock: Clock | None = None) -> None:
    """Search small batches, steering with `hypothesis.target` toward the worst violation.

    With a time budget (`clock`) the search ends when it is spent, and the clock
    counts the examples run against `max_examples`.
    """
    from hypothesis import given, seed, target

    clock = clock or Clock()
    runs = {"n": 0}
    clock.tick("search", 0, max_examples)

    @seed(subject.seed)
    @_settings(max_examples)
    @given(subject.domain.strategy(subject.world))
    def search(args: Args) -> None:
        if clock.expired():
            raise OutOfTime()
        runs["n"] += 1
        clock.tick("search", min(runs["n"], max_examples), max_examples)
        try:
            W = observe_all(subject, ev, args, "a search example", "search")
        except OperatorMisbehaved as exc:
            charge(subject, ev, exc, subject.misbehaved(exc, args, "a search example"))
            return
        for check in value_checks(subject):
            sev = check.severity(subject, W)
            if sev is not None:
                target(sev, label=subject.ids[check.property])

    try:
        with _no_shrink_clock():
            search()
    except Exception:  # noqa: BLE001 - Hypothesis' own errors end the search, never the run
        pass
    if not clock.hit:
        clock.tick("search", max_examples, max_examples)


def _forget_drawn() -> None:
    """Drop Hypothesis' references to this example's drawn values (kept for printing a falsifying example).

    Hypothesis keeps the traceback of every failing example it meets while
    shrinking, and through it the values drawn for that example; at a large
    vocabulary that is megabytes per example.  We never print Hypothesis'
    report, so the references it keeps for printing go.
    """
    try:
        from hypothesis.control import current_build_context

        current_build_context().known_object_printers.clear()
    except Exception:  # noqa: BLE001 - another Hypothesis version: only memory is at stake
        pass


class _Box:
    """A drawn input the test takes out of the box: what Hypothesis keeps of an example then holds no arrays."""

    __slots__ = ("args",)

    def __init__(self, args: Args):
        self.args: Args | None = args

    def take(self) -> Args:
        args, self.args = self.args, None
        return args  # type: ignore[return-value]

    def __repr__(self) -> str:
        return "<drawn input>"


def shrink(subject: Subject, axiom: str, max_examples: int, clock: Clock | None = None) -> Finding | None:
    """A minimal single-sample input violating `axiom`, found with a fresh `Evidence`, or None.

    With a time budget (`clock`) shrinking stops when it is spent, keeping the smallest violation so far.
    """
    from hypothesis import given, seed

    clock = clock or Clock()

    budget = max(200, 4 * max_examples)
    state: dict[str, Any] = {"calls": 0, "last": None}

    class _Violated(Exception):
        pass

    @seed(subject.seed)
    @_settings(max(max_examples, 50))
    @given(subject.domain.strategy(subject.world, max_batch=1).map(_Box))
    def probe(box: _Box) -> None:
        args = box.take()
        _forget_drawn()
        if clock.expired():
            raise OutOfTime()
        state["calls"] += 1
        if state["calls"] > budget or subject.op_dead:
            return
        fresh = Evidence([axiom])
        try:
            observe_all(subject, fresh, args, "a shrunk search example", "shrink")
        except OperatorMisbehaved:
            return
        if fresh[axiom].finding is not None:
            state["last"] = fresh[axiom].finding
            del args, fresh  # Hypothesis keeps each failure's traceback: it must not keep these arrays alive
            raise _Violated()

    try:
        with _no_shrink_clock():
            probe()
    except Exception:  # noqa: BLE001 - the violation (or a flaky replay) ends the search
        pass
    found: Finding | None = state["last"]
    if found is not None:
        found.source = "search"
    return found
