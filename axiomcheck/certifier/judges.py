"""One judge per property: from the enclosure of a batch of boxes, what is proved on each box.

A judge reads the weights `W[B, R, K]` of an evaluation and returns, per box,
whether the property is proved there, how far from a proof it is, the
enclosure of the checked quantity and where to split.  Its `violates` twin is
the same predicate on concrete weights (with the sampled engine's tolerance),
used on the real operator's output at box centres: a violation there is a
counterexample.  Rows the evaluation could not enclose (poisoned: an undecided
argmax) are never proved.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from . import ivmath as iv
from .bnb import Boxes, Judged
from .evaluate import Enclosed
from .facts import locate, pair_lower


def values(ev: Enclosed) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lo, hi, may be NaN) of W, with poisoned rows made unknown."""
    W, tr = ev.W, ev.trace
    lo, hi = np.broadcast_to(W.lo, W.shape).copy(), np.broadcast_to(W.hi, W.shape).copy()
    nan = np.broadcast_to(W.may_nan(), W.shape).copy()
    bad = tr.poison
    lo[bad], hi[bad], nan[bad] = -np.inf, np.inf, True
    return lo, hi, nan


def smear(ev: Enclosed, boxes: Boxes, rows: np.ndarray | None = None) -> np.ndarray:
    """[B, n]: box width times the largest |∂w/∂u_j| (over the outputs in `rows`, default all)."""
    W = ev.W
    m = np.maximum(np.abs(W.jlo), np.abs(W.jhi))  # [B, R, K, n]
    if rows is not None:
        m = np.where(rows[:, :, None, None], m, 0.0)
    m = np.nan_to_num(m.max(axis=(1, 2)), nan=np.inf, posinf=np.inf)
    return (boxes.hi - boxes.lo) * np.maximum(m, 1e-300)


def finite() -> tuple[Callable[..., Judged], Callable[[np.ndarray], np.ndarray]]:
    def judge(ev: Enclosed, boxes: Boxes) -> Judged:
        lo, hi, nan = values(ev)
        fin = np.isfinite(lo) & np.isfinite(hi) & ~nan
        ok = fin.reshape(len(boxes), -1).all(axis=1)
        return Judged(ok, (~fin).reshape(len(boxes), -1).sum(axis=1).astype(float),
                      lo.reshape(len(boxes), -1).min(axis=1), hi.reshape(len(boxes), -1).max(axis=1),
                      smear(ev, boxes))

    return judge, lambda W: ~np.isfinite(W).reshape(W.shape[0], -1).all(axis=1)


def lower_bound(floor: float, strict: bool, upper: float | None = None, tol: float = 0.0
                ) -> tuple[Callable[..., Judged], Callable[[np.ndarray], np.ndarray]]:
    """w > floor (strict) or w ≥ floor − tol, and w ≤ upper + tol when an upper bound is given."""
    def judge(ev: Enclosed, boxes: Boxes) -> Judged:
        lo, hi, nan = values(ev)
        B = len(boxes)
        wl = np.where(nan, -np.inf, lo).reshape(B, -1).min(axis=1)
        wh = np.where(nan, np.inf, hi).reshape(B, -1).max(axis=1)
        ok = (wl > floor) if strict else (wl >= floor - tol)
        margin = floor - wl
        if upper is not None:
            ok &= wh <= upper + tol
            with np.errstate(invalid="ignore"):
                margin = np.maximum(margin, wh - upper)
        ok &= np.isfinite(wh)
        return Judged(ok, np.nan_to_num(margin, nan=np.inf), wl, wh, smear(ev, boxes))

    def violates(W: np.ndarray) -> np.ndarray:
        flat = W.reshape(W.shape[0], -1).astype(np.float64)
        bad = ~(flat > floor).all(axis=1) if strict else ~(flat >= floor - tol).all(axis=1)
        if upper is not None:
            bad |= ~(flat <= upper + tol).all(axis=1)
        return bad

    return judge, violates


