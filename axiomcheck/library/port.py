"""The `Port` record: a published weighting scheme's function, what it declares, and its verdict by hand.

A port is kept as plain data around a plain function so the function can be
called and tested on its own; `Port.build()` turns it into an `Operator` with
the scale decorator of its kind (`token_operator`, or `importance_operator`
for task importances λ[B,M]), passing the declarations (`bounds`, `params`,
`world`, …) as keywords.  `fails` lists the check ids that must come back
`fail`; every other check of the kind must pass or be not applicable.

>>> CHECK_IDS["importance"][:2]
('importance.normalization', 'importance.nonnegativity')
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["CHECK_IDS", "Port"]

#: The check ids of each kind a port can be, in report order.
CHECK_IDS: dict[str, tuple[str, ...]] = {
    "token": ("token.normalization", "token.positivity", "token.bounded_influence", "token.regularity",
              "token.safety_monotonicity", "token.finite", "token.shape", "token.deterministic",
              "token.batch_independent"),
    "importance": ("importance.normalization", "importance.nonnegativity", "importance.continuity",
                   "importance.pareto_compatibility", "importance.finite", "importance.shape",
                   "importance.deterministic", "importance.batch_independent"),
}


@dataclasses.dataclass(frozen=True)
class Port:
    """One published scheme (or its repaired variant) as a function plus its audit entry.

    Args:
        name: the registered operator name.
        kind: "token" (teacher weights w[B,K]) or "importance" (task importances λ[B,M]).
        fn: the weight function, called with the keyword inputs it names.
        scheme: the scheme's short name in the audit table (e.g. "CA-MKD").
        reads: the inputs the function really reads.
        fails: the check ids expected to fail (derived by hand, with the reason in `fn`'s docstring).
        why: one line saying why those checks fail (empty when none does).
        errors: the check ids expected to come back `error` (cannot be judged, e.g. the regularity of a
            batch-dependent operator).
        repairs: for a repaired variant, the name of the faithful port it repairs; None for a port.
        declare: decorator keywords: `bounds`, `lipschitz`, `params`, `world`.
    """

    name: str
    kind: str
    fn: Callable[..., Any]
    scheme: str
    reads: tuple[str, ...]
    fails: tuple[str, ...] = ()
    why: str = ""
    errors: tuple[str, ...] = ()
    repairs: str | None = None
    declare: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in CHECK_IDS:
            raise ValueError(f"port {self.name!r}: kind must be one of {sorted(CHECK_IDS)}, got {self.kind!r}")
        unknown = [a for a in (*self.fails, *self.errors) if a not in CHECK_IDS[self.kind]]
        if unknown:
            raise ValueError(f"port {self.name!r}: {unknown} are not {self.kind} check ids")
        if bool(self.fails) != bool(self.why):
            raise ValueError(f"port {self.name!r}: say why exactly when some check is expected to fail")
        if set(self.fails) & set(self.errors):
            raise ValueError(f"port {self.name!r}: a check cannot be expected to fail and to error")

    @property
    def expected(self) -> dict[str, str]:
        """Every check id of the kind -> "fail", "error" or "pass" (pass also admits skipped)."""
        return {a: ("fail" if a in self.fails else "error" if a in self.errors else "pass")
                for a in CHECK_IDS[self.kind]}

    def build(self, *, register: bool = True) -> Any:
        """The `Operator` of this port, made with its kind's decorator (and registered unless told not to)."""
        from ..spec import decorators

        make = getattr(decorators, f"{self.kind}_operator", None)
        if make is None:
            raise RuntimeError(f"port {self.name!r} needs `{self.kind}_operator`, which this axiomcheck lacks")
        try:
            return make(self.fn, name=self.name, register=register, **dict(self.declare))
        except TypeError as exc:
            raise RuntimeError(f"port {self.name!r}: this axiomcheck's `{self.kind}_operator` does not take "
                               f"{sorted(self.declare)} ({exc})") from None
