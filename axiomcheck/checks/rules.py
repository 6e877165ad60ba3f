"""What a weight vector must satisfy: one definition per rule, shared by the checker and both weight guards.

`verify()` (through `axiomcheck.checks.properties`), the JAX weight guard
(`axiomcheck.kernels.guard_update`) and the PyTorch one (`axiomcheck.torch_guard`)
decide with these functions, so a weight vector that one of them calls a
violation is one the others call a violation.  Each rule is written once, in
array operators and in names numpy, `jax.numpy` and `torch` share (`minimum`,
`maximum`, `where`); only the reduction over the teacher axis has a form per
framework (`teacher_min`, `teacher_max`: numpy's and eager torch's own reductions,
an elementwise fold for JAX, which XLA:CPU runs many times faster, and for
`torch.compile`, which fuses it into its pass over the vectors), and min and max
are exact, so every form gives the same numbers.  `positivity_ok`, `bounds_ok` and
`finite_ok` are threshold tests, so applying them to each w_k and and-ing the
results decides exactly as applying them to (min_k w_k, max_k w_k) does; the JAX
guard does the former, which XLA:CPU runs faster.

The arithmetic, which makes those numbers the same in every framework:

* **compute dtype**: the weights' dtype widened to float32 at least (bfloat16 and
  float16 are compared in float32, float64 stays float64);
* **the sum** Σ_k w_k is a left fold in teacher order, ((w_0 + w_1) + w_2) + …;
* **the tolerance** is `ULPS` ulps of the weights' own dtype times K (`tolerance`);
* **thresholds** (w_min − tol, w_max + tol, tol, −tol) are computed in float64 on
  the host and rounded inward into the compute dtype (`limits`), so comparing in
  float32 decides as comparing the exact values would;
* **subnormal weights count as 0** (an underflow): XLA on the CPU flushes them to
  zero, so the thresholds are placed where a flushed and an unflushed comparison
  agree, and every framework decides alike;
* comparisons are written so that NaN breaks every rule it takes part in; ±inf
  breaks normalization and the bounds, −inf positivity too, and a teacher pair of
  equal infinities is ordered.

The rules, on a vector's sum `total` and its smallest and largest weight `vmin`, `vmax`:

| rule | holds when |
|---|---|
| normalized | \\|total − 1\\| ≤ tol |
| positive | vmin ≥ the smallest normal number (every w_k > 0 once flushed) |
| bounded | vmin ≥ w_min − tol and vmax ≤ w_max + tol |
| finite | vmin > −inf and vmax < +inf (no NaN, no ±inf) |
| safety-ordered | w_safer − w_less_safe ≥ −tol (0 when they are equal) |

>>> import numpy as np
>>> W = np.array([[0.5, 0.5], [0.7, 0.4]], np.float32)  # two vectors of K = 2
>>> lim = limits(tolerance(W.dtype, 2), (0.1, 0.9), W.dtype)
>>> normalization_ok(sum_error(teacher_sum(W, -1, np)), lim).tolist()
[True, False]
>>> bounds_ok(teacher_min(W, -1, np), teacher_max(W, -1, np), lim).tolist()
[True, True]
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import sys
from typing import Any

import numpy as np

__all__ = [
    "ULPS", "Limits", "bounds_ok", "compute_dtype", "finite_ok", "limits", "namespace", "normalization_ok",
    "order_margin", "order_ok", "positivity_ok", "sum_error", "teacher_max", "teacher_min", "teacher_sum", "tolerance",
]

#: The default tolerance, in ulps of the weights' dtype, per teacher.
ULPS = 8.0


# ----------------------------------------------------------------------------- on the host: dtypes and thresholds


def _torch_dtype(dtype: Any) -> Any:
    torch = sys.modules.get("torch")
    return dtype if torch is not None and isinstance(dtype, torch.dtype) else None


def _eps(dtype: Any) -> float | None:
    """Machine epsilon of a floating dtype (numpy, ml_dtypes such as bfloat16, JAX or torch); None otherwise."""
    tdt = _torch_dtype(dtype)
    if tdt is not None:
        import torch

        return float(torch.finfo(tdt).eps) if tdt.is_floating_point else None
    dt = np.dtype(dtype)
    if np.issubdtype(dt, np.floating):
        return float(np.finfo(dt).eps)
    if dt.kind == "V" and "float" in dt.name:  # bfloat16 and its kin, from ml_dtypes (installed with JAX)
        import ml_dtypes

        return float(ml_dtypes.finfo(dt).eps)
    return None


def tolerance(dtype: Any, teachers: int, factor: float = ULPS, fallback: Any = np.float64) -> float:
    """The default absolute tolerance: `factor` ulps of `dtype` (of `fallback` when `dtype` is not
    a floating type), times K.

    >>> tolerance(np.float32, 4) == 8 * 4 * float(np.finfo(np.float32).eps)
    True
    """
    eps = _eps(dtype)
    if eps is None:
        eps = _eps(fallback)
    if eps is None:
        raise ValueError(f"the fallback dtype of the tolerance must be a floating type, got {fallback!r}")
    return factor * eps * max(int(teachers), 1)


def compute_dtype(dtype: Any) -> np.dtype:
    """The numpy dtype the rules compare in for weights of `dtype`: float64 for float64, else float32.

    >>> compute_dtype(np.float16), compute_dtype(np.float64)
    (dtype('float32'), dtype('float64'))
    """
    tdt = _torch_dtype(dtype)
    if tdt is not None:
        import torch

        return np.dtype(np.float64 if tdt == torch.float64 else np.float32)
    dt = np.dtype(dtype)
    return np.dtype(np.float64) if dt == np.float64 else np.dtype(np.float32)


@dataclasses.dataclass(frozen=True)
class Limits:
    """The thresholds of the rules in one compute dtype, as Python floats that dtype holds exactly."""

    tol: float  # normalized: |total − 1| ≤ tol
    order: float  # safety-ordered: margin ≥ order (−tol)
    low: float  # bounded: vmin ≥ low (−inf without bounds)
    high: float  # bounded: vmax ≤ high (+inf without bounds)
    tiny: float  # positive: vmin ≥ tiny


def _rounded(x: float, dt: np.dtype, up: bool) -> float:
    """`x` rounded to a value of `dt`: the smallest ≥ x (up) or the largest ≤ x."""
    if math.isnan(x) or math.isinf(x):
        return x
    with np.errstate(over="ignore"):
        v = dt.type(x)
    if up and float(v) < x:
        v = np.nextafter(v, dt.type(np.inf))
    elif not up and float(v) > x:
        v = np.nextafter(v, dt.type(-np.inf))
    return float(v)


def _at_least(x: float, dt: np.dtype) -> float:
    """The threshold c of `w ≥ x` in `dt`, with subnormal w counted as 0 (flushed or not, c decides alike)."""
    c, tiny = _rounded(x, dt, up=True), float(np.finfo(dt).tiny)
    if 0 < c < tiny:  # only normal w ≥ tiny are above a positive subnormal threshold
        return tiny
    if -tiny < c <= 0:  # every w > −tiny (0 once flushed) is above: the largest negative subnormal
        return float(np.nextafter(dt.type(-tiny), dt.type(0)))
    return c


def _at_most(x: float, dt: np.dtype) -> float:
    """The threshold c of `w ≤ x` in `dt`, with subnormal w counted as 0."""
    c, tiny = _rounded(x, dt, up=False), float(np.finfo(dt).tiny)
    if -tiny < c < 0:  # only normal w ≤ −tiny are below a negative subnormal threshold
        return -tiny
    if 0 <= c < tiny:  # every w < tiny (0 once flushed) is below: the largest positive subnormal
        return float(np.nextafter(dt.type(tiny), dt.type(0)))
    return c


@functools.lru_cache(maxsize=256)
def _limits(tol: float, bounds: tuple[float, float] | None, name: str) -> Limits:
    dt = np.dtype(name)
    low, high = (-math.inf, math.inf) if bounds is None else (_at_least(bounds[0] - tol, dt),
                                                              _at_most(bounds[1] + tol, dt))
    return Limits(tol=_at_most(tol, dt), order=_at_least(-tol, dt), low=low, high=high,
                  tiny=float(np.finfo(dt).tiny))


def limits(tol: float, bounds: tuple[float, float] | None, dtype: Any) -> Limits:
    """The thresholds for tolerance `tol` and declared `bounds` (or None) when weights of `dtype`
    are compared (in `compute_dtype(dtype)`).

    >>> limits(0.0, (0.0, 1.0), np.float32).low < 0  # a subnormal −1e-40 counts as 0, which is ≥ 0
    True
    """
    b = None if bounds is None else (float(bounds[0]), float(bounds[1]))
    return _limits(float(tol), b, compute_dtype(dtype).name)


# ----------------------------------------------------------------------------- on the arrays: one form for all


def namespace(x: Any) -> Any:
    """The array namespace of `x`: `torch` for a tensor, `jax.numpy` for a JAX array, else numpy."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(x, torch.Tensor):
        return torch
    jax = sys.modules.get("jax")
    if jax is not None and isinstance(x, jax.Array):
        return jax.numpy
    return np