def normalization(tol: float) -> tuple[Callable[..., Judged], Callable[[np.ndarray], np.ndarray]]:
    def judge(ev: Enclosed, boxes: Boxes) -> Judged:
        W = ev.W
        B = len(boxes)
        lo, hi, nan = values(ev)
        slo, shi = iv.sum_axis(lo, hi, 2, False, np.dtype(np.float64))  # the exact sum of the returned floats
        norm = W.tags.get("norm")
        if norm is not None and locate(norm["probe"]) == 2:
            nlo = np.broadcast_to(norm["slo"], W.shape)[..., 0]
            nhi = np.broadcast_to(norm["shi"], W.shape)[..., 0]
            slo, shi = np.maximum(slo, nlo), np.minimum(shi, nhi)
        snan = nan.any(axis=2) | ev.trace.poison[:, None]
        slo = np.where(snan, -np.inf, slo)
        shi = np.where(snan, np.inf, shi)
        err = np.maximum(1.0 - slo, shi - 1.0).reshape(B, -1).max(axis=1)
        ok = err <= tol
        return Judged(ok, np.nan_to_num(err, nan=np.inf), slo.reshape(B, -1).min(axis=1),
                      shi.reshape(B, -1).max(axis=1), smear(ev, boxes))

    def violates(W: np.ndarray) -> np.ndarray:
        err = np.abs(W.sum(axis=-1, dtype=np.float64) - 1.0)
        return ~(err <= tol).all(axis=1)

    return judge, violates


def safety(pairs: Sequence[tuple[int, int]], rows: Callable[[int, int], np.ndarray], tol: float,
           inside: Callable[[dict[str, np.ndarray]], np.ndarray] | None = None
           ) -> tuple[Callable[..., Judged], Callable[..., np.ndarray]]:
    """w_safer ≥ w_less_safe − tol on the rows `rows(B, R)` (bool[B, R]) for every declared pair."""
    def judge(ev: Enclosed, boxes: Boxes) -> Judged:
        W = ev.W
        B, R, K = W.shape
        sel = rows(B, R)
        lo, hi, nan = values(ev)
        worst = np.full(B, np.inf)
        top = np.full(B, -np.inf)
        for a, b in pairs:
            d = pair_lower(W, 2, a, b)
            d = np.where(nan[..., a] | nan[..., b], -np.inf, d)
            d = np.where(ev.trace.poison[:, None], -np.inf, d)
            up = hi[..., a] - lo[..., b]
            worst = np.minimum(worst, np.where(sel, d, np.inf).min(axis=1))
            top = np.maximum(top, np.where(sel, up, -np.inf).max(axis=1))
        ok = worst >= -tol
        return Judged(ok, np.nan_to_num(-worst, nan=np.inf), worst, top, smear(ev, boxes, sel))

    def violates(W: np.ndarray, arrays: dict[str, np.ndarray] | None = None) -> np.ndarray:
        B, R, _ = W.shape
        sel = rows(B, R)
        if inside is not None and arrays is not None:
            sel = sel & np.asarray(inside(arrays), bool)[:, None]
        bad = np.zeros(B, bool)
        for a, b in pairs:
            bad |= (sel & ~(W[..., a].astype(np.float64) >= W[..., b].astype(np.float64) - tol)).any(axis=1)
        return bad

    return judge, violates


def lipschitz_bound(metric: np.ndarray, rows: np.ndarray | None = None, dims: np.ndarray | None = None
                    ) -> Callable[[Enclosed, Boxes], tuple[np.ndarray, np.ndarray, list[str]]]:
    """Per box: the largest row sum of |J| over the metric's coordinates (inf where the row may jump).

    `rows` (bool[R]) restricts the outputs looked at, `dims` (bool[n]) the coordinates to split.
    """
    def bound(ev: Enclosed, boxes: Boxes) -> tuple[np.ndarray, np.ndarray, list[str]]:
        W, tr = ev.W, ev.trace
        m = np.maximum(np.abs(W.jlo), np.abs(W.jhi))
        m = np.where(np.isnan(m), np.inf, m)
        if rows is not None:
            m = m[:, rows]
        _, rowsum = iv.sum_axis(m[..., metric], m[..., metric], -1, False, np.dtype(np.float64))
        rowsum = np.where(m[..., metric].max(axis=-1, initial=0.0) == 0, 0.0, rowsum)  # exact zeros stay 0
        B = len(boxes)
        up = rowsum.reshape(B, -1).max(axis=1, initial=0.0)
        nan = np.broadcast_to(W.may_nan(), W.shape)
        if rows is not None:
            nan = nan[:, rows]
        bad = tr.disc | tr.poison | nan.reshape(B, -1).any(axis=1)
        up = np.where(bad, np.inf, up)
        why: list[str] = []
        if not np.all(np.isfinite(up)):  # the causes first: a possible jump, a lost row, then where ∞ began
            if (tr.disc & ~tr.poison).any():
                why += list(dict.fromkeys(r for _, r in tr.jumps.values()))
            if tr.poison.any():
                why += tr.reasons["poison"]
            why += [f"unbounded derivative: {r}" for r in tr.reasons["jac"][:1]]
        mm = m.reshape(B, -1, m.shape[-1]).max(axis=1)
        sm = (boxes.hi - boxes.lo) * np.where(np.isfinite(mm), mm, 1e300)
        if dims is not None:
            sm = np.where(dims, sm, 0.0)
        return up, sm, why

    return bound


