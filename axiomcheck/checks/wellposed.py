"""Well-posedness checks that need calls of their own: determinism, batch independence, K = 1.

The shape check has no calls of its own: every call is shape-checked by
`Subject.call`, and a wrong shape is recorded against `<scale>.shape`.
"""

from __future__ import annotations

import numpy as np

from ..calling.sandbox import OperatorMisbehaved, accepts_teachers
from ..report import summary
from ..sampling.domains import Args, Family, concat, take
from . import properties as P
from .base import NO_PARAMS, Check, Subject, fmt, fmt_w, sample_ce
from .evidence import Evidence, Finding


class Evaluated:
    """One sweep batch and the weights the operator returned for it."""

    observed = False  # True when the value checks already read the full batch (see engine.streaming)

    def __init__(self, family: Family, w: np.ndarray | None, W: np.ndarray | None):
        self.family, self.w, self.W = family, w, W


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


class Shape(Check):
    """Decided by every call (see `Subject.call`); nothing of its own to run."""

    property = "shape"

    def run(self, subject: Subject, ev: Evidence, evaluated: list[Evaluated]) -> None:
        return None


class Deterministic(Check):
    """Two calls on the same batch must agree bit for bit (NaN and inf compare equal to themselves)."""

    property = "deterministic"

    def run(self, subject: Subject, ev: Evidence, evaluated: list[Evaluated]) -> None:
        did = subject.id(self.property)
        mixed = mixed_batch(evaluated, limit=subject.mixed_limit)
        if mixed is None:
            return
        try:
            w1 = subject.call(mixed)
            w2 = subject.call(mixed)
        except OperatorMisbehaved as exc:
            ev.fail(did, subject.misbehaved(exc, mixed, "the determinism batch"))
            return
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

    def run(self, subject: Subject, ev: Evidence, evaluated: list[Evaluated]) -> None:
        bid = subject.id(self.property)
        mixed = mixed_batch(evaluated, limit=subject.mixed_limit)
        if mixed is None:
            return
        try:
            W1 = subject.domain.canonical(subject.call(mixed))
        except OperatorMisbehaved as exc:
            ev.fail(bid, subject.misbehaved(exc, mixed, "the batch-independence batch"))
            return
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


def fixed_teachers(subject: Subject) -> str | None:
    """Why the operator is built for the world's K only (None: nothing says so).

    Either it declares `world={"teachers": K}`, or a parameter set it is checked
    with holds an array whose last axis is K (one output per teacher).
    """
    declared = subject.op.declared_world.get("teachers")
    if declared is not None:
        return f"the operator declares world={{'teachers': {declared}}}"
    k = subject.world.teachers
    if k > 1 and subject.params is not NO_PARAMS:
        for leaf in _leaves(subject.params):
            shape = np.shape(leaf)
            if len(shape) >= 1 and shape[-1] == k and _numeric(leaf):
                return f"its parameters fix K = {k} (an array of shape {tuple(shape)} with one entry per teacher)"
    return None


def _leaves(tree: object, depth: int = 0) -> list[object]:
    """The array-like leaves of a parameter pytree (dicts, lists and tuples of arrays), a few levels deep."""
    if depth > 8:
        return []
    if isinstance(tree, dict):
        return [leaf for v in tree.values() for leaf in _leaves(v, depth + 1)]
    if isinstance(tree, (list, tuple)) and not (tree and all(isinstance(x, (int, float)) for x in tree)):
        return [leaf for v in tree for leaf in _leaves(v, depth + 1)]
    return [tree] if hasattr(tree, "shape") or isinstance(tree, (list, tuple)) else []


def _numeric(leaf: object) -> bool:
    try:
        return np.asarray(leaf).dtype.kind in "fiuc"
    except Exception:  # noqa: BLE001 - a leaf numpy cannot read is no evidence of K
        return False


class SingleTeacher(Check):
    """K = 1 feeds only the well-posedness checks (bounds and orders are stated for the world's K).

    An operator built for a fixed K (`fixed_teachers`) is not fed the K = 1
    family; the finite and shape results say so beside their verdicts.
    """

    property = "finite"

    def applies(self, subject: Subject) -> str | None:
        rule = subject.scale.single_teacher
        if subject.world.teachers == 1 or rule == "never":
            return "the world has one teacher" if subject.world.teachers == 1 else "not for this scale"
        if rule == "keyword" and not accepts_teachers(subject.op.fn):
            return "the function takes no `teachers` keyword, so it cannot be told K = 1"
        return self.fixed(subject)

    @staticmethod
    def fixed(subject: Subject) -> str | None:
        """Why an operator built for one K is not fed the K = 1 family (None: nothing says it is)."""
        fixed = fixed_teachers(subject)
        if fixed is None:
            return None
        return f"K = 1 family not run: {fixed}, so it is built for K = {subject.world.teachers} only"

    def run(self, subject: Subject, ev: Evidence, evaluated: list[Evaluated]) -> None:
        fid, sid = subject.id("finite"), subject.id("shape")
        w1 = subject.world.with_teachers(1)
        fams = subject.domain.sweep(np.random.default_rng(subject.seed + 1), w1, 8)
        for fam in fams:
            where = f"K = 1 family {fam.name!r}"
            try:
                w = subject.call(fam.args, world=w1)
            except OperatorMisbehaved as exc:
                msg = subject.misbehaved(exc, fam.args, where)
                k = subject.world.teachers
                if exc.kind == "shape" and exc.shape in subject.domain.expected_shape(subject.world, fam.size):
                    msg += (f"; given one teacher it returned the weights of {k}: if it is built for K = {k}, "
                            f"declare world={{'teachers': {k}}} and the K = 1 family is not run")
                ev.fail(sid if exc.kind in ("shape", "dtype") else fid, msg)
                if subject.op_dead:
                    return
                continue
            W = subject.domain.canonical(w)
            v = P.finite(W)
            ev.count(fid, W.shape[0])
            if v.any:
                b, r = v.worst()
                ev.find(fid, Finding(1.0, "weights must be finite", fmt_w(W[b, r]), f"{where}, sample {b}",
                                     sample_ce(subject, fam.args, b, w, where), "sweep", finite=False))
