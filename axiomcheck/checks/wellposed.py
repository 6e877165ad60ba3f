"""Well-posedness checks that compare calls of their own: determinism and batch independence.

The shape check is `checks.shape`, the K = 1 family `checks.single_teacher`.
"""

from __future__ import annotations

import numpy as np

from ..calling.sandbox import OperatorMisbehaved
from ..report import summary
from ..sampling.domains import Args, concat, take
from . import properties as P
from .base import Check, Evaluated, fmt
from .evidence import Evidence, Finding
from .subject import Subject, sample_ce


def mixed_batch(evaluated: list[Evaluated], per_family: int = 16, limit: int | None = None) -> Args | None:
    """A few samples of every evaluated family in one batch.

    With `limit` (the byte budget's, at a large vocabulary) and more families than
    it allows, one sample each of `limit` families spread evenly over the sweep.
    """
    if not evaluated:
        return None
    if limit is not None and len(evaluated) * min(per_family, evaluated[0].family.size) > limit:
        picks = np.unique(np.linspace(0, len(evaluated) - 1, max(limit, 1)).round().astype(int))
        return concat([take(evaluated[i].family.args, slice(0, 1)) for i in picks])
    return concat([take(e.family.args, slice(0, per_family)) for e in evaluated])


def no_finite_output(subject: Subject, n: int) -> str:
    """The error of a comparison check whose batch came back without one finite weight: nothing to compare."""
    finite_id = subject.id("finite")
    see = f" (see {finite_id})" if finite_id else ""
    return (f"cannot be judged: no finite output: every weight returned for the {n} samples compared was NaN or "
            f"inf{see}")


def _called_on_mixed(subject: Subject, ev: Evidence, cid: str, evaluated: list[Evaluated], what: str,
                     times: int) -> tuple[Args, list] | None:
    """The mixed sweep batch and `times` calls of the operator on it; None when there is no batch,
    or when a call misbehaved (then recorded against `cid`)."""
    mixed = mixed_batch(evaluated, limit=subject.mixed_limit)
    if mixed is None:
        return None
    try:
        return mixed, [subject.call(mixed) for _ in range(times)]
    except OperatorMisbehaved as exc:
        ev.fail(cid, subject.misbehaved(exc, mixed, what))
        return None


class Deterministic(Check):
    """Two calls on the same batch must agree bit for bit (NaN and inf compare equal to themselves)."""

    property = "deterministic"
    failed_means = "non-deterministic"

    def run(self, subject: Subject, ev: Evidence, evaluated: list[Evaluated]) -> None:
        did = subject.id(self.property)
        called = _called_on_mixed(subject, ev, did, evaluated, "the determinism batch", times=2)
        if called is None:
            return
        mixed, (w1, w2) = called
        W1, W2 = subject.domain.canonical(w1), subject.domain.canonical(w2)
        diff = P.max_abs_diff(W1, W2)
        ev.count(did, mixed[0].shape[0])
        if (diff > 0).any():
            b = int(np.argmax(diff))
            ev.find(did, Finding(float(diff[b]), "two calls on the same input must give identical weights",
                                 f"‖Δw‖∞ = {fmt(float(diff[b]))}", f"sample {b} of the mixed sweep batch",
                                 sample_ce(subject, mixed, b, w1, "mixed sweep batch"), "sweep"))
        elif not np.isfinite(W1).any():
            ev.fail(did, no_finite_output(subject, mixed[0].shape[0]))


class BatchIndependent(Check):
    """A sample's weights must not change with the rest of its batch."""

    property = "batch_independent"
    rests_on = ("deterministic",)  # two calls that differ anyway say nothing about the batch
    failed_means = "dependent on the rest of its batch"

    def run(self, subject: Subject, ev: Evidence, evaluated: list[Evaluated]) -> None:
        bid = subject.id(self.property)
        called = _called_on_mixed(subject, ev, bid, evaluated, "the batch-independence batch", times=1)
        if called is None:
            return
        mixed, (w,) = called
        W1 = subject.domain.canonical(w)
        n = mixed[0].shape[0]
        tol = subject.tol
        variants = [("the batch reversed", np.arange(n)[::-1]), ("the first half alone", np.arange(n // 2)),
                    ("the second half alone", np.arange(n // 2, n)), ("sample 0 alone", np.arange(1))]
        for label, idx in variants:
            part = take(mixed, idx)
            try:
                wv = subject.call(part)
            except OperatorMisbehaved as exc:
                ev.fail(bid, subject.misbehaved(exc, part, label))
                return
            dv = P.max_abs_diff(subject.domain.canonical(wv), W1[idx])
            ev.count(bid, len(idx))
            if (dv > tol).any():
                j = int(np.argmax(dv))
                ce = sample_ce(subject, mixed, int(idx[j]), None, "mixed sweep batch")
                if summary.ARRAYS in ce:  # large: the replay needs the whole batch the sample was part of
                    ce[summary.ARRAYS].update({f"batch/{n}": a for n, a in zip(subject.domain.arg_names, mixed)})
                ev.find(bid, Finding(float(dv[j]),
                                     f"a sample's weights must not depend on the rest of its batch (±{tol:.2g})",
                                     f"‖Δw‖∞ = {fmt(float(dv[j]))} between the full batch and {label}",
                                     f"sample {int(idx[j])} of the mixed sweep batch", ce, "sweep"))
        if not ev.found(bid) and not np.isfinite(W1).any():
            ev.fail(bid, no_finite_output(subject, n))