def groups(ev: Enclosed, metric: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Output rows that share no certified coordinate, as (rows bool[R], coordinates bool[n]) groups.

    Task weights of one task depend on that task's losses only: their Lipschitz searches can split
    those coordinates alone (the bound is the largest over the groups).
    """
    W = ev.W
    # a dependence below 1e-290 is rounding around an exact 0 (the grouping only steers the splitting: every
    # group's bound still sums over all coordinates)
    dep = ((np.abs(W.jlo) > 1e-290) | (np.abs(W.jhi) > 1e-290)).any(axis=(0, 2))  # [R, n]
    R = dep.shape[0]
    parent = list(range(R))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for j in range(dep.shape[1]):
        rs = np.where(dep[:, j])[0]
        for r in rs[1:]:
            parent[find(int(r))] = find(int(rs[0]))
    out = []
    for root in sorted({find(r) for r in range(R)}):
        rows = np.array([find(r) == root for r in range(R)])
        out.append((rows, dep[rows].any(axis=0)))
    return out


#: At most this many open kinks in a row are split into cases (2^k re-evaluations); more keep the hull.
MAX_KINKS = 3


def kink_cases(ev: Enclosed, boxes: Boxes, up: np.ndarray, evaluate: Callable[..., Enclosed],
               plain: Callable[..., tuple[np.ndarray, np.ndarray, list[str]]], target: float = -np.inf) -> np.ndarray:
    """A tighter bound where a box holds a few kinks (clip, max, abs): the largest over the cases.

    A continuous piecewise-smooth function is differentiable almost everywhere, and there its Jacobian is
    that of the formula with every open choice made one way; re-evaluating the box once per combination
    of choices and taking the largest bound covers them all, without the hull's loss of correlation
    between entries (which treats one kink as independent in every entry it feeds).
    """
    tr = ev.trace
    if not tr.kinks:
        return up
    counts = np.zeros(len(boxes), int)
    for _, mask in tr.kinks:
        counts += mask.reshape(len(boxes), -1).sum(axis=1)
    rows = np.where((counts > 0) & (counts <= MAX_KINKS) & np.isfinite(up) & (up > target))[0]
    if not len(rows):
        return up
    entries: list[list[tuple[int, int]]] = [[] for _ in rows]
    for site, mask in tr.kinks:
        flat = mask.reshape(len(boxes), -1)[rows]
        for i, r in enumerate(flat):
            entries[i] += [(site, int(j)) for j in np.where(r)[0]]
    reps = 2 ** counts[rows]  # each row's own cases only (a row with one kink needs two, not 2^MAX_KINKS)
    starts = np.concatenate([[0], np.cumsum(reps)[:-1]])
    sub = boxes.take(np.repeat(rows, reps))  # every case of every row, evaluated together
    force = {site: np.zeros((int(reps.sum()),) + mask.shape[1:], bool) for site, mask in tr.kinks}
    for i, ents in enumerate(entries):
        for case in range(int(reps[i])):
            for bit, (site, j) in enumerate(ents):
                force[site][starts[i] + case].reshape(-1)[j] = bool((case >> bit) & 1)
    u, _, _ = plain(evaluate(sub, force), sub)
    best = np.maximum.reduceat(u, starts)
    out = up.copy()
    out[rows] = np.minimum(up[rows], best)
    return out


def centre_lower(metric: np.ndarray, rows: np.ndarray | None = None) -> Callable[[Enclosed], np.ndarray]:
    """A certified lower bound on ‖J‖ at points (zero-width boxes): the row sums of the smallest |J| entries."""
    def lower(ev: Enclosed) -> np.ndarray:
        W, tr = ev.W, ev.trace
        lo, hi = W.jlo[..., metric], W.jhi[..., metric]
        if rows is not None:
            lo, hi = lo[:, rows], hi[:, rows]
        mig = np.where((lo > 0) | (hi < 0), np.minimum(np.abs(lo), np.abs(hi)), 0.0)
        mig = np.where(np.isfinite(mig), mig, 0.0)
        B = W.shape[0]
        s = mig.sum(axis=-1).reshape(B, -1).max(axis=1) * (1.0 - 1e-12)
        return np.where(tr.disc | tr.poison, 0.0, s)

    return lower


def first_true(bad: np.ndarray) -> int | None:
    idx = np.where(bad)[0]
    return int(idx[0]) if len(idx) else None
