"""Outward rounding: every enclosure is widened so it holds for the exact result *and* the float one.

The interval core computes endpoints in float64 with numpy and then widens them:

* `+ − × ÷ sqrt` are correctly rounded (IEEE 754), so one step of `np.nextafter`
  outwards covers both the exact value and the float64 result of the operation;
* transcendental functions are assumed accurate to `ulps(name, dtype)` units
  in the last place of the dtype they run in: in float64 (numpy) 2 ulps for
  exp, log, log1p and expm1 and 3 for tanh, arctan, sinh, arcsinh (measured
  here under 0.7 and 1.1 ulps), 4 for the rest; in float32 16 ulps (XLA's
  float32 tanh, expm1 and log1p measure up to ~4.3 ulps, its clamp of tanh at
  |x| ≈ 7.9 included); 4 in half precision.  Our own float64 evaluation gets
  the float64 allowance, the operator's evaluation the allowance of its dtype;
  `tests/test_certify_rounding.py` measures both against mpmath;
* a sum of n terms in any order (pairwise, BLAS, a fused multiply-add) is within
  γ_{n−1} Σ|x_i| of the exact sum, γ_k = k u / (1 − k u);
* each operation's enclosure is then rounded outwards to the dtype the
  operation runs in (`to_dtype`), so an underflow to 0.0 or an overflow to inf
  that a float32 operator really performs stays inside the enclosure; below
  float64, values under the smallest normal number may be flushed to zero
  (XLA on CPU does), so such an endpoint is moved to 0.0 (`flush`); float64
  arithmetic is assumed to keep IEEE 754's gradual underflow (numpy's default:
  no flush-to-zero mode set in the process).

Endpoints are float64 arrays; the float32 grid is a subset of float64, so an
enclosure rounded to float32 is still held in float64 arrays.

>>> import numpy as np
>>> lo, hi = to_dtype(np.array([0.1]), np.array([0.1]), np.dtype(np.float32))
>>> bool(lo[0] < 0.1 < hi[0]), bool(float(np.float32(lo[0])) == lo[0])
(True, True)
"""

from __future__ import annotations

import numpy as np

F64 = np.dtype(np.float64)
_TINY = {F64: float(np.finfo(np.float64).tiny)}

#: Accuracy assumed of a transcendental function, in ulps of the dtype it runs in (default per dtype).
TRANSCENDENTAL_ULPS = {"float64": 4.0, "float32": 16.0, "float16": 4.0, "bfloat16": 4.0}
#: Tighter float64 allowances for the functions numpy computes to well under an ulp.
FLOAT64_ULPS = {"exp": 2.0, "log": 2.0, "log1p": 2.0, "expm1": 2.0, "tanh": 3.0, "arctan": 3.0, "sinh": 3.0,
                "arcsinh": 3.0}


def ulps(name: str | None, dtype: np.dtype) -> float:
    """The accuracy assumed of function `name` computed in `dtype`, in ulps of that dtype."""
    dname = np.dtype(dtype).name
    if dname == "float64" and name in FLOAT64_ULPS:
        return FLOAT64_ULPS[name]
    return TRANSCENDENTAL_ULPS.get(dname, 16.0)


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
    """Allow a result below the dtype's smallest normal number to be flushed to zero (below float64)."""
    if np.dtype(dtype) == F64:
        return lo, hi
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


def transcendental(lo: np.ndarray, hi: np.ndarray, dtype: np.dtype, name: str | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Endpoints of a transcendental function computed by numpy in float64, widened to enclose the exact
    value and the operator's own evaluation in `dtype`, then rounded to that dtype."""
    lo, hi = widen_ulps(lo, hi, ulps(name, F64))  # our float64 evaluation
    lo, hi = to_dtype(lo, hi, dtype)
    if is_float(dtype):
        lo, hi = widen_ulps(lo, hi, ulps(name, dtype), dtype)  # the operator's
        lo, hi = to_dtype(lo, hi, dtype)
    return lo, hi
