"""Separable sums over the probability simplex, bounded by weak duality.

A per-teacher statistic such as the entropy is a sum over the vocabulary of
one function of each probability, T = Σ_v f_v(p_v), with p on the simplex
(Σ_v p_v = 1 within a slack δ, p_v in [lo_v, hi_v]).  Treating p as a box
forgets the constraint (the box gives H ≤ V/e, the simplex log V).  For any λ,

    T ≤ λ + |λ| δ + Σ_v max_{p ∈ [lo_v, hi_v]} (f_v(p) − λ p)      (weak duality)

and the same with min for a lower bound.  λ is chosen numerically (any λ is
sound); each one-dimensional max is bounded rigorously by evaluating the
chain of elementwise operations that built f (recorded while the operator
ran: the `sep` tag) on pieces of [lo_v, hi_v], taking for each piece the best
of interval evaluation, the mean-value form and monotonicity (from the
derivative enclosure), and refining the pieces that could hold the maximum.
An input the operator receives is a float: a probability is 0 or at least the
smallest positive float of its dtype, so 0 is evaluated on its own (where
`p > 0` is decided) and the pieces start above it.

The result is widened by the operator's own float summation error
(γ_{V−1} Σ_v |f_v|) and intersected with plain interval arithmetic.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ivmath as iv
from . import rounding as R
from .interval import Interval, Trace

PIECES = 8
LEVELS = 44
GOLDEN = 34
BISECT = 36


def _eval(fn: Any, a: np.ndarray, b: np.ndarray, dtype: np.dtype, jac: bool) -> tuple[Interval, Trace]:
    tr = Trace(rows=a.shape[0] if a.ndim else 1, n=1, guard=False, elementwise=a.shape)
    ones = np.ones(a.shape + (1,)) if jac else None
    q = Interval(a, b, ones, ones, dtype=dtype, trace=tr, rowdep=False)
    return fn(q), tr


def _point(fn: Any, p: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """A float estimate of f at points p (the middle of the enclosure)."""
    F, _ = _eval(fn, p, p, dtype, False)
    lo, hi = np.broadcast_to(F.lo, p.shape), np.broadcast_to(F.hi, p.shape)
    with np.errstate(invalid="ignore", over="ignore"):
        mid = np.where(np.isfinite(lo) & np.isfinite(hi), 0.5 * lo + 0.5 * hi, np.where(np.isfinite(lo), lo, hi))
    return np.where(F.may_nan(), -np.inf, mid)


def _argmax(fn: Any, lam: np.ndarray, lo: np.ndarray, hi: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Golden-section estimate of argmax_p f(p) − λ p on [lo, hi] (exact only for unimodal f; a heuristic)."""
    r = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = lo.copy(), hi.copy()
    c, d = b - r * (b - a), a + r * (b - a)
    fc, fd = _point(fn, c, dtype) - lam * c, _point(fn, d, dtype) - lam * d
    for _ in range(GOLDEN):
        left = fc >= fd
        a, b = np.where(left, a, c), np.where(left, d, b)
        c_new, d_new = b - r * (b - a), a + r * (b - a)
        fc2 = _point(fn, c_new, dtype) - lam * c_new
        fd2 = _point(fn, d_new, dtype) - lam * d_new
        c, d, fc, fd = c_new, d_new, fc2, fd2
    best = 0.5 * (a + b)
    ends = [(lo, _point(fn, lo, dtype) - lam * lo), (hi, _point(fn, hi, dtype) - lam * hi)]
    val = _point(fn, best, dtype) - lam * best
    for p, v in ends:
        better = v > val
        best, val = np.where(better, p, best), np.where(better, v, val)
    return best


def _lambda(fn: Any, lo: np.ndarray, hi: np.ndarray, ax: int, dtype: np.dtype) -> np.ndarray:
    """λ with Σ_v argmax_v(λ) ≈ 1 (bisection on a bracket found by doubling)."""
    shape = np.take(lo, [0], axis=ax).shape

    def excess(lam: np.ndarray) -> np.ndarray:
        return _argmax(fn, lam, lo, hi, dtype).sum(axis=ax, keepdims=True) - 1.0

    left, right = np.full(shape, -1.0), np.full(shape, 1.0)
    for _ in range(30):  # excess decreases in λ: want excess(left) ≥ 0 ≥ excess(right)
        el, er = excess(left), excess(right)
        if np.all(el >= 0) and np.all(er <= 0):
            break
        left = np.where(el < 0, left * 2.0, left)
        right = np.where(er > 0, right * 2.0, right)
    for _ in range(BISECT):
        mid = 0.5 * (left + right)
        e = excess(mid)
        left, right = np.where(e >= 0, mid, left), np.where(e >= 0, right, mid)
    return 0.5 * (left + right)


