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
from .ops import absolute, negative

PIECES = 8
LEVELS = 32
GRID = 33
ZOOM = 8
BISECT = 40
MAX_ENTRIES = 4096  # entries of one separable sum the rule is run on (beyond: plain interval arithmetic)
THIN = 1e-9  # probability boxes this narrow are left to plain interval arithmetic
NAN_SEEN: list[np.ndarray] = []  # whether f may be NaN, per entry, from the last evaluations on pieces


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
    """Estimate of argmax_p f(p) − λ p on [lo, hi] by zooming grids (a heuristic: only λ's choice uses it)."""
    grid = np.linspace(0.0, 1.0, GRID).reshape((-1,) + (1,) * lo.ndim)
    a, b = lo.copy(), hi.copy()
    best = a
    for _ in range(ZOOM):
        pts = a + (b - a) * grid
        vals = _point(fn, pts, dtype) - lam * pts
        i = np.argmax(np.where(np.isnan(vals), -np.inf, vals), axis=0)
        best = np.take_along_axis(pts, i[None], axis=0)[0]
        step = (b - a) / (GRID - 1)
        a, b = np.maximum(lo, best - step), np.minimum(hi, best + step)
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
    el, er = excess(left), excess(right)
    for it in range(BISECT):  # Illinois (regula falsi), every fourth step a bisection
        denom = el - er
        mid = np.where((it % 4 == 3) | (denom <= 0), 0.5 * (left + right),
                       left + el * (right - left) / np.where(denom > 0, denom, 1.0))
        mid = np.clip(mid, np.minimum(left, right), np.maximum(left, right))
        e = excess(mid)
        go_right = e >= 0
        left, el_new = np.where(go_right, mid, left), np.where(go_right, e, el * 0.5)
        right, er_new = np.where(go_right, right, mid), np.where(go_right, er * 0.5, e)
        el, er = np.where(go_right, e, el_new), np.where(go_right, er_new, e)
        if np.all(np.abs(right - left) <= 1e-10 * np.maximum(1.0, np.abs(left))):
            break
    return 0.5 * (left + right)