def _widened(x: Any, xp: Any) -> Any:
    """`x` in the compute dtype (no copy when it is already float32 or float64)."""
    if xp.__name__ == "torch":
        return x.to(xp.promote_types(x.dtype, xp.float32))
    if xp is np:
        return x.astype(compute_dtype(x.dtype), copy=False)
    return x.astype(xp.promote_types(x.dtype, xp.float32))


def _quiet(xp: Any) -> Any:
    """No numpy warning for what the rules expect: inf − inf, an overflowing sum."""
    return np.errstate(invalid="ignore", over="ignore") if xp is np else contextlib.nullcontext()


def _slices(x: Any, axis: int) -> list[Any]:
    k = x.shape[axis]
    return [x[(slice(None),) * (axis % x.ndim) + (i,)] for i in range(k)]


def teacher_sum(x: Any, axis: int, xp: Any) -> Any:
    """Σ_k w_k over `axis` in the compute dtype, a left fold in teacher order (the same rounding everywhere)."""
    ws = _slices(x, axis)
    if xp.__name__ == "torch":  # in place: one temporary, not K − 1 (the same additions, in the same order)
        total = ws[0].to(xp.promote_types(ws[0].dtype, xp.float32), copy=True)
        for w in ws[1:]:
            total.add_(w)
        return total
    total = _widened(ws[0], xp)
    with _quiet(xp):
        for w in ws[1:]:
            total = total + w
    return total


