"""`ac.region`: a safety set of contexts that the certifier can read — a box, a half-space, or both.

At context scale the safety-critical set C_safe is declared as a predicate
`contexts(c[B, D]) -> bool[B]`.  A Python predicate is opaque to the
certifier (the safety check then says "unknown: the safety set is a Python
predicate"); a `Region` is the same predicate, callable exactly like one (so the
sampled engine runs unchanged), and also plain data:

* a box: `lo ≤ c ≤ hi` per feature (`None` for no limit; a sequence of length D,
  or a mapping {feature: limit} that works for any D);
* a half-space: `a · c ≥ b`;
* `strict=True` makes every inequality strict (c₀ > 0 rather than c₀ ≥ 0).

The certifier proves the safety order on the closure of the set (≥ for >),
which holds the set itself.

>>> import numpy as np
>>> r = region(lo={0: 0.0}, strict=True)
>>> r(np.array([[1.0, -5.0], [0.0, 3.0], [-1.0, 0.0]])).tolist()
[True, False, False]
>>> r.text(2)
'c_0 > 0'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

AxisLimits = tuple[tuple[int, float], ...]


def _limits(spec: Any, name: str) -> AxisLimits:
    if spec is None:
        return ()
    if isinstance(spec, Mapping):
        items = [(int(k), v) for k, v in spec.items()]
    elif isinstance(spec, Sequence) or isinstance(spec, np.ndarray):
        items = list(enumerate(spec))
    else:
        raise ValueError(f"region {name} must be a sequence of limits (None for none) or a mapping "
                         f"{{feature: limit}}, got {spec!r}")
    out = []
    for k, v in items:
        if v is None:
            continue
        v = float(v)
        if not np.isfinite(v) or k < 0:
            raise ValueError(f"region {name} must hold finite limits for features ≥ 0, got {spec!r}")
        out.append((k, v))
    return tuple(out)


@dataclasses.dataclass(frozen=True)
class Region:
    """A box and/or half-space of contexts; call it on `c[B, D]` for the `bool[B]` membership."""

    lo: AxisLimits = ()
    hi: AxisLimits = ()
    a: tuple[float, ...] | None = None
    b: float = 0.0
    strict: bool = False
    name: str | None = None

    @property
    def __name__(self) -> str:  # read where a predicate's name is shown (a report's spec)
        return self.name or f"region({self.text(self.dims())})"

    def __post_init__(self) -> None:
        lows, highs = dict(self.lo), dict(self.hi)
        for k in set(lows) & set(highs):
            if lows[k] > highs[k]:
                raise ValueError(f"region: feature {k} has lo {lows[k]} > hi {highs[k]} (an empty set)")

    def dims(self) -> int:
        """The smallest D the region names."""
        used = [k + 1 for k, _ in self.lo + self.hi]
        if self.a is not None:
            used.append(len(self.a))
        return max(used, default=0)

    def __call__(self, context: Any) -> np.ndarray:
        c = np.asarray(context, dtype=np.float64)
        if c.ndim != 2 or c.shape[1] < self.dims():
            raise ValueError(f"a region over {self.dims()} context features needs contexts of shape [B, D ≥ "
                             f"{self.dims()}], got {list(c.shape)}")
        ok = np.ones(c.shape[0], bool)
        for k, v in self.lo:
            ok &= (c[:, k] > v) if self.strict else (c[:, k] >= v)
        for k, v in self.hi:
            ok &= (c[:, k] < v) if self.strict else (c[:, k] <= v)
        if self.a is not None:
            s = c[:, : len(self.a)] @ np.asarray(self.a)
            ok &= (s > self.b) if self.strict else (s >= self.b)
        return ok

    def box(self, d: int) -> tuple[np.ndarray, np.ndarray]:
        """The box part as arrays of length D (±inf where unbounded)."""
        lo, hi = np.full(d, -np.inf), np.full(d, np.inf)
        for k, v in self.lo:
            if k < d:
                lo[k] = v
        for k, v in self.hi:
            if k < d:
                hi[k] = v
        return lo, hi

    def text(self, d: int) -> str:
        op_lo, op_hi = (">", "<") if self.strict else ("≥", "≤")
        parts = [f"c_{k} {op_lo} {v:g}" for k, v in self.lo] + [f"c_{k} {op_hi} {v:g}" for k, v in self.hi]
        if self.a is not None:
            terms = " + ".join(f"{w:g}·c_{k}" for k, w in enumerate(self.a) if w != 0)
            parts.append(f"{terms} {op_lo} {self.b:g}")
        return " and ".join(parts) if parts else "every context"

    def to_dict(self) -> dict[str, Any]:
        return {"lo": dict(self.lo), "hi": dict(self.hi), "a": None if self.a is None else list(self.a),
                "b": self.b, "strict": self.strict, "name": self.name}


def region(lo: Any = None, hi: Any = None, *, a: Sequence[float] | None = None, b: float = 0.0,
           strict: bool = False, name: str | None = None) -> Region:
    """A safety set of contexts the certifier can read: `lo ≤ c ≤ hi` and/or `a · c ≥ b`.

    Use it where a predicate goes: `ac.Safety(contexts=ac.region(lo={0: 0.0}, strict=True), order=[0, 2, 1])`
    is the set c₀ > 0.  AxisLimits are a sequence over the features (None: no limit) or a mapping
    {feature: limit}; `strict=True` makes every inequality strict; `name` is how reports name the set
    (default: the inequalities).
    """
    aa = None
    if a is not None:
        aa = tuple(float(x) for x in a)
        if not all(np.isfinite(aa)) or not np.isfinite(float(b)):
            raise ValueError(f"region a and b must be finite, got a={a!r}, b={b!r}")
    return Region(_limits(lo, "lo"), _limits(hi, "hi"), aa, float(b), bool(strict), name)