def sup_each(fn: Any, lam: np.ndarray, lo: np.ndarray, hi: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """A rigorous upper bound on max_{p ∈ [lo_v, hi_v]} f_v(p) − λ p for every entry."""
    tiny = float(np.nextafter(np.zeros((), dtype=dtype if np.dtype(dtype).kind == "f" else np.float64), 1))
    best = np.full(lo.shape, -np.inf)
    nan = np.zeros(lo.shape, bool)
    zero = lo <= 0
    if zero.any():
        F, tr = _eval(fn, np.zeros(lo.shape), np.zeros(lo.shape), dtype, False)
        z = np.broadcast_to(F.hi, lo.shape)
        z = np.where(tr.elem_bad, np.inf, z)
        best = np.where(zero, z, best)
        nan |= zero & np.broadcast_to(F.may_nan(), lo.shape)
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
        ub, pnan = _piece_upper(fn, A, B, lam_b, dtype)
        if level == 0:
            nan |= pnan.any(axis=0) & ~empty
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
    NAN_SEEN.append(nan)
    return np.where(np.isnan(best), np.inf, best)


def sup_sum(fn: Any, lam: np.ndarray, lo: np.ndarray, hi: np.ndarray, ax: int, dtype: np.dtype) -> np.ndarray:
    """Σ_v of `sup_each` (keepdims along ax), rounded up."""
    best = sup_each(fn, lam, lo, hi, dtype)
    _, total = iv.sum_axis(best, best, ax, True, np.dtype(np.float64))
    return np.where(np.isnan(total), np.inf, total)


def _piece_upper(fn: Any, A: np.ndarray, B: np.ndarray, lam: np.ndarray, dtype: np.dtype
                 ) -> tuple[np.ndarray, np.ndarray]:
    """An upper bound of f(p) − λ p on each piece [A, B] (interval, mean-value and monotone forms), and
    whether f may be NaN there."""
    F, tr = _eval(fn, A, B, dtype, True)
    shape = A.shape
    nan = np.broadcast_to(F.may_nan(), shape)
    flo, fhi = np.broadcast_to(F.lo, shape), np.broadcast_to(F.hi, shape)
    slo, shi = iv.scale(A, B, lam)
    _, natural = iv.sub(flo, fhi, slo, shi)
    if F.jlo is None:
        return natural, nan
    dlo, dhi = iv.sub(np.broadcast_to(F.jlo[..., 0], shape), np.broadcast_to(F.jhi[..., 0], shape), lam, lam)
    M = np.clip(0.5 * A + 0.5 * B, A, B)
    pts = np.concatenate([M, A, B])  # the three point evaluations in one call
    Fp, trp = _eval(fn, pts, pts, dtype, False)
    plo, phi = np.broadcast_to(Fp.lo, pts.shape), np.broadcast_to(Fp.hi, pts.shape)
    k = len(M)
    g = []
    for i, P in enumerate((M, A, B)):
        ps, _ = iv.scale(P, P, lam)
        g.append(iv.sub(plo[i * k:(i + 1) * k], phi[i * k:(i + 1) * k], ps, ps)[1])
    gm, ga, gb = g
    pbad = trp.elem_bad.reshape((3, k) + shape[1:]).any(axis=0)
    r_left, r_right = R.up(M - A), R.up(B - M)
    with np.errstate(invalid="ignore", over="ignore"):
        reach = np.maximum(R.up(np.maximum(dhi, 0.0) * r_right), R.up(np.maximum(-dlo, 0.0) * r_left))
    mv = R.up(gm + reach)
    mono = np.where(dlo > 0, gb, np.where(dhi < 0, ga, np.inf))
    smooth = ~tr.elem_bad & ~pbad
    out = np.where(smooth, np.minimum(natural, np.minimum(mv, mono)), natural)
    return np.where(np.isnan(out), np.inf, out), nan


def _abs(fn: Any) -> Any:
    return lambda q: absolute(fn(q))


def separable_sum(x: Interval, ax: int, keepdims: bool, out: Interval) -> None:
    """Tighten `out` = Σ_ax x, where x = f(p) elementwise for the simplex input p, by weak duality.

    Its cost grows with the entries and the chain's length: past `MAX_ENTRIES` entries (many boxes or
    enumerated labels at once) the plain enclosure stands.
    """
    if x.size > MAX_ENTRIES:
        return
    sep = x.tags["sep"]
    if np.all(sep["src"].hi - sep["src"].lo <= THIN):  # (nearly) a point: plain arithmetic is as tight
        return
    src = sep["src"]
    sim = src.tags.get("simplex")
    if sim is None or sim["ax"] != ax:
        return
    fn = sep["fn"]
    def neg(q: Interval) -> Interval:
        return negative(fn(q))

    lo, hi, dtype, slack = src.lo, src.hi, src.dtype, float(sim["slack"])
    zero = np.zeros(np.take(lo, [0], axis=ax).shape)
    NAN_SEEN.clear()
    with np.errstate(all="ignore"):
        bounds = []
        top = [sup_each(f, zero, lo, hi, dtype) for f in (fn, neg)]  # max f_v and max −f_v on each box
        nan_any = NAN_SEEN[0] | NAN_SEEN[1]  # f may be NaN somewhere on the simplex box, per entry
        one_sign = bool(np.all(top[0] <= 0) or np.all(top[1] <= 0))  # then Σ|f| is ∓Σf: no third search
        for f in ((fn, neg) if one_sign else (fn, neg, _abs(fn))):
            best = R.up(sup_sum(f, zero, lo, hi, ax, dtype))
            lam = _lambda(f, lo, hi, ax, dtype)
            if np.all(np.isfinite(lam)):
                s = sup_sum(f, lam, lo, hi, ax, dtype)
                best = np.minimum(best, R.up(R.up(s + lam) + np.abs(lam) * slack))
            bounds.append(best)
    upper, lower = bounds[0], -bounds[1]
    if one_sign:  # f ≤ 0 everywhere: Σ|f| = −Σf ≤ −lower; f ≥ 0: Σ|f| ≤ upper
        magsum = np.maximum(np.maximum(-lower, upper), 0.0)
    else:
        magsum = bounds[2]  # bounds Σ_v |f_v| on the simplex
    n = x.shape[ax]
    err = R.gamma(n - 1, out.dtype) * magsum  # the operator's own float summation
    lower, upper = R.down(lower - err), R.up(upper + err)
    if not keepdims:
        lower, upper = np.squeeze(lower, ax), np.squeeze(upper, ax)
    lower, upper = R.to_dtype(lower, upper, out.dtype)
    new_lo = np.where(np.isnan(lower), out.lo, np.maximum(out.lo, lower))
    new_hi = np.where(np.isnan(upper), out.hi, np.minimum(out.hi, upper))
    if np.all(new_lo <= new_hi):
        out.lo, out.hi = new_lo, new_hi
        clean = ~nan_any.any(axis=ax, keepdims=keepdims) if keepdims else ~nan_any.any(axis=ax)
        if out.nan is not None:  # no term is NaN anywhere on the pieces, and the sum is bounded: never NaN
            out.nan = np.asarray(out.nan) & ~(clean & np.isfinite(out.lo) & np.isfinite(out.hi))
            if not out.nan.any():
                out.nan = None
