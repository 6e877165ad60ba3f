"""The exact range of a composed (unified) weight, given each component's declared bounds.

Component bounds do not carry over to the product-then-normalize composition
(`axiomcheck.spec.compose`) unchanged; `derived_bounds` computes the range the unified
weight can take given each component's declared `[w_min, w_max]` and that each
component sums to 1 over K teachers.  It reads only the components' `bounds` and
`name`, so the weight guard can use it without the composition machinery.

>>> from types import SimpleNamespace as Op
>>> derived_bounds([Op(name="c", bounds=(0.4, 0.6))], 2)["bounds"]
[0.4, 0.6]
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np


def _vertices(lo: float, hi: float, total: float, n: int) -> list[tuple[float, ...]]:
    """Vertices of {x ∈ [lo, hi]^n : Σx = total}: all coordinates at a bound except at most one."""
    out = set()
    for free in range(n):
        for corner in itertools.product((lo, hi), repeat=n - 1):
            rest = total - sum(corner)
            if lo - 1e-12 <= rest <= hi + 1e-12:
                x = list(corner)
                x.insert(free, min(max(rest, lo), hi))
                out.add(tuple(round(v, 15) for v in x))
    return sorted(out)


def derived_bounds(components: Sequence[Any], teachers: int) -> dict[str, Any]:
    """The exact range of a unified weight given each component's declared bounds.

    For teacher 1 (all are alike), the unified weight is 1 / (1 + Σ_{j≥2} Π_s x_sj / x_s1).
    Its maximum puts each x_s1 as high as the component's bounds and normalization
    allow and minimizes the multilinear sum over the others; its minimum does the
    opposite.  A multilinear function on a product of polytopes reaches its extremes
    at vertices, so enumerating the vertices gives the exact, attained values.
    Returns `{"bounds": [lo, hi], "attained_by": {...}}` or `{"bounds": None, "reason": ...}`.

    Args:
        components: the composed operators (one per scale), with their declared bounds.
        teachers: K.
    """
    K = int(teachers)
    if K == 1:
        return {"bounds": [1.0, 1.0], "attained_by": {}}
    missing = [c.name for c in components if c.bounds is None]
    if missing:
        return {"bounds": None, "reason": f"components without declared bounds: {missing}"}
    if K > 9:
        return {"bounds": None, "reason": f"vertex enumeration is limited to K ≤ 9 teachers, got K = {K}"}
    feasible = []
    for c in components:
        lo, hi = c.bounds
        if lo * K > 1 + 1e-12 or hi * K < 1 - 1e-12:
            return {"bounds": None, "reason": f"{c.name}: bounds {c.bounds} admit no weights summing to 1 over K = {K}"}
        feasible.append((c, lo, hi))

    def extreme(sign: int) -> tuple[float, dict[str, list[float]]]:
        firsts, others = [], []
        for _, lo, hi in feasible:
            x1 = min(hi, 1 - (K - 1) * lo) if sign > 0 else max(lo, 1 - (K - 1) * hi)
            firsts.append(x1)
            others.append(_vertices(lo, hi, 1 - x1, K - 1))
        num = float(np.prod(firsts))
        best, arg = None, None
        for combo in itertools.product(*others):
            rest = float(np.sum(np.prod(np.array(combo), axis=0)))
            if best is None or (rest < best if sign > 0 else rest > best):
                best, arg = rest, combo
        value = num / (num + best)
        attained = {c.name: [x1, *vec] for (c, _, _), x1, vec in zip(feasible, firsts, arg)}
        return value, attained

    hi, at_hi = extreme(+1)
    lo, at_lo = extreme(-1)
    return {"bounds": [lo, hi], "attained_by": {"max": at_hi, "min": at_lo}}
