"""One certifier per property: a branch and bound run, turned into a `Certificate`.

Each function takes a `Job` (the operator, its domain, one parameter set, the
tolerance, a clock) and returns what is proved: finite, positivity (or λ ≥ 0),
bounds (declared, derived for a composition, or only "some w_min > 0"), the
normalization, the safety order (on tokens, or on a context `Region`), and
the Lipschitz bound in the scale's metric.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..report.certificate import Certificate, gap_text
from ..spec.operator import Safety
from ..spec.scales import SCALES
from . import bnb
from . import evaluate as E
from . import hessian as Hs
from . import judges as J
from .interval import Unenclosable
from .region import Region
from .space import Space, points

REFUTE_POINTS = 16  # box centres tried on the real operator per round of the search
SECOND_ORDER_WIDTH = 0.05  # Hessians are carried for boxes at most this wide (relative to the domain)


@dataclasses.dataclass
class Job:
    """The operator under certification with one parameter set."""

    op: Any
    dom: Space
    params: Any
    tol: float
    clock: bnb.Deadline
    gap: float
    lipschitz_lower: float = 0.0
    metric: str = ""

    order: bool = False  # the safety check reads pairwise order relations; the others need not compute them
    cache: dict = dataclasses.field(default_factory=dict)  # shared by the checks of one operator

    def evaluate(self, boxes: bnb.Boxes, force: dict | None = None, second: bool = False) -> E.Enclosed:
        key = None
        order = self.order
        if force is None and len(boxes) <= 4:  # the root boxes every check starts from: evaluated once
            order = True  # with the order relations, so the safety check can reuse it
            key = (boxes.lo.tobytes(), boxes.hi.tobytes(), None if boxes.labels is None else
                   boxes.labels.tobytes(), id(self.params), second)
            if key in self.cache:
                return self.cache[key]
        ev = E.on_boxes(self.op, self.dom, boxes.lo, boxes.hi, boxes.labels, self.params, force, order, second)
        if key is not None and len(self.cache) < 64:
            self.cache[key] = ev
        return ev

    def refuter(self, violates: Callable[..., np.ndarray], with_inputs: bool = False
                ) -> Callable[[bnb.Boxes], dict[str, Any] | None]:
        def refute(boxes: bnb.Boxes) -> dict[str, Any] | None:
            # the centres of (at most) REFUTE_POINTS boxes, padded to that many rows so a framework that
            # compiles per shape (JAX) compiles once
            take = np.resize(np.arange(len(boxes)), REFUTE_POINTS)
            boxes = boxes.take(take)
            u = points(self.dom, boxes.lo, boxes.hi)
            try:
                arrays, W = E.at_points(self.op, self.dom, u, boxes.labels, self.params)
                bad = violates(W, arrays) if with_inputs else violates(W)
            except Exception:  # noqa: BLE001 - a point where the operator fails is not a counterexample here
                return None
            i = J.first_true(np.asarray(bad))
            if i is None:
                return None
            return {"input": {k: np.asarray(v)[i:i + 1].tolist() for k, v in arrays.items()},  # a batch of 1
                    "weights": np.asarray(W)[i].tolist(),
                    "where": "the certifier's search (the centre of a box it could not decide)"}
        return refute


def _cert(job: Job, proof: bnb.Proof, what: str, region_text: str | None = None, **extra: Any) -> Certificate:
    status = "proved" if proof.proved else ("refuted" if proof.counterexample is not None else "unknown")
    bound = None if not (np.isfinite(proof.qlo) or np.isfinite(proof.qhi)) and proof.qlo > proof.qhi else \
        [float(proof.qlo), float(proof.qhi)]
    reason = None
    if status == "unknown":
        shown = f"[{proof.qlo:.6g}, {proof.qhi:.6g}]" if bound else "none"
        reason = f"{what} not proved on every box ({proof.reason}; {proof.boxes} boxes; enclosure reached {shown})"
    elif status == "refuted":
        reason = f"{what} is violated at the counterexample"
    return Certificate(status=status, domain=job.dom.text(region_text), domain_data=job.dom.data(), bound=bound,
                       reason=reason, counterexample=proof.counterexample, **extra)


def _prove(job: Job, judge: Any, violates: Any, what: str, start: bnb.Boxes | None = None,
           with_inputs: bool = False, region_text: str | None = None) -> Certificate:
    start = bnb.roots(job.dom) if start is None else start
    proof = bnb.prove(job.dom, start, job.evaluate, judge, job.refuter(violates, with_inputs), job.clock)
    return _cert(job, proof, what, region_text)


def finite(job: Job) -> Certificate:
    judge, violates = J.finite()
    return _prove(job, judge, violates, "finiteness")


def positivity(job: Job) -> Certificate:
    judge, violates = J.lower_bound(0.0, strict=True)
    return _prove(job, judge, violates, "w_k > 0")


def nonnegativity(job: Job) -> Certificate:
    judge, violates = J.lower_bound(0.0, strict=False)
    return _prove(job, judge, violates, "λ_t ≥ 0")


def bounds(job: Job, declared: tuple[float, float] | None, origin: str) -> Certificate:
    if declared is None:
        judge, violates = J.lower_bound(0.0, strict=True, upper=np.inf)
        cert = _prove(job, judge, violates, "some w_min > 0 (no bounds declared)")
        return cert
    lo, hi = declared
    judge, violates = J.lower_bound(lo, strict=False, upper=hi, tol=job.tol)
    return _prove(job, judge, violates, f"the {origin} bounds [{lo:.6g}, {hi:.6g}] (±{job.tol:.2g})")


def normalization(job: Job) -> Certificate:
    judge, violates = J.normalization(job.tol)
    over = "Σ_t λ_t" if SCALES[job.op.scale].task_importance else "Σ_k w_k"
    return _prove(job, judge, violates, f"{over} = 1 (±{job.tol:.2g})")


# ----------------------------------------------------------------------------- safety


def _token_rows(tokens: tuple[int, ...], vocab: int) -> Callable[[int, int], np.ndarray]:
    def rows(B: int, R: int) -> np.ndarray:
        if R == 1:
            return np.ones((B, 1), bool)
        return np.broadcast_to(np.isin(np.arange(R) % vocab, tokens), (B, R)).copy()
    return rows


def _all_rows(B: int, R: int) -> np.ndarray:
    return np.ones((B, R), bool)


def _region_start(job: Job, reg: Region) -> tuple[bnb.Boxes, str]:
    """The root boxes cut to the region's box (a half-space is handled box by box)."""
    c = job.dom.coord("context")
    if c is None:
        raise Unenclosable("a context safety set on an operator without a context input")
    lo, hi = job.dom.lo(), job.dom.hi()
    rlo, rhi = reg.box(c.size)
    lo[c.start:c.stop] = np.maximum(lo[c.start:c.stop], rlo)
    hi[c.start:c.stop] = np.minimum(hi[c.start:c.stop], rhi)
    if np.any(lo > hi):
        return bnb.Boxes(np.zeros((0, job.dom.n)), np.zeros((0, job.dom.n)), None), reg.text(c.size)
    return bnb.roots(job.dom, lo, hi), reg.text(c.size)


