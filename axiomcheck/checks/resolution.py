"""A suspected jump, bisected on to the float resolution of its inputs: a jump, or only steep.

The regularity check bisects every segment down to a radius floor (1e-9 for
float64).  A function that is continuous but changes over a scale below that
floor — a `+ 1e-8` guard in a denominator, a clip at 1e-12 inside a log —
still changes by O(1) there, exactly like a step.  `deepen` goes on halving the
segments that look like jumps until halving no longer halves their distance
(the inputs' float resolution: the midpoint rounds to an end) or, for an
operator that computes in float32 or less, until the distance falls below its
dtype's resolution.  A change that then shrinks with the radius is steep, not a
jump; one that stays is a jump down to the last representable step.

>>> import numpy as np
>>> d = Deep(np.array([0]), np.array([[1e-9], [5e-10]]), np.array([[0.5], [1e-3]]), np.array([1]), (), (), None, None)
>>> d.full(np.array([[1e-9]]), np.array([[0.5]]), 0)[1].tolist()
[0.5, 0.001]
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..calling.sandbox import OperatorMisbehaved
from ..sampling.domains import Args, take
from . import properties as P
from .subject import Subject

#: Halvings past the radius floor at most (float64 inputs near 0 resolve far below 1e-16).
DEEP_LEVELS = 128


@dataclasses.dataclass
class Deep:
    """The segments `idx` bisected past the floor: their radii and changes per further level
    (`[levels + 1, n]`, a segment's last values repeated once it stopped), how many halvings each made,
    and the inputs and weights they ended at."""

    idx: np.ndarray
    radii: np.ndarray
    deltas: np.ndarray
    depth: np.ndarray
    A: Args
    B: Args
    Wa: np.ndarray | None
    Wb: np.ndarray | None

    def full(self, R: np.ndarray, D: np.ndarray, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Segment `idx[i]`'s radii and changes from its first level to its deepest."""
        c, n = int(self.idx[i]), int(self.depth[i])
        return (np.concatenate([R[:, c], self.radii[1:n + 1, i]]),
                np.concatenate([D[:, c], self.deltas[1:n + 1, i]]))


def _where(mask: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.where(mask.reshape((-1,) + (1,) * (np.ndim(x) - 1)), x, y)


def _magnitude(a: Args, b: Args) -> np.ndarray:
    """Per sample, the largest |coordinate| among those that differ between `a` and `b`."""
    out = np.zeros(a[0].shape[0])
    for x, y in zip(a, b):
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        mag = np.where((x != y) & np.isfinite(x) & np.isfinite(y), np.maximum(np.abs(x), np.abs(y)), 0.0)
        out = np.maximum(out, mag.reshape(mag.shape[0], -1).max(axis=1, initial=0.0))
    return out


def deepen(subject: Subject, idx: np.ndarray, A: Args, Bq: Args, Wa: np.ndarray, Wb: np.ndarray,
           eps: float) -> Deep | OperatorMisbehaved:
    """Bisect segments `idx` on toward their larger change, to the float resolution of their inputs,
    `subject.pair_chunk` segments per call (the byte budget of a large vocabulary).

    Returns what the operator raised, if it did (the caller reports it).
    """
    chunk = max(1, subject.pair_chunk)
    parts = []
    for start in range(0, len(idx), chunk):
        part = _deepen(subject, idx[start:start + chunk], A, Bq, Wa, Wb, eps)
        if isinstance(part, OperatorMisbehaved):
            return part
        parts.append(part)
    if len(parts) == 1:
        return parts[0]
    levels = max(p.radii.shape[0] for p in parts)

    def padded(x: np.ndarray) -> np.ndarray:  # a segment's last values repeat once it stopped
        return np.concatenate([x, np.repeat(x[-1:], levels - x.shape[0], axis=0)])

    return Deep(np.concatenate([p.idx for p in parts]), np.concatenate([padded(p.radii) for p in parts], axis=1),
                np.concatenate([padded(p.deltas) for p in parts], axis=1),
                np.concatenate([p.depth for p in parts]),
                tuple(np.concatenate(x) for x in zip(*(p.A for p in parts))),
                tuple(np.concatenate(x) for x in zip(*(p.B for p in parts))),
                np.concatenate([p.Wa for p in parts]), np.concatenate([p.Wb for p in parts]))


def _deepen(subject: Subject, idx: np.ndarray, A: Args, Bq: Args, Wa: np.ndarray, Wb: np.ndarray,
            eps: float) -> Deep | OperatorMisbehaved:
    dom = subject.domain
    a, b = take(A, idx), take(Bq, idx)
    wa, wb = Wa[idx], Wb[idx]
    r = dom.distance(a, b)
    radii, deltas = [r], [P.max_abs_diff(wa, wb)]
    depth = np.zeros(len(idx), dtype=int)
    alive = r > 0
    # an operator computing in float32 (or less) resolves its inputs no finer than its own dtype
    floor = eps * _magnitude(a, b) if eps > 1e-10 else np.zeros(len(idx))
    for _ in range(DEEP_LEVELS):
        alive &= r > floor
        if not alive.any():
            break
        mid = dom.interpolate(a, b, 0.5)
        d1, d2 = dom.distance(a, mid), dom.distance(mid, b)
        alive &= (np.maximum(d1, d2) <= 0.75 * r) & (d1 > 0) & (d2 > 0)  # still halving: not at the resolution
        if not alive.any():
            break
        try:
            wm = dom.canonical(subject.call(mid))
        except OperatorMisbehaved as exc:
            return exc
        right = P.max_abs_diff(wm, wb) > P.max_abs_diff(wa, wm)
        go_right, go_left = alive & right, alive & ~right
        a = tuple(_where(go_right, m, x) for x, m in zip(a, mid))
        b = tuple(_where(go_left, m, y) for y, m in zip(b, mid))
        wa, wb = _where(go_right, wm, wa), _where(go_left, wm, wb)
        r = np.where(alive, dom.distance(a, b), r)
        depth += alive
        radii.append(r)
        deltas.append(P.max_abs_diff(wa, wb))
    return Deep(idx, np.stack(radii), np.stack(deltas), depth, a, b, wa, wb)


def still_jumps(deep: Deep, R: np.ndarray, D: np.ndarray, noise: float, look: int) -> np.ndarray:
    """Per deepened segment: does its change still not shrink over its last `look` halvings?"""
    out = np.zeros(len(deep.idx), dtype=bool)
    for i in range(len(deep.idx)):
        _, d = deep.full(R, D, i)
        end, back = d[-1], d[-1 - min(look, len(d) - 1)]
        out[i] = end > noise and back > noise and end >= back / 4.0
    return out
