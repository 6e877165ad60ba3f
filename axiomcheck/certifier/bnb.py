"""Branch and bound over boxes of the certified coordinates, many boxes per operator call.

Two searches share the box machinery (split the coordinate with the largest
smear — width times the largest Jacobian entry — re-tighten on the simplex,
drop boxes that miss it):

* `prove` — a property of the weights: a box where the enclosure proves it is
  done; an undecided one is tried at its centre with the real operator (a
  violation there is a concrete counterexample) and split, worst first, until
  every box is proved or the budget runs out (then the enclosure reached is
  reported);
* `lipschitz` — an upper bound on sup ‖J‖ (the largest row sum of |J| over the
  metric's coordinates): the box with the largest bound is split first, and the
  search stops once the certified bound is within a relative `gap` of the best
  lower bound (the sampled estimate, or the certifier's own at box centres).
  Boxes are never discarded: the bound is the maximum over all of them.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .space import Space, tighten

BATCH = 256
MIN_WIDTH = 1e-9  # relative to the root box: a box this narrow that is still undecided is not split again
MIN_WIDTH_INF = 1e-6
MAX_INF_SPLIT_DIMS = 16  # beyond this many coordinates an infinite root bound is reported at once  # a box this narrow whose Lipschitz bound is still infinite ends the search (no finite bound)


@dataclasses.dataclass
class Boxes:
    lo: np.ndarray  # [B, n]
    hi: np.ndarray
    labels: np.ndarray | None  # [B] when labels are enumerated

    def __len__(self) -> int:
        return self.lo.shape[0]

    def take(self, idx: Any) -> Boxes:
        return Boxes(self.lo[idx], self.hi[idx], None if self.labels is None else self.labels[idx])

    @staticmethod
    def join(parts: list[Boxes]) -> Boxes:
        parts = [p for p in parts if len(p)]
        if not parts:
            return Boxes(np.zeros((0, 0)), np.zeros((0, 0)), None)
        labels = None if parts[0].labels is None else np.concatenate([p.labels for p in parts])
        return Boxes(np.concatenate([p.lo for p in parts]), np.concatenate([p.hi for p in parts]), labels)


@dataclasses.dataclass
class Deadline:
    budget: float
    start: float = dataclasses.field(default_factory=time.perf_counter)
    last: float = 0.0  # how long the last round of a search took
    mark: float | None = None

    def left(self) -> float:
        return self.budget - (time.perf_counter() - self.start)

    def expired(self) -> bool:
        return self.left() <= 0

    def lap(self) -> None:
        """Mark the end of one round of a search: `would_overrun` expects the next to take as long."""
        now = time.perf_counter()
        self.last = now - (self.start if self.mark is None else self.mark)
        self.mark = now

    def would_overrun(self) -> bool:
        """Out of time, or too little left for another round like the last one (the budget is kept, not
        overrun by the one evaluation that cannot be interrupted)."""
        return self.left() <= self.last


def roots(dom: Space, lo: np.ndarray | None = None, hi: np.ndarray | None = None) -> Boxes:
    """The root box (one per enumerated label)."""
    lo = dom.lo()[None, :] if lo is None else lo[None, :]
    hi = dom.hi()[None, :] if hi is None else hi[None, :]
    lo, hi, ok = tighten(dom, lo, hi)
    boxes = Boxes(lo[ok], hi[ok], None)
    if dom.labels is not None:
        k = len(boxes)
        boxes = Boxes(np.repeat(boxes.lo, dom.labels, axis=0), np.repeat(boxes.hi, dom.labels, axis=0),
                      np.tile(np.arange(dom.labels), k))
    return boxes


def split(dom: Space, boxes: Boxes, smear: np.ndarray, scale: np.ndarray) -> tuple[Boxes, np.ndarray]:
    """Each box halved across the coordinate with the largest smear (the widest one when all smears are 0).

    Returns the children and, for each, the index of its parent in `boxes`.
    """
    width = boxes.hi - boxes.lo
    rel = np.where(scale > 0, width / np.where(scale > 0, scale, 1.0), 0.0)
    s = np.where(rel > MIN_WIDTH, np.nan_to_num(smear, nan=np.inf, posinf=np.inf), -1.0)
    s = np.where((s <= 0) & (rel > MIN_WIDTH), rel * 1e-300, s)
    d = np.argmax(s, axis=1)
    rows = np.arange(len(boxes))
    a, b = boxes.lo[rows, d], boxes.hi[rows, d]
    mid = 0.5 * a + 0.5 * b
    # a nonnegative coordinate spanning orders of magnitude (losses up to 1e6) is cut geometrically in 1 + x,
    # so the boxes near 0, where the weights move most, are reached in a few cuts
    wide = (a >= 0) & ((b + 1.0) > 4.0 * (a + 1.0))
    with np.errstate(invalid="ignore"):
        mid = np.where(wide, np.sqrt(np.maximum((a + 1.0) * (b + 1.0), 0.0)) - 1.0, mid)
    mid = np.clip(mid, a, b)
    left_hi, right_lo = boxes.hi.copy(), boxes.lo.copy()
    left_hi[rows, d] = mid
    right_lo[rows, d] = mid
    lo = np.concatenate([boxes.lo, right_lo])
    hi = np.concatenate([left_hi, boxes.hi])
    parent = np.concatenate([rows, rows])
    labels = None if boxes.labels is None else np.concatenate([boxes.labels, boxes.labels])
    lo, hi, ok = tighten(dom, lo, hi)
    return Boxes(lo[ok], hi[ok], None if labels is None else labels[ok]), parent[ok]


def splittable(boxes: Boxes, scale: np.ndarray, min_width: float = MIN_WIDTH) -> np.ndarray:
    width = boxes.hi - boxes.lo
    rel = np.where(scale > 0, width / np.where(scale > 0, scale, 1.0), 0.0)
    return np.any(rel > min_width, axis=1)


# ----------------------------------------------------------------------------- proving a property


@dataclasses.dataclass
class Judged:
    ok: np.ndarray  # bool[B]: proved on the box
    margin: np.ndarray  # float[B]: how far from a proof (larger: worse; used to pick the next boxes)
    qlo: np.ndarray  # the enclosure of the checked quantity on each box
    qhi: np.ndarray
    smear: np.ndarray  # [B, n]


@dataclasses.dataclass
class Proof:
    proved: bool
    qlo: float
    qhi: float
    counterexample: dict[str, Any] | None = None
    boxes: int = 0
    reason: str | None = None


def prove(dom: Space, start: Boxes, evaluate: Callable[[Boxes], Any], judge: Callable[[Any, Boxes], Judged],
          refute: Callable[[Boxes], dict[str, Any] | None], clock: Deadline) -> Proof:
    """Prove a property on every box of `start`, splitting the undecided ones worst first."""
    scale = np.maximum(dom.hi() - dom.lo(), 0.0)
    pending = start
    prio = np.full(len(start), np.inf)
    inh_lo, inh_hi = np.full(len(start), -np.inf), np.full(len(start), np.inf)  # from the parent's evaluation
    qlo, qhi = np.inf, -np.inf
    seen, stuck, reason = 0, False, None
    while len(pending):
        clock.lap()
        if seen and clock.would_overrun():
            reason = "the time budget ran out"
            break
        order = np.argsort(-prio, kind="stable")
        now, rest = order[:BATCH], order[BATCH:]
        batch = pending.take(now)
        seen += len(batch)
        j = judge(evaluate(batch), batch)
        if j.ok.any():
            qlo, qhi = min(qlo, float(np.min(j.qlo[j.ok]))), max(qhi, float(np.max(j.qhi[j.ok])))
        open_ = np.where(~j.ok)[0]
        kids, k_prio, k_lo, k_hi = [], [], [], []
        if len(open_):
            cex = refute(batch.take(open_))
            if cex is not None:
                return Proof(False, min(qlo, float(np.min(j.qlo))), max(qhi, float(np.max(j.qhi))), cex, seen)
            sub = batch.take(open_)
            can = splittable(sub, scale)
            if not can.all():
                stuck = True
                qlo = min(qlo, float(np.min(j.qlo[open_][~can])))
                qhi = max(qhi, float(np.max(j.qhi[open_][~can])))
            if can.any():
                child, parent = split(dom, sub.take(can), j.smear[open_][can], scale)
                kids.append(child)
                k_prio.append(j.margin[open_][can][parent])
                k_lo.append(j.qlo[open_][can][parent])
                k_hi.append(j.qhi[open_][can][parent])
        pending = Boxes.join([pending.take(rest)] + kids)
        prio = np.concatenate([prio[rest]] + k_prio)
        inh_lo = np.concatenate([inh_lo[rest]] + k_lo)
        inh_hi = np.concatenate([inh_hi[rest]] + k_hi)
    if len(pending):
        qlo, qhi = min(qlo, float(np.min(inh_lo))), max(qhi, float(np.max(inh_hi)))
        return Proof(False, qlo, qhi, None, seen, reason or "undecided boxes remain")
    if stuck:
        return Proof(False, qlo, qhi, None, seen, "some boxes stay undecided however small they get")
    return Proof(True, qlo, qhi, None, seen)


# ----------------------------------------------------------------------------- the Lipschitz bound


@dataclasses.dataclass
class LipschitzBound:
    upper: float
    lower: float
    gap: float | None
    boxes: int
    reason: str | None = None


def lipschitz(dom: Space, start: Boxes, evaluate: Callable[[Boxes], Any],
              bound: Callable[[Any, Boxes, float], tuple[np.ndarray, np.ndarray, list[str]]],
              at_centres: Callable[[Boxes], np.ndarray], lower: float, gap: float, clock: Deadline) -> LipschitzBound:
    """sup ‖J‖ over the boxes, refined until within `gap` of the lower bound or out of time.

    `bound(ev, boxes, target)` gives per box (upper bound, smear [B, n], reasons for infinite ones), and may
    refine only the boxes above `target`; `at_centres(boxes)` a certified lower bound on ‖J‖ at each box's
    centre.  The bound returned is the largest over every box ever kept or settled.
    """
    scale = np.maximum(dom.hi() - dom.lo(), 0.0)
    best_lower = max(lower, float(np.max(at_centres(start), initial=0.0)))
    upper, smear, reasons = bound(evaluate(start), start, (1.0 + gap) * best_lower)
    reasons = list(dict.fromkeys(reasons))
    pending, seen, settled = start, len(start), -np.inf
    if dom.n > MAX_INF_SPLIT_DIMS and not np.all(np.isfinite(upper)):
        # an infinite bound in many dimensions is not split away within any budget: say so now
        return LipschitzBound(np.inf, best_lower, None, seen, "; ".join(reasons))
    while len(pending):
        target = (1.0 + gap) * best_lower
        clock.lap()
        if max(settled, float(np.max(upper))) <= target or clock.would_overrun():
            break
        keep = upper > target
        settled = max(settled, float(np.max(upper[~keep], initial=-np.inf)))
        pending, upper, smear = pending.take(keep), upper[keep], smear[keep]
        order = np.argsort(-upper, kind="stable")
        n_inf = int(np.sum(~np.isfinite(upper)))
        batch_size = max(8, BATCH * 16 // max(dom.n, 16))  # fewer boxes at once in many dimensions
        cut = min(n_inf, batch_size) if n_inf else batch_size  # boxes without a finite bound first: "inf"
        now, rest = order[:cut], order[cut:]
        batch = pending.take(now)
        can = splittable(batch, scale, MIN_WIDTH_INF if n_inf else MIN_WIDTH)
        if not can.all():
            stuck = float(np.max(upper[now][~can]))
            settled = max(settled, stuck)
            if not np.isfinite(stuck):
                reasons.append("the bound stays infinite on boxes too narrow to split")
                break
        kids, _ = split(dom, batch.take(can), smear[now][can], scale)
        ku, ks = np.zeros(0), np.zeros((0, dom.n))
        if len(kids):
            ku, ks, why = bound(evaluate(kids), kids, target)
            reasons += [r for r in why if r not in reasons]
            seen += len(kids)
            top = np.argsort(-ku, kind="stable")[: max(8, len(kids) // 8)]
            best_lower = max(best_lower, float(np.max(at_centres(kids.take(top)), initial=0.0)))
        pending = Boxes.join([pending.take(rest), kids])
        upper = np.concatenate([upper[rest], ku])
        smear = np.concatenate([smear[rest], ks])
    top = max(settled, float(np.max(upper, initial=-np.inf)))
    g = None
    if np.isfinite(top) and best_lower > 0:
        g = top / best_lower - 1.0
    elif np.isfinite(top) and top == 0.0:
        g = 0.0  # a constant: both bounds are 0
    reason = "; ".join(reasons) if not np.isfinite(top) else None
    return LipschitzBound(top, best_lower, g, seen, reason)