def _half_space_filter(job: Job, reg: Region, judge: Any) -> Any:
    if reg.a is None:
        return judge
    c = job.dom.coord("context")
    a = np.zeros(c.size)
    a[: len(reg.a)] = reg.a

    def wrapped(ev: E.Enclosed, boxes: bnb.Boxes) -> bnb.Judged:
        j = judge(ev, boxes)
        lo, hi = boxes.lo[:, c.start:c.stop], boxes.hi[:, c.start:c.stop]
        top = np.maximum(a * lo, a * hi).sum(axis=1)
        outside = top < reg.b  # the whole box misses a·c ≥ b
        j.ok = j.ok | outside
        return j
    return wrapped


def safety(job: Job, specs: list[tuple[str, Safety]]) -> Certificate:
    """Every declared (safer, less safe) pair ordered on its safety set, for each spec (token or context)."""
    job.order = True
    certs = []
    for scale, spec in specs:
        pairs = list(spec.ordered_pairs())
        if spec.tokens is not None:
            rows = _token_rows(tuple(spec.tokens), job.dom.world.vocab)
            judge, violates = J.safety(pairs, rows, job.tol)
            certs.append(_prove(job, judge, violates, f"the {scale} safety order on tokens {list(spec.tokens)}",
                                region_text=f"the safety-critical tokens {list(spec.tokens)}"))
            continue
        reg = spec.contexts
        if not isinstance(reg, Region):
            return Certificate(status="unknown", domain=job.dom.text(), domain_data=job.dom.data(),
                               reason="the safety set is a Python predicate (declare it with ac.region(...) "
                                      "to certify the safety order)")
        start, text = _region_start(job, reg)
        c = job.dom.coord("context")
        def inside(arrays, reg=reg):
            return (reg(arrays["context"]))
        judge, violates = J.safety(pairs, _all_rows, job.tol, inside)
        judge = _half_space_filter(job, reg, judge)
        if len(start) == 0:
            certs.append(Certificate(status="proved", domain=job.dom.text(f"the safety set {text}"),
                                     domain_data=job.dom.data(), reason=f"the safety set {text} does not meet "
                                     f"the domain of context (c ∈ [{c.lo.min():g}, {c.hi.max():g}]^{c.size})"))
            continue
        certs.append(_prove(job, judge, violates, f"the {scale} safety order on the safety set {text}", start,
                            with_inputs=True, region_text=f"on the safety set {text}"))
    return merge(certs)


