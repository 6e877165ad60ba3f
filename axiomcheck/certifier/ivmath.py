"""Interval arithmetic on float64 endpoint arrays, rounded outwards (no dtype, no Jacobian: the building blocks).

Each function takes and returns `(lo, hi)` pairs of broadcastable float64
arrays and encloses the exact real result; `ops.py` adds the rounding to the
operator's dtype, the Jacobians and the NaN bookkeeping.  A product 0 × ∞ is
taken as 0 (the endpoints stand for sets of reals); whether the float
operation can produce NaN is decided by the caller.

>>> import numpy as np
>>> lo, hi = mul(np.array([-1.0]), np.array([2.0]), np.array([3.0]), np.array([4.0]))
>>> bool(lo[0] <= -4.0 and hi[0] >= 8.0)
True
"""

from __future__ import annotations

import numpy as np

from . import rounding as R

Pair = tuple[np.ndarray, np.ndarray]


def _fix(lo: np.ndarray, hi: np.ndarray) -> Pair:
    return np.where(np.isnan(lo), -np.inf, lo), np.where(np.isnan(hi), np.inf, hi)


def _sum_exact(a: np.ndarray, b: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Where the float64 sum s = a + b is exact (Knuth's TwoSum error is 0)."""
    bb = s - a
    err = (a - (s - bb)) + (b - bb)
    return (err == 0) & np.isfinite(s)


def _prod_exact(a: np.ndarray, b: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Where the float64 product p = a · b is certainly exact: a factor is 0, or one is a power of two
    (1, 2, 0.5, ...) and the product stays a normal number."""
    zero = (a == 0) | (b == 0)
    pow2 = (np.frexp(a)[0] == 0.5) | (np.frexp(b)[0] == 0.5)
    normal = (np.abs(p) >= 2.2250738585072014e-308) & np.isfinite(p)
    return zero | (pow2 & normal)


def _round(lo: np.ndarray, hi: np.ndarray, exact_lo: np.ndarray, exact_hi: np.ndarray) -> Pair:
    return np.where(exact_lo, lo, R.down(lo)), np.where(exact_hi, hi, R.up(hi))


def add(alo, ahi, blo, bhi) -> Pair:
    with np.errstate(invalid="ignore", over="ignore"):
        lo, hi = alo + blo, ahi + bhi
        return _fix(*_round(lo, hi, _sum_exact(alo, blo, lo), _sum_exact(ahi, bhi, hi)))


def sub(alo, ahi, blo, bhi) -> Pair:
    with np.errstate(invalid="ignore", over="ignore"):
        lo, hi = alo - bhi, ahi - blo
        return _fix(*_round(lo, hi, _sum_exact(alo, -bhi, lo), _sum_exact(ahi, -blo, hi)))


def mul(alo, ahi, blo, bhi) -> Pair:
    """Product of two intervals (four corner products, each widened unless it is exact)."""
    los, his = [], []
    with np.errstate(invalid="ignore", over="ignore", under="ignore"):
        for a, b in ((alo, blo), (alo, bhi), (ahi, blo), (ahi, bhi)):
            c = a * b
            c = np.where(np.isnan(c), 0.0, c)
            ex = _prod_exact(a, b, c)
            los.append(np.where(ex, c, R.down(c)))
            his.append(np.where(ex, c, R.up(c)))
    lo = np.minimum(np.minimum(los[0], los[1]), np.minimum(los[2], los[3]))
    hi = np.maximum(np.maximum(his[0], his[1]), np.maximum(his[2], his[3]))
    return lo, hi


def mul_fast(alo, ahi, blo, bhi) -> Pair:
    """Product of two intervals, every corner widened by one step (for Jacobians, where an ulp is nothing)."""
    with np.errstate(invalid="ignore", over="ignore", under="ignore"):
        c1, c2, c3, c4 = alo * blo, alo * bhi, ahi * blo, ahi * bhi
    c1, c2, c3, c4 = (np.where(np.isnan(c), 0.0, c) for c in (c1, c2, c3, c4))
    return R.down(np.minimum(np.minimum(c1, c2), np.minimum(c3, c4))), \
        R.up(np.maximum(np.maximum(c1, c2), np.maximum(c3, c4)))


def scale(lo, hi, c) -> Pair:
    """An interval times exact constants `c`."""
    with np.errstate(invalid="ignore", over="ignore"):
        a, b = lo * c, hi * c
    a, b = np.where(np.isnan(a), 0.0, a), np.where(np.isnan(b), 0.0, b)
    return R.outward(np.minimum(a, b), np.maximum(a, b))


def recip(lo, hi) -> Pair:
    """1 / x; the whole line when x may be 0."""
    zero = (lo <= 0) & (hi >= 0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        a, b = 1.0 / hi, 1.0 / lo
    a, b = R.outward(a, b)
    return np.where(zero, -np.inf, a), np.where(zero, np.inf, b)


def div(alo, ahi, blo, bhi) -> Pair:
    """a / b; the whole line when b may be 0."""
    zero = (blo <= 0) & (bhi >= 0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        cs = [alo / blo, alo / bhi, ahi / blo, ahi / bhi]
    lo = np.min(np.stack(np.broadcast_arrays(*[np.where(np.isnan(c), -np.inf, c) for c in cs])), axis=0)
    hi = np.max(np.stack(np.broadcast_arrays(*[np.where(np.isnan(c), np.inf, c) for c in cs])), axis=0)
    lo, hi = R.outward(lo, hi)
    return np.where(zero, -np.inf, lo), np.where(zero, np.inf, hi)


def square(lo, hi) -> Pair:
    mig = np.where((lo <= 0) & (hi >= 0), 0.0, np.minimum(np.abs(lo), np.abs(hi)))
    mag = np.maximum(np.abs(lo), np.abs(hi))
    with np.errstate(over="ignore"):
        return R.outward(mig * mig, mag * mag)


def exp(lo, hi) -> Pair:
    with np.errstate(over="ignore", under="ignore"):
        a, b = R.widen_ulps(np.exp(lo), np.exp(hi), R.ulps("exp", R.F64))
    return np.maximum(a, 0.0), b


def log(lo, hi) -> Pair:
    """log x for x ≥ 0 (negative parts are ignored: the caller marks NaN)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        a, b = np.log(np.maximum(lo, 0.0)), np.log(np.maximum(hi, 0.0))
    return R.widen_ulps(a, b, R.ulps("log", R.F64))


def hull(alo, ahi, blo, bhi) -> Pair:
    return np.minimum(alo, blo), np.maximum(ahi, bhi)


def mag(lo, hi) -> np.ndarray:
    return np.maximum(np.abs(lo), np.abs(hi))


def sum_axis(lo: np.ndarray, hi: np.ndarray, axis: int | tuple[int, ...], keepdims: bool,
             dtype: np.dtype) -> Pair:
    """Σ along `axis`, enclosing the exact sum and any float summation of it in `dtype` (γ_{n−1} Σ|x|)."""
    axes = axis if isinstance(axis, tuple) else (axis,)
    n = int(np.prod([lo.shape[a] for a in axes])) if axes else 1
    # The float sum of actual terms x is within γ Σ|x| of the exact one, and x − γ|x| increases with x:
    # the lowest float sum is at the lower ends, the highest at the upper ends.
    g = R.gamma(n - 1, np.dtype(np.float64)) + R.gamma(n - 1, dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        s_lo = lo.sum(axis=axis, keepdims=keepdims)
        s_hi = hi.sum(axis=axis, keepdims=keepdims)
        e_lo = g * np.abs(lo).sum(axis=axis, keepdims=keepdims)
        e_hi = g * np.abs(hi).sum(axis=axis, keepdims=keepdims)
        return _fix(*R.outward(s_lo - e_lo, s_hi + e_hi))
