"""The log-softmax and log-sum-exp rules, through logit differences like the softmax rule.

* log-softmax y − log Σ exp(y) along an axis, y = z − m with m constant along
  it (`jax.nn.log_softmax`, the numpy idiom): log p_k = −log Σ_j exp(z_j − z_k),
  decreasing in every z_j − z_k, exact at the corners; its Jacobian is
  Σ_j p_j (J_k − J_j);
* log-sum-exp log Σ exp(z − m) + m with m = max z: increasing in every z_j, so
  [LSE(z_lo), LSE(z_hi)]; its Jacobian is Σ_j p_j J_j.

The float results differ from the exact ones by an absolute δ: the shift
(u |y|), exp and the sum inside the log (a relative 2uk + γ_{K−1}, so an
absolute one after the log), the log itself (its ulps of |log s|) and the last
addition or subtraction (u of the result).
"""

from __future__ import annotations

import numpy as np

from . import ivmath as iv
from . import rounding as R
from .interval import Interval


def _pattern(L: Interval, y: Interval) -> tuple[Interval, int, Interval] | None:
    """(z, axis, the exp arguments) when L = log Σ_ax exp(y') with y' the same shift of z as y (or y itself)."""
    s = L.tags.get("log_of")
    if s is None or "sum" not in s.tags:
        return None
    tag = s.tags["sum"]
    e, ax = tag["src"], tag["ax"]
    y2 = e.tags.get("exp_of")
    if y2 is None:
        return None
    if y2 is not y:
        a, b = y.tags.get("shift"), y2.tags.get("shift")
        if a is None or b is None or a[0] is not b[0] or a[1] is not b[1]:
            return None
    shift = y2.tags.get("shift")
    z = y2
    if shift is not None:
        base, m = shift
        mshape = (1,) * (y2.ndim - m.ndim) + m.shape
        if base.shape == y2.shape and len(mshape) == y2.ndim and mshape[ax] == 1:
            z = base
    if z.nan is not None or not (np.all(np.isfinite(z.lo)) and np.all(np.isfinite(z.hi))):
        return None
    return z, ax, y2