def merge(certs: list[Certificate]) -> Certificate:
    """One certificate for several parts (safety specs, parameter sets): refuted > unknown > proved."""
    for status in ("refuted", "unknown"):
        for c in certs:
            if c.status == status:
                return dataclasses.replace(c, bound=_hull(certs), lipschitz_upper=_worst_l(certs))
    base = certs[0]
    return dataclasses.replace(base, bound=_hull(certs), lipschitz_upper=_worst_l(certs))


def _hull(certs: list[Certificate]) -> list[float] | None:
    bs = [c.bound for c in certs if c.bound is not None]
    if not bs:
        return None
    return [min(b[0] for b in bs), max(b[1] for b in bs)]


def _worst_l(certs: list[Certificate]) -> float | None:
    ls = [c.lipschitz_upper for c in certs if c.lipschitz_upper is not None]
    return max(ls) if ls else None


# ----------------------------------------------------------------------------- Lipschitz


def regularity(job: Job, declared: float | None) -> Certificate:
    """An upper bound on the Lipschitz constant in the scale's metric; with a declared L, whether it holds.

    Output rows that share no coordinate (the tasks of a task operator) are searched apart.
    """
    metric = job.dom.metric_mask()
    start = bnb.roots(job.dom)
    parts = J.groups(job.evaluate(start), metric)
    if len(parts) == 1:
        parts = [(None, None)]
    results = []
    for i, (rows, dims) in enumerate(parts):
        share = bnb.Deadline(max(job.clock.left(), 0.0) / (len(parts) - i))
        results.append(_lipschitz(job, metric, rows, dims, start, share))
    upper = max(r.upper for r in results)
    lower = max(r.lower for r in results)
    gap = None
    if np.isfinite(upper) and lower > 0:
        gap = upper / lower - 1.0
    elif np.isfinite(upper) and upper == 0.0:
        gap = 0.0
    base = dict(domain=job.dom.text(), domain_data=job.dom.data(), lipschitz_upper=float(upper), metric=job.metric,
                gap=gap)
    if not np.isfinite(upper):
        why = "; ".join(dict.fromkeys(r.reason for r in results if r.reason))
        return Certificate(status="unknown", reason=f"no finite Lipschitz bound on the domain: {why}", **base)
    if declared is not None:
        if upper <= declared:
            return Certificate(status="proved", **base)
        return Certificate(status="unknown", reason=f"the certified bound {upper:.6g} exceeds the declared L = "
                           f"{declared:.6g} (lower bound {lower:.6g}; the true constant lies between)", **base)
    reason = None
    if gap is not None and gap > job.gap:
        reason = f"Lipschitz (hence continuous); the gap to the lower bound {lower:.6g} stayed at {gap_text(gap)}"
    return Certificate(status="proved", reason=reason, **base)


