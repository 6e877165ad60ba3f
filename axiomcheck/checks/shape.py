"""The shape check: the returned array has the scale's declared shape and a real floating dtype.

It is decided on every call of the operator, in any phase: `Subject.call` hands
each result to `Shape.conform` before another check reads it, and a result that
does not conform is an `OperatorMisbehaved` of a kind this check owns (`owns`),
recorded as this check's error rather than every check's.  Its own run counts
the sweep samples whose weights conformed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..calling.sandbox import OperatorMisbehaved
from .base import Check, Evaluated

if TYPE_CHECKING:
    from ..sampling.domains import World
    from .evidence import Evidence
    from .subject import Subject


class Shape(Check):
    property = "shape"
    calls_operator = False  # decided by the calls every phase makes; nothing of its own to call

    #: the kinds of operator failure `conform` raises, and this check owns
    KINDS = ("shape", "dtype")

    @staticmethod
    def conform(subject: Subject, w: np.ndarray, world: World, n: int) -> None:
        """Raise OperatorMisbehaved unless `w`, the operator's result on `n` samples in `world`,
        has one of the scale's shapes and a real floating dtype."""
        expected = subject.domain.expected_shape(world, n)
        if w.shape not in expected:
            want = " or ".join(str(s) for s in expected)
            raise OperatorMisbehaved("shape", f"returned shape must be {want} ({subject.scale.signature}), "
                                              f"got {w.shape}", shape=tuple(w.shape))
        if not np.issubdtype(w.dtype, np.floating):
            raise OperatorMisbehaved("dtype", f"returned dtype must be a real floating type, got {w.dtype}")

    def owns(self, exc: OperatorMisbehaved) -> bool:
        return exc.kind in self.KINDS

    def run(self, subject: Subject, ev: Evidence, evaluated: list[Evaluated]) -> None:
        sid = subject.id(self.property)
        for e in evaluated:
            ev.count(sid, e.samples)