def sup_sum(fn: Any, lam: np.ndarray, lo: np.ndarray, hi: np.ndarray, ax: int, dtype: np.dtype) -> np.ndarray:
    """Σ_v of a rigorous upper bound on max_{p ∈ [lo_v, hi_v]} f_v(p) − λ p (keepdims along ax)."""
    tiny = float(np.nextafter(np.zeros((), dtype=dtype if np.dtype(dtype).kind == "f" else np.float64), 1))
    best = np.full(lo.shape, -np.inf)
    zero = lo <= 0
    if zero.any():
        F, tr = _eval(fn, np.zeros(lo.shape), np.zeros(lo.shape), dtype, False)
        z = np.broadcast_to(F.hi, lo.shape)
        z = np.where(tr.elem_bad, np.inf, z)
        best = np.where(zero, z, best)
    a0 = np.maximum(lo, tiny)
    b0 = np.maximum(hi, a0)
    empty = hi < tiny
    grid = np.linspace(0.0, 1.0, PIECES + 1).reshape((-1,) + (1,) * lo.ndim)
    edges = a0 + (b0 - a0) * grid
    edges[0], edges[-1] = a0, b0
    A, B = edges[:-1].copy(), edges[1:].copy()
    lam_b = np.broadcast_to(lam, lo.shape)
    dropped = np.full(lo.shape, -np.inf)
    for level in range(LEVELS):
        ub = _piece_upper(fn, A, B, lam_b, dtype)
        if level == LEVELS - 1:
            break
        order = np.argsort(-ub, axis=0)
        keep, drop = order[: PIECES // 2], order[PIECES // 2:]
        dropped = np.maximum(dropped, np.take_along_axis(ub, drop, axis=0).max(axis=0))
        Ak, Bk = np.take_along_axis(A, keep, axis=0), np.take_along_axis(B, keep, axis=0)
        M = 0.5 * Ak + 0.5 * Bk
        M = np.clip(M, Ak, Bk)
        A, B = np.concatenate([Ak, M]), np.concatenate([M, Bk])
    top = np.maximum(dropped, ub.max(axis=0))
    top = np.where(empty, -np.inf, top)
    best = np.maximum(best, top)
    total, _ = iv.sum_axis(best, best, ax, True, np.dtype(np.float64))
    return np.where(np.isnan(total), np.inf, total)


def _piece_upper(fn: Any, A: np.ndarray, B: np.ndarray, lam: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """An upper bound of f(p) − λ p on each piece [A, B]: interval, mean-value and monotone forms."""
    F, tr = _eval(fn, A, B, dtype, True)
    shape = A.shape
    flo, fhi = np.broadcast_to(F.lo, shape), np.broadcast_to(F.hi, shape)
    slo, shi = iv.scale(A, B, lam)
    _, natural = iv.sub(flo, fhi, slo, shi)
    if F.jlo is None:
        return natural
    dlo, dhi = iv.sub(np.broadcast_to(F.jlo[..., 0], shape), np.broadcast_to(F.jhi[..., 0], shape), lam, lam)
    M = np.clip(0.5 * A + 0.5 * B, A, B)
    Fm, trm = _eval(fn, M, M, dtype, False)
    ms, _ = iv.scale(M, M, lam)
    _, gm = iv.sub(np.broadcast_to(Fm.lo, shape), np.broadcast_to(Fm.hi, shape), ms, ms)
    r_left, r_right = R.up(M - A), R.up(B - M)
    with np.errstate(invalid="ignore", over="ignore"):
        reach = np.maximum(R.up(np.maximum(dhi, 0.0) * r_right), R.up(np.maximum(-dlo, 0.0) * r_left))
    mv = R.up(gm + reach)
    Fb, trb = _eval(fn, B, B, dtype, False)
    Fa, tra = _eval(fn, A, A, dtype, False)
    bs, _ = iv.scale(B, B, lam)
    as_, _ = iv.scale(A, A, lam)
    _, gb = iv.sub(np.broadcast_to(Fb.lo, shape), np.broadcast_to(Fb.hi, shape), bs, bs)
    _, ga = iv.sub(np.broadcast_to(Fa.lo, shape), np.broadcast_to(Fa.hi, shape), as_, as_)
    mono = np.where(dlo > 0, gb, np.where(dhi < 0, ga, np.inf))
    smooth = ~tr.elem_bad & ~trm.elem_bad & ~trb.elem_bad & ~tra.elem_bad
    out = np.where(smooth, np.minimum(natural, np.minimum(mv, mono)), natural)
    return np.where(np.isnan(out), np.inf, out)


def separable_sum(x: Interval, ax: int, keepdims: bool, out: Interval) -> None:
    """Tighten `out` = Σ_ax x, where x = f(p) elementwise for the simplex input p, by weak duality."""
    sep = x.tags["sep"]
    src = sep["src"]
    sim = src.tags.get("simplex")
    if sim is None or sim["ax"] != ax:
        return
    fn = sep["fn"]
    from .ops import negative

    def neg(q: Interval) -> Interval:
        return negative(fn(q))

    lo, hi, dtype, slack = src.lo, src.hi, src.dtype, float(sim["slack"])
    with np.errstate(all="ignore"):
        bounds = []
        for f in (fn, neg):
            cands = [_lambda(f, lo, hi, ax, dtype), np.zeros(np.take(lo, [0], axis=ax).shape)]
            best = None
            for lam in cands:
                s = sup_sum(f, lam, lo, hi, ax, dtype)
                val = R.up(R.up(s + lam) + np.abs(lam) * slack)
                best = val if best is None else np.minimum(best, val)
            bounds.append(best)
    upper, lower = bounds[0], -bounds[1]
    n = x.shape[ax]
    err = (R.gamma(n - 1, out.dtype) + R.gamma(n, np.dtype(np.float64))) * x.mag().sum(axis=ax, keepdims=True)
    lower, upper = R.down(lower - err), R.up(upper + err)
    if not keepdims:
        lower, upper = np.squeeze(lower, ax), np.squeeze(upper, ax)
    lower, upper = R.to_dtype(lower, upper, out.dtype)
    new_lo = np.where(np.isnan(lower), out.lo, np.maximum(out.lo, lower))
    new_hi = np.where(np.isnan(upper), out.hi, np.minimum(out.hi, upper))
    if np.all(new_lo <= new_hi):
        out.lo, out.hi = new_lo, new_hi
