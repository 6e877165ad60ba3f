"""The overflow-safe squared norm m² Σ (x/m)², m = max |x| (0/0 avoided by where(m > 0, m, 1)), as Σ x².

Written that way to avoid overflow, the squared norm passes through
q = x / where(m > 0, m, 1), which really jumps where x = 0 (its direction
changes); only the product with m² makes it continuous again.  Interval
arithmetic cannot see that: the `where` marks the row as possibly jumping and
the Lipschitz bound is infinite.  This rule recognises the whole composite
(the tags set by the max-abs, `where`, division, square and sum on the way),
encloses it as Σ x² — the same real function, whose Jacobian is 2 Σ x J_x —
and asks the trace to drop the jump, which it does only if the operator used
none of the jumping intermediates for anything else (`Trace.settle`).  The
values keep the enclosure of the operator's own float computation, intersected
with Σ x² widened by its float error.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ops, reduce
from . import rounding as R
from .interval import Interval


def scaled_square_sum(ivs: list[Interval], out: Interval) -> None:
    for P, T in (ivs, ivs[::-1]):
        m = P.tags.get("square_of")
        tag = T.tags.get("sum")
        if m is None or tag is None:
            continue
        Rq, ax = tag["src"], tag["ax"]
        Q = Rq.tags.get("square_of")
        unit = None if Q is None else Q.tags.get("unit_of")
        if unit is None:
            continue
        x, S = unit
        ma = S.tags.get("maxabs")
        if ma is None or not ma.get("safe") or ma.get("m") is not m or ma["src"] is not x or ma["ax"] != ax:
            continue
        if out.shape != m.shape or T.shape != m.shape or x.ndim != m.ndim + 1:
            continue
        _replace(out, x, ax, [(ma["where"], ma["where"].uses), (S, S.uses), (Q, Q.uses), (Rq, Rq.uses),
                              (T, T.uses)], ma["where"].tags.get("jump"))
        return


def _replace(out: Interval, x: Interval, ax: int, objs: list[tuple[Any, int]], jid: int | None) -> None:
    v = reduce.sum_(ops.integer_pow(x, 2), ax)
    d = x.shape[ax]
    eps = (2 * d + 8) * R.eps(out.dtype)
    lo, hi = R.down(v.lo - np.abs(v.lo) * eps), R.up(v.hi + np.abs(v.hi) * eps)
    new_lo, new_hi = np.maximum(out.lo, lo), np.minimum(out.hi, hi)
    if np.any(new_lo > new_hi):
        return
    out.lo, out.hi = new_lo, new_hi
    if v.jlo is not None:
        out.jlo, out.jhi = np.broadcast_to(v.jlo, out.shape + (v.jlo.shape[-1],)), \
            np.broadcast_to(v.jhi, out.shape + (v.jhi.shape[-1],))
        out.hlo, out.hhi = v.hlo, v.hhi
    if jid is not None:
        out.trace.retire.append((jid, objs))
