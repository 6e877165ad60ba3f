"""The K = 1 family: the operator told it has one teacher must still give finite weights of the right shape.

A check with no catalogue row of its own (`feeds`): it runs after the catalogue's
checks and adds to the evidence of `finite` and `shape`.
"""

from __future__ import annotations

import numpy as np

from ..calling.sandbox import OperatorMisbehaved, accepts_teachers
from . import properties as P
from .base import NO_PARAMS, Check, Evaluated, fmt_w
from .evidence import Evidence, Finding
from .shape import Shape
from .subject import Subject, sample_ce


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

    It has no catalogue row of its own: what it finds is the `finite` and `shape`
    checks' evidence.  An operator built for a fixed K (`fixed_teachers`) is not
    fed the K = 1 family; the finite and shape results say so beside their verdicts.
    """

    property = "single_teacher"
    feeds = ("finite", "shape")

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

    def skipped(self, subject: Subject, ev: Evidence, reason: str) -> None:
        """An operator built for one K: said beside the verdicts the K = 1 family would have fed
        (the other reasons concern the scale or the world, and go unsaid)."""
        if reason == self.fixed(subject):
            for prop in self.feeds:
                ev.aside(subject.id(prop), reason)

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
                ev.fail(sid if exc.kind in Shape.KINDS else fid, msg)
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
