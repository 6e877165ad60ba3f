"""Reading the sweep as it is evaluated, when the byte budget binds.

At a large vocabulary each sweep batch is as large as the byte budget allows,
and keeping every batch with its weights until the checks run would hold all
of them at once.  Instead the value checks read each batch as soon as it is
evaluated, and only its first few samples (copies, so the batch itself is
freed) stay for the checks that run on the sweep afterwards, with the size of
the batch they came from.  What the value checks record is the same as when
they read the kept batches afterwards: each check's evidence only accumulates,
batch by batch, in the same order.
"""

from __future__ import annotations

import numpy as np

from ..checks.base import Evaluated
from ..checks.evidence import Evidence
from ..checks.registry import PROPERTY_CHECKS
from ..checks.subject import Subject
from ..sampling.domains import Family
from .search import value_checks


def observed(subject: Subject, ev: Evidence, e: Evaluated, keep: int) -> Evaluated:
    """Run every value check on `e`; return its first `keep` samples, marked as already observed."""
    where = f"sweep family {e.family.name!r}"
    for check in value_checks(subject):
        check.observe(subject, ev, e.family.args, e.w, e.W, where, "sweep")
    args = tuple(np.array(np.asarray(a)[:keep]) for a in e.family.args)
    # the weights stay only for a selected check that reads them afterwards (`Check.reads_weights`); at a
    # large vocabulary they are as large as the inputs
    w = np.array(e.w[:keep]) if any(PROPERTY_CHECKS[p].reads_weights for p in subject.ids) else None
    kept = Evaluated(Family(e.family.name, args), w, None if w is None else subject.domain.canonical(w),
                     samples=e.samples)
    kept.observed = True
    return kept
