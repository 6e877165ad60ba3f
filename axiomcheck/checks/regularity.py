"""Regularity (continuity, and a declared Lipschitz constant) estimated by bisection.

Segments between sampled inputs are bisected towards the largest change of the
weights, down to a radius set by the returned dtype.  A change that does not
shrink with the radius (ratio ∝ 1/r) is a jump — once bisecting on to the float
resolution of the inputs (`resolution`) confirms it; one that shrinks there is
continuous with a steep slope.  A ratio that keeps growing more slowly (log 1/r,
an entropy at the edge of the simplex) is continuous without a Lipschitz
constant in that metric.  The estimate is a lower bound on the true constant,
reported with the radius of the segment each ratio was seen on.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..calling.sandbox import OperatorMisbehaved
from ..report import summary
from ..sampling.domains import Args, concat, take
from . import properties as P
from . import resolution
from .base import Check, Evaluated, count, fmt
from .evidence import CheckEvidence, Evidence, Finding
from .subject import Subject, safety_tokens


class Regularity(Check):
    property = "regularity"
    rests_on = ("deterministic", "batch_independent")  # a ratio of changes means nothing if a call alone changes w

    def run(self, subject: Subject, ev: Evidence, evaluated: list[Evaluated]) -> None:
        rid = subject.id(self.property)
        if rid is None or not evaluated:
            return
        per = max(2, subject.regularity_pairs // max(len(evaluated), 1))
        pool = concat([take(e.family.args, slice(0, per)) for e in evaluated])
        n = pool[0].shape[0]
        rng = np.random.default_rng(subject.seed + 2)
        perm = rng.permutation(n)
        A, Bq = pool, take(pool, perm)
        d0 = subject.domain.distance(A, Bq)
        keep = d0 > 0
        A, Bq, d0 = take(A, keep), take(Bq, keep), d0[keep]
        if A[0].shape[0] == 0:
            ev.skip(rid, "no two distinct sampled inputs to measure a change between")
            return
        if A[0].shape[0] > subject.regularity_pairs:  # the byte budget asked for fewer segments: a random few
            pick = np.sort(rng.permutation(A[0].shape[0])[: subject.regularity_pairs])
            A, Bq, d0 = take(A, pick), take(Bq, pick), d0[pick]
        # Unit-length segments: far-out inputs would otherwise need many more halvings.
        s = np.minimum(1.0, 1.0 / d0)
        Bq = subject.domain.interpolate(A, Bq, s)
        self.measure(subject, ev, A, Bq)

    def replay(self, subject: Subject, ev: Evidence, saved: Callable[[str], Args | None]) -> bool:
        """A saved jump or steep segment: bisect it again from its saved ends."""
        start, end = saved("start"), saved("end")
        if start is None or end is None:
            return False
        self.measure(subject, ev, start, end)
        return True

    def pass_message(self, subject: Subject, evidence: CheckEvidence) -> str:
        return evidence.note or "continuous on the sampled segments"

    def measure(self, subject: Subject, ev: Evidence, A: Args, Bq: Args) -> None:
        """Bisect the segments from `A` to `Bq` (in batches of `subject.pair_chunk`) and judge what they show."""
        rid = subject.id(self.property)
        dtype = subject.dtype if subject.dtype is not None else np.dtype(np.float64)
        if dtype == np.float64 and subject.float32_valued:  # float32 results cast to float64: float32's resolution
            dtype = np.dtype(np.float32)
        eps = float(np.finfo(dtype).eps)
        r_floor = {8: 1e-9, 4: 2e-5}.get(dtype.itemsize, 5e-2)
        levels = int(np.ceil(np.log2(1.0 / r_floor)))
        n, chunk = A[0].shape[0], max(1, subject.pair_chunk)
        first = (A, Bq)
        parts = []
        for start in range(0, n, chunk):
            sl = slice(start, min(n, start + chunk))
            part = self._bisect(subject, ev, take(A, sl), take(Bq, sl), levels)
            if part is None:
                return
            parts.append(part)
        if len(parts) == 1:
            radii, deltas, A, Bq, Wa, Wb, seen = parts[0]
        else:
            radii = [np.concatenate(level) for level in zip(*(p[0] for p in parts))]
            deltas = [np.concatenate(level) for level in zip(*(p[1] for p in parts))]
            A, Bq = concat([p[2] for p in parts]), concat([p[3] for p in parts])
            Wa, Wb = np.concatenate([p[4] for p in parts]), np.concatenate([p[5] for p in parts])
            seen = np.concatenate([p[6] for p in parts])
        self.judge(subject, ev, rid, radii, deltas, A, Bq, Wa, Wb, eps, r_floor, first, seen)

    def _bisect(self, subject: Subject, ev: Evidence, A: Args, Bq: Args, levels: int) -> tuple | None:
        """Halve each segment `levels` times toward its larger change; None after recording an error.

        Also returns, per segment, whether some weight was finite at both of its ends: a segment
        with none shows nothing about continuity (NaN against NaN differs by 0)."""
        rid = subject.id(self.property)
        try:
            Wa = subject.domain.canonical(subject.call(A))
            Wb = subject.domain.canonical(subject.call(Bq))
        except OperatorMisbehaved as exc:
            ev.fail(rid, subject.misbehaved(exc, A, "the regularity segments"))
            return None
        radii, deltas = [], []
        seen = (np.isfinite(Wa) & np.isfinite(Wb)).reshape(Wa.shape[0], -1).any(axis=1)
        dist = subject.domain.distance(A, Bq)
        radii.append(dist)
        deltas.append(P.max_abs_diff(Wa, Wb))
        for _ in range(levels):
            mid = subject.domain.interpolate(A, Bq, 0.5)
            try:
                Wm = subject.domain.canonical(subject.call(mid))
            except OperatorMisbehaved as exc:
                ev.fail(rid, subject.misbehaved(exc, mid, "a regularity bisection step"))
                return None
            d1, d2 = P.max_abs_diff(Wa, Wm), P.max_abs_diff(Wm, Wb)
            right = d2 > d1
            A = tuple(np.where(right.reshape((-1,) + (1,) * (m.ndim - 1)), m, a) for a, m in zip(A, mid))
            Bq = tuple(np.where(right.reshape((-1,) + (1,) * (m.ndim - 1)), b, m) for b, m in zip(Bq, mid))
            Wa = np.where(right[:, None, None], Wm, Wa)
            Wb = np.where(right[:, None, None], Wb, Wm)
            radii.append(subject.domain.distance(A, Bq))
            deltas.append(P.max_abs_diff(Wa, Wb))
        return radii, deltas, A, Bq, Wa, Wb, seen

    def judge(self, subject: Subject, ev: Evidence, rid: str | None, radii: list, deltas: list, A: Args, Bq: Args,
              Wa: np.ndarray, Wb: np.ndarray, eps: float, r_floor: float, first: tuple[Args, Args],
              seen: np.ndarray | None = None) -> None:
        """A jump, a declared Lipschitz constant exceeded, or the estimate, from the bisection's radii and changes.

        A segment that looks like a jump at the radius floor is bisected on to the float resolution
        of its inputs (`resolution.deepen`) before it is called one; if its change shrinks there, it is
        continuous and only steep, and its ratios join the estimate.  `seen[P]` marks the segments with
        some weight finite at both ends; when there is none, the check cannot be judged (an error that
        says what was seen), never a pass."""
        R = np.stack(radii)  # [levels+1, P]
        D = np.stack(deltas)
        ev.count(rid, R.shape[1] * R.shape[0])
        # Changes below sqrt(eps) are rounding, not a jump (log/exp round-off alone reaches ~1e-13 in float64).
        noise = max(float(np.sqrt(eps)), 10.0 * subject.tol)
        look = min(8, R.shape[0] - 1)
        d_end, d_back = D[-1].copy(), D[-1 - look]
        r_end, r_back = R[-1].copy(), R[-1 - look]
        jump = (d_end > noise) & (d_end >= d_back / 4.0) & (d_back > noise)
        steep = np.zeros_like(jump)
        deep_ratio: list[tuple[float, float]] = []  # (radius, largest ratio) per level past the floor
        if jump.any():
            deep = resolution.deepen(subject, np.flatnonzero(jump), A, Bq, Wa, Wb, eps)
            if isinstance(deep, OperatorMisbehaved):
                ev.fail(rid, subject.misbehaved(deep, A, "a regularity bisection step past the radius floor"))
            else:
                A, Bq, Wa, Wb, deep_ratio = self._settle(deep, R, D, noise, look, eps, jump, steep,
                                                         (d_end, r_end), A, Bq, Wa, Wb)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(R > 0, D / R, 0.0)
        ratio = np.where(np.isfinite(ratio), ratio, np.inf)
        smooth = ~jump
        resolved = D > 1e3 * eps
        # Growth of the ratio: compare the deepest level whose change is still well above
        # round-off with the level `look` halvings (256x the radius) above it.
        deepest = R.shape[0] - 1 - np.argmax(resolved[::-1], axis=0)
        # Growth must be sustained over two windows: a kink raises the ratio once, then it settles.
        usable = resolved.any(axis=0) & (deepest >= 2 * look)
        cols = np.arange(R.shape[1])
        r_deep = ratio[deepest, cols]
        r_up = ratio[np.maximum(deepest - look, 0), cols]
        r_top = ratio[np.maximum(deepest - 2 * look, 0), cols]
        growing = smooth & ~steep & usable & (r_deep > 1.2 * r_up) & (r_up > 1.2 * r_top)
        # The estimate uses only changes resolved well above round-off, where the ratio is trustworthy.
        cont_ratio = np.where(smooth[None, :] & resolved, ratio, 0.0)
        L_seen = max([float(cont_ratio.max())] + [q for _, q in deep_ratio]) if smooth.any() else None
        # each level's largest ratio, at the radius of the segment it was seen on (so ratio × radius is a change)
        best = np.argmax(cont_ratio, axis=1)
        r_levels = np.median(R, axis=1)
        at = np.where(cont_ratio.max(axis=1) > 0, R[np.arange(R.shape[0]), best], r_levels)
        est = {
            "metric": subject.metric,
            "lipschitz_lower_bound": L_seen,
            "radii": [float(r) for r in at] + [r for r, _ in deep_ratio],
            "max_ratio_by_radius": [float(x) for x in cont_ratio.max(axis=1)] + [q for _, q in deep_ratio],
            "pairs": int(R.shape[1]),
            "discontinuous_pairs": int(jump.sum()),
            "non_lipschitz_pairs": int(growing.sum()),
            "declared": subject.op.lipschitz,
            "radius_floor": r_floor,
        }
        ev[rid].estimate = est
        metric = subject.metric
        if jump.any():
            j = int(np.argmax(np.where(jump, d_end, -1)))
            got = (f"a jump: ‖Δw‖∞ stays ≥ {fmt(float(d_end[j]))} while the distance in {metric} shrinks from "
                   f"{fmt(float(r_back[j]))} to {fmt(float(r_end[j]))} (ratio grows like 1/r, down to the float "
                   f"resolution of the inputs)")
            ce = _segment(subject, j, A, Bq, first, Wa, Wb)
            ce.update({"where": "regularity bisection", "radius": float(r_end[j])})
            ev.find(rid, Finding(float(d_end[j]), "weights must change continuously", got,
                                 "the two inputs in the counterexample", ce, "sweep", at_word="between"))
            return
        blind = int(R.shape[1] - seen.sum()) if seen is not None else 0
        if blind == R.shape[1]:
            finite_id = subject.id("finite")
            see = f" (see {finite_id})" if finite_id else ""
            ev.fail(rid, f"cannot be judged: no finite output on any sampled pair: the weights were NaN or inf at "
                         f"both ends of all {blind} segments{see}")
            return
        L = L_seen or 0.0
        if subject.op.lipschitz is not None and L > subject.op.lipschitz * (1 + 1e-3):
            if deep_ratio and max(q for _, q in deep_ratio) >= float(cont_ratio.max()):
                lvl_r, lvl_q = max(deep_ratio, key=lambda rq: rq[1])
                j = int(np.argmax(np.where(steep, d_end, -1)))
            else:
                j = int(np.argmax(cont_ratio.max(axis=0)))
                lvl = int(np.argmax(cont_ratio[:, j]))
                lvl_r, lvl_q = float(R[lvl, j]), float(cont_ratio[lvl, j])
            must = f"‖Δw‖∞ / d must be ≤ the declared L = {fmt(subject.op.lipschitz)} in {metric}"
            got = f"a ratio of {fmt(lvl_q)} at radius {fmt(lvl_r)} (a lower bound on the true constant)"
            ce = _segment(subject, j, A, Bq, first)
            ce["where"] = "regularity bisection (final segment; the ratio was largest at the radius in the message)"
            ev.find(rid, Finding(lvl_q, must, got, "", ce, "sweep"))
            return
        notes = []
        if steep.any():
            r_s, q_s = max(deep_ratio, key=lambda rq: rq[1]) if deep_ratio else (float(r_end[steep].min()), L)
            notes.append(f"continuous with a steep slope on {int(steep.sum())} of {R.shape[1]} segments: ratio ≥ "
                         f"{fmt(q_s)} at r = {fmt(r_s)} in {metric}: no Lipschitz constant below that (not a jump: "
                         f"bisected on to the float resolution of the inputs, the change shrinks with the radius)")
        if growing.any():
            notes.append(f"continuous, but the ratio ‖Δw‖∞/d keeps growing as the radius shrinks on "
                         f"{int(growing.sum())} of {R.shape[1]} segments (slower than 1/r, e.g. log 1/r): no "
                         f"Lipschitz constant in {metric}; sampled lower bound {fmt(L)} at radius ≥ {fmt(r_floor)}")
        if not notes:
            notes.append(f"continuous; sampled Lipschitz estimate {fmt(L)} in {metric} (a lower bound on the "
                         f"true constant) over {count(R.shape[1] - blind, 'segment')}, radii {fmt(float(r_levels[0]))} → "
                         f"{fmt(float(r_levels[-1]))}")
        if blind:
            notes.append(f"{count(blind, 'more segment')} with no finite weight at both ends "
                         f"{'were' if blind > 1 else 'was'} not measured")
        ev[rid].note = "; ".join(notes)

    @staticmethod
    def _settle(deep: resolution.Deep, R: np.ndarray, D: np.ndarray, noise: float, look: int, eps: float,
                jump: np.ndarray, steep: np.ndarray, ends: tuple[np.ndarray, np.ndarray], A: Args,
                Bq: Args, Wa: np.ndarray, Wb: np.ndarray) -> tuple:
        """Reclassify the deepened segments (in `jump` and `steep`, in place): a jump stays one, ending at
        its deepest inputs; a steep one adds its largest ratio per level past the floor."""
        d_end, r_end = ends
        still = resolution.still_jumps(deep, R, D, noise, look)
        for i, c in enumerate(deep.idx):
            r, d = deep.full(R, D, i)
            if still[i]:
                d_end[c], r_end[c] = d[-1], r[-1]
            else:
                jump[c], steep[c] = False, True
        ends_at = deep.idx[still]
        if ends_at.size:  # a confirmed jump's counterexample is the pair of inputs it ended at
            rows = np.flatnonzero(still)
            A = tuple(_put(x, ends_at, take((y,), rows)[0]) for x, y in zip(A, deep.A))
            Bq = tuple(_put(x, ends_at, take((y,), rows)[0]) for x, y in zip(Bq, deep.B))
            Wa, Wb = _put(Wa, ends_at, deep.Wa[rows]), _put(Wb, ends_at, deep.Wb[rows])
        past: list[tuple[float, float]] = []
        flat = ~still
        for t in range(1, int(deep.depth.max(initial=0)) + 1):
            seen = flat & (deep.depth >= t) & (deep.deltas[t] > 1e3 * eps) & (deep.radii[t] > 0)
            if seen.any():
                q = np.where(seen, deep.deltas[t] / np.where(seen, deep.radii[t], 1.0), 0.0)
                k = int(np.argmax(q))
                if np.isfinite(q[k]):
                    past.append((float(deep.radii[t][k]), float(q[k])))
        return A, Bq, Wa, Wb, past


def _put(x: np.ndarray, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    out = np.array(x, copy=True)
    out[rows] = values
    return out


def _segment(subject: Subject, j: int, A: Args, Bq: Args, first: tuple[Args, Args],
             Wa: np.ndarray | None = None, Wb: np.ndarray | None = None) -> dict:
    """The counterexample of segment `j`: its final two inputs (and weights); summarized when large,
    with the arrays of its first segment aside, so a replay can bisect it again."""
    a1, b1 = take(A, [j]), take(Bq, [j])
    names = subject.domain.arg_names
    if not summary.large(a1):
        ce = {"input": {k: v.tolist() for k, v in subject.domain.as_dict(a1).items()},
              "other_input": {k: v.tolist() for k, v in subject.domain.as_dict(b1).items()}}
        if Wa is not None and Wb is not None:
            ce.update({"weights": Wa[j].tolist(), "other_weights": Wb[j].tolist()})
        return ce
    tokens = safety_tokens(subject)
    shown_a, arrays = summary.sample(names, a1, tokens, "input")
    shown_b, more = summary.sample(names, b1, tokens, "other_input")
    arrays.update(more)
    for side, args in zip(("start", "end"), first):
        arrays.update({f"{side}/{n}": a for n, a in zip(names, take(args, [j]))})
    ce = {"input": shown_a, "other_input": shown_b, summary.ARRAYS: arrays}
    if Wa is not None and Wb is not None:
        ce.update({"weights": summary.weights_summary(Wa[j], ()), "other_weights": summary.weights_summary(Wb[j], ())})
    return ce
