"""Scale-agnostic predicates on weights in the canonical layout `W[B, R, K]`.

Each predicate returns a `Violation`: a boolean mask `bad[B, R]` of the rows that
break the property and a `severity[B, R]` (how far past the limit, ≥ 0 where
bad) that the search maximizes with `hypothesis.target`.  Comparisons are
written so that NaN always counts as a violation.

>>> import numpy as np
>>> W = np.array([[[0.5, 0.5]], [[0.7, 0.4]]])
>>> normalized(W, tol=1e-9).bad[:, 0].tolist()
[False, True]
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import rules


@dataclasses.dataclass(frozen=True)
class Violation:
    bad: np.ndarray  # bool[B, R]
    severity: np.ndarray  # float[B, R]

    @property
    def any(self) -> bool:
        return bool(self.bad.any())

    def worst(self) -> tuple[int, int]:
        """(sample, row) of the most severe violation (the first bad row if severities tie)."""
        sev = np.where(self.bad, np.nan_to_num(self.severity, nan=np.inf, posinf=np.inf), -np.inf)
        flat = int(np.argmax(sev))
        return divmod(flat, self.bad.shape[1])


def tolerance_for(dtype: np.dtype, teachers: int, factor: float = rules.ULPS) -> float:
    """Default absolute tolerance: `factor` ulps of the returned dtype, times K (`rules.tolerance`).

    >>> tolerance_for(np.dtype(np.float32), 4) == 8 * 4 * float(np.finfo(np.float32).eps)
    True
    """
    return rules.tolerance(dtype, teachers, factor)


# Each predicate decides with `axiomcheck.checks.rules` (the weight guards decide with the same functions);
# its severity, which ranks findings and steers the search, is measured in float64 as it always was.


def normalized(W: np.ndarray, tol: float) -> Violation:
    """Σ_k w_k = 1 within `tol`."""
    lim = rules.limits(tol, None, W.dtype)
    total = rules.teacher_sum(W, -1, np)
    if total.dtype != np.float64:
        err = np.abs(W.sum(axis=-1, dtype=np.float64) - 1.0)
    else:
        err = np.abs(total - 1.0)
    bad = ~rules.normalization_ok(rules.sum_error(total), lim)
    return Violation(bad, np.where(np.isnan(err), np.inf, err))


def positive(W: np.ndarray) -> Violation:
    """Every w_k > 0 (an underflow to 0.0, or to a subnormal number, is a violation)."""
    low = rules.teacher_min(W, -1, np)
    bad = ~rules.positivity_ok(low, rules.limits(0.0, None, W.dtype))
    return Violation(bad, np.where(np.isnan(low), np.inf, -low.astype(np.float64)))


def nonnegative(W: np.ndarray) -> Violation:
    """Every entry ≥ 0 (task importance may be exactly 0)."""
    low = W.min(axis=-1)
    bad = ~(low >= 0)
    return Violation(bad, np.where(np.isnan(low), np.inf, -low.astype(np.float64)))


def bounded(W: np.ndarray, lo: float, hi: float, tol: float) -> Violation:
    """lo − tol ≤ w_k ≤ hi + tol for every k."""
    low, high = rules.teacher_min(W, -1, np), rules.teacher_max(W, -1, np)
    bad = ~rules.bounds_ok(low, high, rules.limits(tol, (lo, hi), W.dtype))
    excess = np.maximum(lo - low.astype(np.float64), high.astype(np.float64) - hi)
    return Violation(bad, np.where(np.isnan(excess), np.inf, excess))


def finite(W: np.ndarray) -> Violation:
    """No NaN or ±inf."""
    bad = nonfinite_rows(W)[0]
    return Violation(bad, bad.astype(np.float64))


def ordered(W: np.ndarray, pairs: Sequence[tuple[int, int]], where: np.ndarray, tol: float) -> Violation:
    """w_safer ≥ w_less_safe − tol for each pair, on the rows selected by `where[B, R]`."""
    lim = rules.limits(tol, None, W.dtype)
    sev = np.zeros(W.shape[:2])
    broken = np.zeros(W.shape[:2], bool)
    for a, b in pairs:
        broken |= ~rules.order_ok(rules.order_margin(W[..., a], W[..., b], np), lim)
        sev = np.fmax(sev, W[..., b].astype(np.float64) - W[..., a].astype(np.float64))
        sev = np.where(np.isnan(W[..., a]) | np.isnan(W[..., b]), np.inf, sev)
    bad = where & broken
    return Violation(bad, np.where(where, sev, 0.0))


def pair_breaking(W: np.ndarray, pairs: Sequence[tuple[int, int]], b: int, r: int, tol: float) -> tuple[int, int] | None:
    """The first declared pair that row (b, r) breaks, for the message."""
    lim = rules.limits(tol, None, W.dtype)
    for a, c in pairs:
        if not rules.order_ok(rules.order_margin(W[b, r, a], W[b, r, c], np), lim):
            return a, c
    return None


def max_abs_diff(W1: np.ndarray, W2: np.ndarray) -> np.ndarray:
    """Per-sample ‖W1 − W2‖∞ over rows and teachers, `[B]`, NaN- and inf-aware.

    Equal values differ by 0 — NaN vs NaN and inf vs inf included (inf − inf would
    be NaN and read as noise); a finite value against a non-finite one, or inf
    against −inf, differs by inf.  The difference is taken in the arrays' own
    floating type (float32 stays float32; float16 is widened), with one
    temporary the size of the batch, so a large-vocabulary batch is not copied
    to float64 several times over.

    >>> max_abs_diff(np.array([[np.inf, np.nan, 1.0]]), np.array([[np.inf, np.nan, 1.5]])).tolist()
    [0.5]
    >>> max_abs_diff(np.array([[np.inf]]), np.array([[1.0]])).tolist()
    [inf]
    """
    W1, W2 = np.asarray(W1), np.asarray(W2)
    dt = np.result_type(W1, W2)
    if not np.issubdtype(dt, np.floating) or dt.itemsize < 4:
        dt = np.dtype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        d = np.subtract(W1, W2, dtype=dt)
    np.abs(d, out=d)
    nan = np.isnan(d)
    if nan.any():  # inf − inf or a NaN: 0 where both sides are the same value, else inf
        same = (W1 == W2) | (np.isnan(W1) & np.isnan(W2))
        d[nan] = np.where(same[nan], 0.0, np.inf)
    if d.ndim == 1:
        return d.astype(np.float64)
    return d.max(axis=tuple(range(1, d.ndim)), initial=0.0).astype(np.float64)


def nonfinite_rows(W: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(any NaN or ±inf, any NaN, any ±inf) per row of `W[B, R, K]`, each `bool[B, R]`.

    Computed once per weights array and reused by every value check that reads it
    (the last few arrays are remembered by identity).

    >>> bad, nan, inf = nonfinite_rows(np.array([[[1.0, np.nan]], [[np.inf, 0.0]]]))
    >>> bad[:, 0].tolist(), nan[:, 0].tolist(), inf[:, 0].tolist()
    ([True, True], [True, False], [False, True])
    """
    for ref, masks in _MASKS:
        if ref() is W:
            return masks
    bad = ~rules.finite_ok(np.min(W, axis=-1), np.max(W, axis=-1)) if W.size else np.zeros(W.shape[:-1], bool)
    if bad.any():
        nan, inf = np.isnan(W).any(axis=-1), np.isinf(W).any(axis=-1)
    else:
        nan = inf = np.zeros(bad.shape, dtype=bool)
    masks = (bad, nan, inf)
    try:
        _MASKS.insert(0, (weakref.ref(W), masks))
        del _MASKS[4:]
    except TypeError:  # an object that takes no weak reference: not remembered
        pass
    return masks


_MASKS: list[tuple[Any, tuple[np.ndarray, np.ndarray, np.ndarray]]] = []
