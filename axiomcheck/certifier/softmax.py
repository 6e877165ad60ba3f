"""The softmax and x / Σx rules: tight enclosures of a normalization as a whole, with their float error.

softmax through logit differences: p_k = 1 / Σ_j exp(z_j − z_k) is increasing
in z_k and decreasing in every other z_j, so on a box of logits it is exact at
the corners; its Jacobian is p_k Σ_j p_j (J_k − J_j).  The float result the
operator computes, w̃_k = fl(ẽ_k / fl(Σ ẽ_j)) with ẽ_j = exp(fl(z_j − m)), lies
within a relative ε of the exact one:

    ε = 2uΔ  (the shift z − m rounded, Δ = the largest |z − m|)
      + 4uk  (exp in numerator and denominator, k ulps each)
      + u + γ_{K−1}  (the division and the sum),

u the unit roundoff of the dtype the operator computes in.  An argument of exp
below log(smallest normal) may underflow (to a subnormal or to 0.0 with flush
to zero): the weights there get a lower bound of 0, never a positive one.

x / Σx of x ≥ 0 is increasing in x_k and decreasing in the others; its float
error is u + γ_{K−1}.  Both rules prove Σ_k w̃_k ∈ [(1 − u)/(1 + γ), (1 + u)/(1 − γ)]
(the `norm` tag) and bound every difference w̃_a − w̃_b from below (`order`).
"""

from __future__ import annotations

import numpy as np

from . import ivmath as iv
from . import rounding as R
from .facts import _index_probe, pair_lower
from .interval import Interval

MAX_ORDER_K = 16


def _norm_tag(shape: tuple[int, ...], ax: int, dtype: np.dtype) -> dict:
    k = shape[ax]
    u, g = R.eps(dtype), R.gamma(k - 1, dtype)
    tiny = k * R._tiny(dtype)
    slo = R.down(np.full(shape, (1.0 - u) / (1.0 + g) - tiny))
    shi = R.up(np.full(shape, (1.0 + u) / (1.0 - g) + tiny))
    return {"probe": _index_probe(shape, ax), "slo": slo, "shi": shi}