def _differences(z: Interval, ax: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Along the last axis: lower and upper Σ_j exp(z_j − z_k), and the enclosure of p_k."""
    zl, zh = np.moveaxis(z.lo, ax, -1), np.moveaxis(z.hi, ax, -1)
    k = zl.shape[-1]
    eye = np.eye(k, dtype=bool)
    dl = np.where(eye, 0.0, R.down(zl[..., :, None] - zh[..., None, :]))
    dh = np.where(eye, 0.0, R.up(zh[..., :, None] - zl[..., None, :]))
    s_lo, _ = iv.sum_axis(*iv.exp(dl, dl), -2, False, np.dtype(np.float64))
    _, s_hi = iv.sum_axis(*iv.exp(dh, dh), -2, False, np.dtype(np.float64))
    plo, _ = iv.recip(s_hi, s_hi)
    _, phi = iv.recip(s_lo, s_lo)
    return s_lo, s_hi, np.clip(plo, 0, 1), np.clip(phi, 0, 1)


def _delta(y: Interval, ax: int, dtype: np.dtype, result_mag: np.ndarray) -> np.ndarray:
    """The absolute float error allowance, in the layout of `result_mag` (the axis kept or dropped)."""
    u = R.eps(dtype)
    k = y.shape[ax]
    ymax = np.max(np.broadcast_to(y.mag(), y.shape), axis=ax, keepdims=True)
    if np.ndim(result_mag) < y.ndim:
        ymax = np.squeeze(ymax, ax)
    rel_s = 2 * u * ymax + 2 * u * R.ulps("exp", dtype) + R.gamma(k - 1, dtype)  # of the sum inside the log
    log_s = np.log(k) + ymax
    return 1.1 * (u * ymax + rel_s / (1 - rel_s) + 2 * u * R.ulps("log", dtype) * log_s + u * result_mag)


def log_softmax(A: Interval, B: Interval, out: Interval) -> None:
    """out = A − B with B = log Σ exp(A') (A' the same shift as A): tighten out to log p_k."""
    if A.shape != out.shape:
        return
    found = _pattern(B, A)
    if found is None:
        return
    z, ax, y = found
    s_lo, s_hi, plo, phi = _differences(z, ax)
    with np.errstate(divide="ignore"):
        lo, hi = -iv.log(s_hi, s_hi)[1], -iv.log(s_lo, s_lo)[0]
    lo, hi = np.moveaxis(lo, -1, ax), np.moveaxis(hi, -1, ax)
    d = _delta(y, ax, out.dtype, np.maximum(np.abs(lo), np.abs(hi)))
    lo, hi = R.to_dtype(R.down(lo - d), R.up(np.minimum(hi + d, 0.0 + d)), out.dtype)
    new_lo, new_hi = np.maximum(out.lo, lo), np.minimum(out.hi, hi)
    if np.any(new_lo > new_hi):
        return
    out.lo, out.hi = new_lo, new_hi
    if z.jlo is not None:  # Σ_j p_j (J_k − J_j)
        Jl, Jh = np.moveaxis(z.jlo, ax, -2), np.moveaxis(z.jhi, ax, -2)
        Dl, Dh = iv.sub(Jl[..., :, None, :], Jh[..., :, None, :], Jl[..., None, :, :], Jh[..., None, :, :])
        Sl, Sh = iv.sum_axis(*iv.mul_fast(plo[..., None, :, None], phi[..., None, :, None], Dl, Dh), -2, False,
                             np.dtype(np.float64))
        jl, jh = np.moveaxis(Sl, -2, ax), np.moveaxis(Sh, -2, ax)
        if out.jlo is not None and out.jlo.shape == jl.shape:
            jl, jh = np.maximum(out.jlo, jl), np.minimum(out.jhi, jh)
        if np.all(jl <= jh):
            out.jlo, out.jhi = jl, jh
            out.hlo = out.hhi = None


def log_sum_exp(L: Interval, M: Interval, out: Interval) -> None:
    """out = log Σ exp(z − m) + M with M = max z (the same values as m): LSE(z) at the corners."""
    shift_src = None
    s = L.tags.get("log_of")
    if s is None or "sum" not in s.tags:
        return
    e = s.tags["sum"]["src"]
    y = e.tags.get("exp_of")
    if y is None or "shift" not in y.tags:
        return
    shift_src = y.tags["shift"][0]
    tag = M.tags.get("max")
    if tag is None or tag["src"] is not shift_src or tag["ax"] != s.tags["sum"]["ax"]:
        return
    found = _pattern(L, y)
    if found is None:
        return
    z, ax, _ = found
    zl, zh = np.moveaxis(z.lo, ax, -1), np.moveaxis(z.hi, ax, -1)
    with np.errstate(over="ignore"):
        lo = np.max(zl, axis=-1) + np.log(np.exp(zl - np.max(zl, axis=-1, keepdims=True)).sum(axis=-1))
        hi = np.max(zh, axis=-1) + np.log(np.exp(zh - np.max(zh, axis=-1, keepdims=True)).sum(axis=-1))
    lo, hi = R.widen_ulps(lo, hi, 4 + zl.shape[-1])
    if out.ndim == z.ndim:
        lo, hi = np.expand_dims(lo, ax), np.expand_dims(hi, ax)
    if lo.shape != out.shape and np.broadcast_shapes(lo.shape, out.shape) != out.shape:
        return
    d = _delta(y, ax, out.dtype, np.maximum(np.abs(lo), np.abs(hi)))
    # twice δ: the operator's float evaluation and our own float64 one of the same formula at the corners
    lo, hi = R.to_dtype(R.down(lo - 2 * d), R.up(hi + 2 * d), out.dtype)
    new_lo, new_hi = np.maximum(out.lo, lo), np.minimum(out.hi, hi)
    if np.all(new_lo <= new_hi):
        out.lo, out.hi = new_lo, new_hi