def _lipschitz(job: Job, metric: np.ndarray, rows: Any, dims: Any, start: bnb.Boxes,
               clock: bnb.Deadline) -> bnb.LipschitzBound:
    plain = J.lipschitz_bound(metric, rows, dims)
    centre = J.centre_lower(metric, rows)

    scale = np.maximum(job.dom.hi() - job.dom.lo(), 1e-300)
    found = [0.0]  # lower bounds seen at the centres the second-order bound evaluates anyway

    def evaluate2(boxes: bnb.Boxes, force: dict | None = None) -> E.Enclosed:
        # Hessians pay off on narrow boxes (their bound's excess shrinks like r²), not on wide ones
        narrow = len(boxes) > 0 and float(np.max((boxes.hi - boxes.lo) / scale)) <= SECOND_ORDER_WIDTH
        return job.evaluate(boxes, force, second=narrow and force is None)

    def bound(ev: E.Enclosed, boxes: bnb.Boxes, target: float) -> tuple[np.ndarray, np.ndarray, list[str]]:
        up, sm, why = plain(ev, boxes)
        up = J.kink_cases(ev, boxes, up, job.evaluate, plain, target)
        up, low = _second_order(job, ev, boxes, up, target, metric, rows, centre)
        found[0] = max(found[0], low)
        return up, sm, why

    def at_points(boxes: bnb.Boxes) -> np.ndarray:
        # the centre and points just inside two opposite corners (a corner itself may sit on a kink)
        u = np.concatenate([points(job.dom, boxes.lo, boxes.hi, w) for w in (0.5, 1e-6, 1.0 - 1e-6)])
        labels = None if boxes.labels is None else np.tile(boxes.labels, 3)
        try:
            low = centre(job.evaluate(bnb.Boxes(u, u.copy(), labels)))
        except Unenclosable:
            return np.zeros(len(boxes))
        return np.maximum(low.reshape(3, len(boxes)).max(axis=0), found[0])

    return bnb.lipschitz(job.dom, start, evaluate2, bound, at_points, job.lipschitz_lower, job.gap, clock)


def _second_order(job: Job, ev: E.Enclosed, boxes: bnb.Boxes, up: np.ndarray, target: float,
                  metric: np.ndarray, rows: Any, centre: Any) -> tuple[np.ndarray, float]:
    """Tighter bounds from J at each box's centre and the Hessian on the box (and the lower bound seen there)."""
    W, tr = ev.W, ev.trace
    if W.hlo is None:
        return up, 0.0
    cand = np.where((up > target) & np.isfinite(up) & ~tr.disc & ~tr.poison)[0]
    if not len(cand):
        return up, 0.0
    sub = boxes.take(cand)
    u = points(job.dom, sub.lo, sub.hi)
    try:
        ctr = job.evaluate(bnb.Boxes(u, u.copy(), sub.labels))
    except Unenclosable:
        return up, 0.0
    ok = ~(ctr.trace.disc | ctr.trace.poison)
    r = np.maximum(u - sub.lo, sub.hi - u)
    so = Hs.second_order_bound((ctr.W.jlo, ctr.W.jhi), (W.hlo[cand], W.hhi[cand]), r, metric, rows)
    out = up.copy()
    out[cand] = np.where(ok, np.minimum(up[cand], so), up[cand])
    return out, float(np.max(centre(ctr), initial=0.0))


def timed(fn: Callable[[], Certificate]) -> Certificate:
    t0 = time.perf_counter()
    try:
        cert = fn()
    except Unenclosable as exc:
        cert = Certificate(status="unknown", reason=f"the certifier cannot enclose {exc}")
    except Exception as exc:  # noqa: BLE001 - the user's code on interval inputs: unknown, never a crash
        cert = Certificate(status="unknown", reason=f"the operator could not be run on interval inputs: "
                                                    f"{type(exc).__name__}: {exc}")
    return dataclasses.replace(cert, elapsed_s=time.perf_counter() - t0)