def _widen_rel(lo: np.ndarray, hi: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    return R.down(lo * (1.0 - eps)), R.up(hi * (1.0 + eps))


def _order_tag(zl: np.ndarray, zh: np.ndarray, wlo: np.ndarray, whi: np.ndarray, ymag: np.ndarray | None,
               dtype: np.dtype, shape: tuple[int, ...], ax: int) -> dict | None:
    """Lower bounds on the float difference w̃_a − w̃_b (last axis = the softmax axis).

    Both weights share the float denominator s̃, and rounding is monotone, so
    w̃_a − w̃_b ≥ (ẽ_a − ẽ_b)/s̃ − u (w̃_a + w̃_b), and ẽ_a − ẽ_b ≥ ẽ_b/(1 + η) · (e^{d}(1 − η) − (1 + η))
    with η the exp's error and d a lower bound on the difference of the float exp arguments
    (z_a − z_b, less the rounding of the shift by `ymag` when the arguments were shifted).
    """
    k = zl.shape[-1]
    if k > MAX_ORDER_K:
        return None
    u = R.eps(dtype)
    eta = 2.0 * u * R.ulps("exp", dtype) * 1.01
    D = {}
    with np.errstate(invalid="ignore", over="ignore"):
        for a in range(k):
            for b in range(k):
                if a == b:
                    continue
                d = R.down(zl[..., a] - zh[..., b])
                if ymag is not None:
                    d = R.down(d - 1.01 * u * (ymag[..., a] + ymag[..., b]))
                e_lo, _ = iv.exp(d, d)
                factor = R.down(R.down(e_lo * (1.0 - eta)) - (1.0 + eta))
                q = np.where(factor >= 0, R.down(factor * wlo[..., b] * (1 - 2 * u)),
                             R.down(factor * whi[..., b] * (1 + 2 * u)))
                slack = R.up(1.01 * u * (whi[..., a] + whi[..., b]))
                low = np.where(q >= 0, np.maximum(0.0, R.down(q - slack)), R.down(q - slack))
                low = np.where(np.isnan(low), -np.inf, low)
                D[(a, b)] = np.broadcast_to(np.expand_dims(low, ax), shape)
    return {"probe": _index_probe(shape, ax), "D": D}


def softmax_rule(z: Interval, y: Interval, ax: int, dtype: np.dtype) -> Interval | None:
    """exp(y) / Σ exp(y) along `ax`, where y = z − (something constant along ax) or y = z."""
    if z.nan is not None or y.nan is not None:
        return None
    shape = y.shape
    zl, zh = np.moveaxis(z.lo, ax, -1), np.moveaxis(z.hi, ax, -1)
    k = zl.shape[-1]
    with np.errstate(invalid="ignore", over="ignore"):
        dl = R.down(zl[..., :, None] - zh[..., None, :])  # [.., j, k]: z_j − z_k, lower
        dh = R.up(zh[..., :, None] - zl[..., None, :])
    eye = np.eye(k, dtype=bool)
    dl, dh = np.where(eye, 0.0, dl), np.where(eye, 0.0, dh)
    dl, dh = np.where(np.isnan(dl), -np.inf, dl), np.where(np.isnan(dh), np.inf, dh)
    elo, _ = iv.exp(dl, dl)
    _, ehi = iv.exp(dh, dh)
    s_lo, _ = iv.sum_axis(elo, elo, -2, False, np.dtype(np.float64))
    _, s_hi = iv.sum_axis(ehi, ehi, -2, False, np.dtype(np.float64))
    plo, _ = iv.recip(s_hi, s_hi)
    _, phi = iv.recip(s_lo, s_lo)
    plo, phi = np.clip(plo, 0.0, 1.0), np.clip(phi, 0.0, 1.0)
    u = R.eps(dtype)
    kexp = R.ulps("exp", dtype)
    delta = float(np.max(np.moveaxis(y.mag(), ax, -1), initial=0.0)) if z is not y else 0.0
    eps = 1.1 * (2 * u * delta + 4 * u * kexp + u) + R.gamma(k - 1, dtype)
    wlo, whi = _widen_rel(plo, phi, eps)
    # exp arguments that may underflow: no positive lower bound there
    ylo = np.moveaxis(np.broadcast_to(y.lo, shape), ax, -1)
    under = ylo < np.log(R._tiny(dtype)) + 1.0
    wlo = np.where(under, 0.0, wlo)
    whi = whi + np.where(under.any(axis=-1, keepdims=True), k * R._tiny(dtype), 0.0)
    wlo, whi = R.to_dtype(np.moveaxis(wlo, -1, ax), np.moveaxis(np.minimum(whi, 1.0), -1, ax), dtype)
    jlo = jhi = None
    if z.jlo is not None:
        Jl, Jh = np.moveaxis(z.jlo, ax, -2), np.moveaxis(z.jhi, ax, -2)  # [.., K, n]
        Dl, Dh = iv.sub(Jl[..., :, None, :], Jh[..., :, None, :], Jl[..., None, :, :], Jh[..., None, :, :])  # [k, j]
        Pl, Ph = plo[..., None, :, None], phi[..., None, :, None]  # p_j
        Sl, Sh = iv.mul_fast(Pl, Ph, Dl, Dh)
        Sl, Sh = iv.sum_axis(Sl, Sh, -2, False, np.dtype(np.float64))  # Σ_j -> [.., k, n]
        Ml, Mh = iv.mul_fast(plo[..., :, None], phi[..., :, None], Sl, Sh)
        jlo, jhi = np.moveaxis(Ml, -2, ax), np.moveaxis(Mh, -2, ax)
    hlo = hhi = None
    if z.jlo is not None and z.hlo is not None and y.trace.second:
        hlo, hhi = _softmax_hessian(z, ax, plo, phi)
    tags = {"norm": _norm_tag(shape, ax, dtype), "softmax": (z, ax)}
    ymag = np.moveaxis(np.broadcast_to(y.mag(), shape), ax, -1) if z is not y else None
    order = None if not y.trace.want_order else \
        _order_tag(zl, zh, np.moveaxis(wlo, ax, -1), np.moveaxis(whi, ax, -1), ymag, dtype, shape, ax)
    if order is not None:
        tags["order"] = order
    return Interval(wlo, whi, jlo, jhi, dtype=dtype, trace=y.trace, rowdep=y.rowdep or z.rowdep, tags=tags,
                    hlo=hlo, hhi=hhi)


def _softmax_hessian(z: Interval, ax: int, plo: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """H(p_k) = p_k [Σ_a p_a (H_k − H_a) + 2 E Eᵀ − Σ_a p_a D_a D_aᵀ], D_a = J_k − J_a, E = Σ_a p_a D_a
    (the softmax's second derivatives written through differences, which keep the dependency small)."""
    Jl, Jh = np.moveaxis(z.jlo, ax, -2), np.moveaxis(z.jhi, ax, -2)  # [.., K, n]
    Hl, Hh = np.moveaxis(z.hlo, ax, -3), np.moveaxis(z.hhi, ax, -3)  # [.., K, n, n]
    Dl, Dh = iv.sub(Jl[..., :, None, :], Jh[..., :, None, :], Jl[..., None, :, :], Jh[..., None, :, :])  # [k, a, n]
    pa_l, pa_h = plo[..., None, :, None], phi[..., None, :, None]  # p_a
    El, Eh = iv.sum_axis(*iv.mul_fast(pa_l, pa_h, Dl, Dh), -2, False, np.dtype(np.float64))  # [k, n]
    EE = iv.mul_fast(El[..., :, None], Eh[..., :, None], El[..., None, :], Eh[..., None, :])  # [k, n, n]
    DD = iv.mul_fast(Dl[..., :, None], Dh[..., :, None], Dl[..., None, :], Dh[..., None, :])  # [k, a, n, n]
    pDD = iv.sum_axis(*iv.mul_fast(pa_l[..., None], pa_h[..., None], *DD), -3, False, np.dtype(np.float64))
    dH = iv.sub(Hl[..., :, None, :, :], Hh[..., :, None, :, :], Hl[..., None, :, :, :], Hh[..., None, :, :, :])
    pdH = iv.sum_axis(*iv.mul_fast(pa_l[..., None], pa_h[..., None], *dH), -3, False, np.dtype(np.float64))
    inner = iv.sub(*iv.add(*pdH, *iv.scale(*EE, 2.0)), *pDD)
    out = iv.mul_fast(plo[..., :, None, None], phi[..., :, None, None], *inner)
    lo, hi = (np.where(np.isnan(a), fill, a) for a, fill in zip(out, (-np.inf, np.inf)))
    return np.moveaxis(lo, -3, ax), np.moveaxis(hi, -3, ax)


def ratio_rule(A: Interval, ax: int, dtype: np.dtype) -> Interval | None:
    """x / Σx along `ax` for x ≥ 0: exact at the corners."""
    shape = A.shape
    al, ah = np.moveaxis(A.lo, ax, -1), np.moveaxis(A.hi, ax, -1)
    k = al.shape[-1]
    off = ~np.eye(k, dtype=bool)
    ol, _ = iv.sum_axis(np.where(off, al[..., None, :], 0.0), np.where(off, al[..., None, :], 0.0), -1, False,
                        np.dtype(np.float64))
    _, oh = iv.sum_axis(np.where(off, ah[..., None, :], 0.0), np.where(off, ah[..., None, :], 0.0), -1, False,
                        np.dtype(np.float64))
    _, den_hi = iv.add(al, al, oh, oh)
    den_lo, _ = iv.add(ah, ah, ol, ol)
    with np.errstate(invalid="ignore", divide="ignore"):
        wlo, _ = iv.div(al, al, den_hi, den_hi)
        _, whi = iv.div(ah, ah, den_lo, den_lo)
    wlo = np.where(np.isfinite(wlo), np.clip(wlo, 0.0, 1.0), 0.0)
    whi = np.where(np.isfinite(whi), np.clip(whi, 0.0, 1.0), 1.0)
    u = R.eps(dtype)
    eps = 1.1 * u + R.gamma(k - 1, dtype)
    xlo, xhi = _widen_rel(wlo, whi, eps)
    xlo, xhi = R.to_dtype(np.moveaxis(xlo, -1, ax), np.moveaxis(np.minimum(xhi, 1.0), -1, ax), dtype)
    S = iv.sum_axis(al, ah, -1, True, np.dtype(np.float64))
    jlo = jhi = None
    if A.jlo is not None:
        Jl, Jh = np.moveaxis(A.jlo, ax, -2), np.moveaxis(A.jhi, ax, -2)
        Tl, Th = iv.sum_axis(Jl, Jh, -2, True, np.dtype(np.float64))
        Ul, Uh = iv.mul_fast(wlo[..., None], whi[..., None], Tl, Th)
        Vl, Vh = iv.sub(Jl, Jh, Ul, Uh)
        rl, rh = iv.recip(*S)
        Ml, Mh = iv.mul_fast(Vl, Vh, rl[..., None], rh[..., None])
        jlo, jhi = np.moveaxis(Ml, -2, ax), np.moveaxis(Mh, -2, ax)
    tags = {"norm": _norm_tag(shape, ax, dtype)}
    if k <= MAX_ORDER_K and A.trace.want_order:
        D = {}
        for a in range(k):
            for b in range(k):
                if a != b:
                    d = pair_lower(A, ax, a, b)
                    q = np.where(d >= 0, d / S[1][..., 0], d / S[0][..., 0])
                    q = R.down(q - eps * (whi[..., a] + whi[..., b]) * 1.01)
                    D[(a, b)] = np.broadcast_to(np.expand_dims(np.where(np.isnan(q), -np.inf, q), ax), shape)
        tags["order"] = {"probe": _index_probe(shape, ax), "D": D}
    return Interval(xlo, xhi, jlo, jhi, dtype=dtype, trace=A.trace, rowdep=A.rowdep, tags=tags)


def saturating_rule(A: Interval, c: Interval, shape: tuple[int, ...], dtype: np.dtype) -> Interval | None:
    """x / (x + c) for x ≥ 0 and a constant c ≥ 0 (the squash ℓ/(1 + ℓ)): increasing in x, exact at the ends.

    The float result fl(x / fl(x + c)) is within a factor (1 ± 2u) of the exact one; the derivative
    c / (x + c)² is decreasing in x.
    """
    if A.nan is not None or np.any(A.lo < 0) or c.nan is not None:
        return None
    x_lo, x_hi = np.broadcast_to(A.lo, shape), np.broadcast_to(A.hi, shape)
    cc = np.broadcast_to(c.lo, shape)
    d_lo, _ = iv.add(x_lo, x_lo, cc, cc)
    _, d_hi = iv.add(x_hi, x_hi, cc, cc)
    if np.any(d_lo <= 0):
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        lo, _ = iv.div(x_lo, x_lo, d_lo, d_lo)  # at the lower end (the denominator there is x_lo + c)
        _, hi = iv.div(x_hi, x_hi, d_hi, d_hi)
    u = R.eps(dtype)
    lo, hi = R.down(lo * (1 - 2.1 * u)), R.up(np.minimum(hi * (1 + 2.1 * u), 1.0 + 4 * u))
    lo, hi = np.where(np.isfinite(x_hi), lo, 0.0), np.where(np.isfinite(x_hi), hi, 1.0)
    lo, hi = R.to_dtype(np.maximum(lo, 0.0), hi, dtype)
    jlo = jhi = None
    if A.jlo is not None:
        s_lo, _ = iv.square(d_hi, d_hi)
        _, s_hi = iv.square(d_lo, d_lo)
        g_lo, _ = iv.div(cc, cc, s_hi, s_hi)  # c / (x + c)² at the upper end: the smallest slope
        _, g_hi = iv.div(cc, cc, s_lo, s_lo)
        jlo, jhi = iv.mul_fast(g_lo[..., None], g_hi[..., None], A.jlo, A.jhi)
    return Interval(lo, hi, jlo, jhi, dtype=dtype, trace=A.trace, rowdep=A.rowdep)
