"""Where the operations consult the structured rules, without importing them.

Each operation of the core (`ops`, `logic`, `reduce`, `structure`) computes
its own sound enclosure, then calls `run(name, ...)` at a few fixed points
(after an elementwise operation, a `where`, a cast, a sum, a max; before
a division).  The rules of `patterns.py` register for those points when they
are imported (`core` imports them), and may narrow or tag the result: each
rule's enclosure is itself sound, so an unregistered point costs tightness,
never soundness.  The operations sit below the rules; this table keeps the
imports running one way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: the points the operations call, and what each receives
POINTS = {
    "after": "(name, inputs, out): an elementwise operation's result",
    "after_where": "(cond, a, b, out, surely_true, surely_false): a select's result",
    "after_cast": "(x, out): a cast's result",
    "after_sum": "(x, axes, keepdims, out): a sum's result",
    "after_extreme": "(x, axes, keepdims, kind, out): a max's or min's result",
    "divide": "(a, b, shape, dtype) -> Interval | None: a structured enclosure of a / b, if one applies",
}

_RULES: dict[str, Callable[..., Any]] = {}


def register(**rules: Callable[..., Any]) -> None:
    """Install the rule for each named point (replacing any earlier one)."""
    unknown = set(rules) - set(POINTS)
    if unknown:
        raise ValueError(f"no such hook point: {sorted(unknown)}")
    _RULES.update(rules)


def run(point: str, *args: Any) -> Any:
    """The rule's answer at `point`, or None where no rule is registered."""
    rule = _RULES.get(point)
    return None if rule is None else rule(*args)