def teacher_min(x: Any, axis: int, xp: Any) -> Any:
    """min_k w_k over `axis`, NaN if any w_k is NaN, in the compute dtype."""
    if xp is np:
        low = np.min(x, axis=axis)
    elif xp.__name__ == "torch" and not xp.compiler.is_compiling():
        low = x.amin(dim=axis)
    else:  # JAX, and torch.compile: an elementwise fold fuses into the pass over the vectors
        low = functools.reduce(xp.minimum, _slices(x, axis))
    return _widened(low, xp)


def teacher_max(x: Any, axis: int, xp: Any) -> Any:
    """max_k w_k over `axis`, NaN if any w_k is NaN, in the compute dtype."""
    if xp is np:
        high = np.max(x, axis=axis)
    elif xp.__name__ == "torch" and not xp.compiler.is_compiling():
        high = x.amax(dim=axis)
    else:
        high = functools.reduce(xp.maximum, _slices(x, axis))
    return _widened(high, xp)


def sum_error(total: Any) -> Any:
    """|Σ_k w_k − 1|, from the `teacher_sum`."""
    return abs(total - 1.0)


def normalization_ok(err: Any, lim: Limits) -> Any:
    """Σ_k w_k = 1 within the tolerance, from the `sum_error` (False on NaN and ±inf)."""
    return err <= lim.tol


def positivity_ok(vmin: Any, lim: Limits) -> Any:
    """Every w_k > 0, a subnormal weight counting as 0 (False on NaN and −inf)."""
    return vmin >= lim.tiny


def bounds_ok(vmin: Any, vmax: Any, lim: Limits) -> Any:
    """w_min − tol ≤ w_k ≤ w_max + tol for every k (False on NaN and ±inf)."""
    return (vmin >= lim.low) & (vmax <= lim.high)


def finite_ok(vmin: Any, vmax: Any) -> Any:
    """No NaN and no ±inf among the K weights."""
    return (vmin > -math.inf) & (vmax < math.inf)


def order_margin(safer: Any, less_safe: Any, xp: Any) -> Any:
    """w_safer − w_less_safe in the compute dtype, 0 where the two are equal (so that inf against inf
    is ordered, not NaN)."""
    a, b = _widened(safer, xp), _widened(less_safe, xp)
    with _quiet(xp):
        return xp.where(a == b, 0.0, a - b)


def order_ok(margin: Any, lim: Limits) -> Any:
    """w_safer ≥ w_less_safe − tol, from their `order_margin` (False on NaN)."""
    return margin >= lim.order
