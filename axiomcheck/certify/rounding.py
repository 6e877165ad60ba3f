"""Outward rounding: every enclosure is widened so it holds for the exact result *and* the float one.

The interval core computes endpoints in float64 with numpy and then widens them:

* `+ − × ÷ sqrt` are correctly rounded (IEEE 754), so one step of `np.nextafter`
  outwards covers both the exact value and the float64 result of the operation;
* transcendental functions (exp, log, log1p, expm1, tanh, logistic, ...) are
  assumed accurate to `TRANSCENDENTAL_ULPS[dtype]` units in the last place of
  the dtype they run in: 4 ulps in float64 (numpy's own measure under 1.1 ulps
  on this machine), 16 ulps in float32 (XLA's float32 tanh, expm1 and log1p
  measure up to ~4.3 ulps, its clamp of tanh at |x| ≈ 7.9 included), 4 in half
  precision; `tests/test_certify_rounding.py` measures both against mpmath;
* a sum of n terms in any order (pairwise, BLAS, a fused multiply-add) is within
  γ_{n−1} Σ|x_i| of the exact sum, γ_k = k u / (1 − k u);
* each operation's enclosure is then rounded outwards to the dtype the
  operation runs in (`to_dtype`), so an underflow to 0.0 or an overflow to inf
  that a float32 operator really performs stays inside the enclosure; values
  below the smallest normal number may be flushed to zero (XLA on CPU does), so
  such an endpoint is moved to 0.0 (`flush`).

Endpoints are float64 arrays; the float32 grid is a subset of float64, so an
enclosure rounded to float32 is still held in float64 arrays.

>>> import numpy as np
>>> lo, hi = to_dtype(np.array([0.1]), np.array([0.1]), np.dtype(np.float32))
>>> bool(lo[0] < 0.1 < hi[0]), float(np.float32(lo[0])) == lo[0]
(True, True)
"""

from __future__ import annotations

import numpy as np

F64 = np.dtype(np.float64)
_TINY = {F64: float(np.finfo(np.float64).tiny)}

#: Accuracy assumed of a transcendental function, in ulps of the dtype it runs in.
TRANSCENDENTAL_ULPS = {"float64": 4.0, "float32": 16.0, "float16": 4.0, "bfloat16": 4.0}


def eps(dtype: np.dtype) -> float:
    """Unit roundoff u of a floating dtype (half the machine epsilon); that of float64 for anything else."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f" or dtype.name == "bfloat16":
        return float(np.finfo(dtype).eps) / 2.0
    return float(np.finfo(np.float64).eps) / 2.0


def is_float(dtype: np.dtype) -> bool:
    dtype = np.dtype(dtype)
    return dtype.kind == "f" or dtype.name == "bfloat16"


def gamma(n: int, dtype: np.dtype) -> float:
    """γ_n = n u / (1 − n u) for the dtype's unit roundoff u (0 for n ≤ 0), with 1 % to spare."""
    if n <= 0:
        return 0.0
    u = eps(dtype)
    return 1.01 * n * u / (1.0 - n * u)


def down(x: np.ndarray) -> np.ndarray:
    """The next float64 below each entry (−inf stays −inf; NaN stays NaN)."""
    return np.nextafter(x, -np.inf)


def up(x: np.ndarray) -> np.ndarray:
    """The next float64 above each entry."""
    return np.nextafter(x, np.inf)


def outward(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One float64 step outwards on each side (for a correctly rounded float64 result)."""
    return down(lo), up(hi)


def widen_ulps(lo: np.ndarray, hi: np.ndarray, ulps: float, dtype: np.dtype = F64) -> tuple[np.ndarray, np.ndarray]:
    """Widen by `ulps` units in the last place of `dtype` (relative to each endpoint), then one step."""
    u = 2.0 * eps(dtype) * ulps
    with np.errstate(invalid="ignore", over="ignore"):
        lo2 = lo - np.abs(lo) * u
        hi2 = hi + np.abs(hi) * u
    lo2 = np.where(np.isnan(lo2), lo, lo2)
    hi2 = np.where(np.isnan(hi2), hi, hi2)
    return down(lo2), up(hi2)


def flush(lo: np.ndarray, hi: np.ndarray, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Allow a result below the dtype's smallest normal number to be flushed to zero."""
    tiny = _tiny(dtype)
    lo = np.where((lo > 0) & (lo < tiny), 0.0, lo)
    hi = np.where((hi < 0) & (hi > -tiny), 0.0, hi)
    return lo, hi


def _tiny(dtype: np.dtype) -> float:
    dtype = np.dtype(dtype)
    if dtype not in _TINY:
        _TINY[dtype] = float(np.finfo(dtype).tiny) if is_float(dtype) else 0.0
    return _TINY[dtype]


def to_dtype(lo: np.ndarray, hi: np.ndarray, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """The enclosure rounded outwards to the grid of `dtype` (float64 endpoints; integers stay as they are).

    The float64 endpoints must already enclose the exact result; the result
    encloses every value the operation may return in `dtype`, including 0.0 for
    a flushed underflow and ±inf for an overflow.
    """
    dtype = np.dtype(dtype)
    if not is_float(dtype):
        return lo, hi
    if dtype != F64:
        with np.errstate(over="ignore", invalid="ignore"):
            lo_d = lo.astype(dtype)
            hi_d = hi.astype(dtype)
            lo_d = np.where(lo_d.astype(np.float64) > lo, np.nextafter(lo_d, dtype.type(-np.inf)), lo_d)
            hi_d = np.where(hi_d.astype(np.float64) < hi, np.nextafter(hi_d, dtype.type(np.inf)), hi_d)
        lo, hi = lo_d.astype(np.float64), hi_d.astype(np.float64)
    return flush(lo, hi, dtype)


def transcendental(lo: np.ndarray, hi: np.ndarray, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Widen float64 endpoints of a transcendental function computed by numpy, for an operator running in `dtype`.

    Our own float64 evaluation is within the float64 allowance of the exact
    value; the operator's own evaluation within the allowance of its dtype.
    """
    lo, hi = widen_ulps(lo, hi, TRANSCENDENTAL_ULPS["float64"])
    lo, hi = to_dtype(lo, hi, dtype)
    name = np.dtype(dtype).name
    if is_float(dtype):
        lo, hi = widen_ulps(lo, hi, TRANSCENDENTAL_ULPS.get(name, 16.0), dtype)
        lo, hi = to_dtype(lo, hi, dtype)
    return lo, hi
