"""Order and three-valued logic on interval arrays: max/min, clip, comparisons, where.

A comparison is true, false or undecided on a box; `where` takes the chosen
branch where its condition is decided and the hull of both where it is not,
and marks the row as possibly discontinuous unless the branches provably meet
(`where(x > c, x, c)`).  A max, min or meeting `where` left open on a box is a
kink: the Jacobian there is the hull of both branches (Clarke's), or, when the
Lipschitz search re-evaluates the box case by case (`Trace.force`), the branch
each case asks for.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import hessian as Hs
from . import hooks
from .interval import Interval, Trace, Unenclosable, lift, result_dtype
from .ops import Pair, _tags, make, operands

# ----------------------------------------------------------------------------- order


def extremum(kind: str, a: Any, b: Any, *, ignore_nan: bool = False) -> Interval:
    """maximum / minimum (fmax / fmin with ignore_nan): the hull of the Jacobians where the winner is undecided."""
    tr, (A, B), shape = operands(a, b)
    dtype = result_dtype(a, b)
    if kind == "max":
        lo, hi = np.maximum(A.lo, B.lo), np.maximum(A.hi, B.hi)
        a_wins, b_wins = A.lo > B.hi, B.lo > A.hi
    else:
        lo, hi = np.minimum(A.lo, B.lo), np.minimum(A.hi, B.hi)
        a_wins, b_wins = A.hi < B.lo, B.hi < A.lo
    jac: Any = (None, None)
    H = None
    if A.jlo is not None or B.jlo is not None:
        ja, jb = A.jac_or_zero(tr.n), B.jac_or_zero(tr.n)
        aw, bw = np.broadcast_to(a_wins, shape), np.broadcast_to(b_wins, shape)
        jac = _choose(tr, ~aw & ~bw, aw, bw, ja, jb, shape)
        if Hs.wanted(A, B):
            H = Hs.unknown_at(_choose_h(aw, bw, A, B, shape, tr.n), ~aw & ~bw)
    nan = None
    if ignore_nan and (A.nan is not None or B.nan is not None):
        nan = A.may_nan() & B.may_nan()
        lo = np.where(A.may_nan() | B.may_nan(), np.minimum(A.lo, B.lo) if kind == "max" else lo, lo)
        hi = np.where(A.may_nan() | B.may_nan(), np.maximum(A.hi, B.hi) if kind == "min" else hi, hi)
        A2 = Interval(A.lo, A.hi, A.jlo, A.jhi, dtype=A.dtype, trace=tr, rowdep=A.rowdep)
        B2 = Interval(B.lo, B.hi, B.jlo, B.jhi, dtype=B.dtype, trace=tr, rowdep=B.rowdep)
        return make(lo, hi, dtype, tr, [A2, B2], jac, nan, rounded="none")
    out = make(lo, hi, dtype, tr, [A, B], jac, rounded="none")
    Hs.attach(out, H)
    for x, c in ((A, B), (B, A)):  # max(−inf, m) is m: keep what m is (jax.nn.softmax's max)
        if not c.rowdep and np.all(c.hi == (-np.inf if kind == "max" else np.inf)) and x.shape == out.shape \
                and "max" in x.tags:
            out.tags["max"] = x.tags["max"]
    return _tags("maximum" if kind == "max" else "minimum", [A, B], out)


def clip(a: Any, a_min: Any = None, a_max: Any = None, **kw: Any) -> Interval:
    if kw.get("out") is not None:
        raise Unenclosable("clip(..., out=...)")
    x = a
    if a_min is not None:
        x = extremum("max", x, a_min)
    if a_max is not None:
        x = extremum("min", x, a_max)
    return x


# ----------------------------------------------------------------------------- three-valued logic


def boolean(t: np.ndarray, f: np.ndarray, tr: Trace, rowdep: bool, tags: dict | None = None) -> Interval:
    """A boolean interval: `t` where certainly true, `f` where certainly false, undecided elsewhere."""
    return Interval(np.asarray(t, float), 1.0 - np.asarray(f, float), dtype=np.bool_, trace=tr, rowdep=rowdep,
                    tags=tags)


def truth(c: Any, shape: tuple[int, ...], tr: Trace) -> tuple[np.ndarray, np.ndarray]:
    """(certainly true, certainly false) of a condition broadcast to `shape`."""
    C = lift(c, tr)
    t = np.broadcast_to(C.lo > 0, shape)
    f = np.broadcast_to((C.hi == 0) & (C.lo == 0) & ~C.may_nan(), shape)
    if C.dtype.kind == "f":  # a float used as a condition: nonzero is true, NaN is true
        t = np.broadcast_to((C.lo > 0) | (C.hi < 0) | C.may_nan(), shape)
        f = np.broadcast_to((C.lo == 0) & (C.hi == 0) & ~C.may_nan(), shape)
        t = t & ~f
    return t, f


def compare(name: str, a: Any, b: Any) -> Interval:
    tr, (A, B), shape = operands(a, b)
    nan = A.may_nan() | B.may_nan()
    if name == "greater":
        t, f = A.lo > B.hi, A.hi <= B.lo
    elif name == "greater_equal":
        t, f = A.lo >= B.hi, A.hi < B.lo
    elif name == "less":
        t, f = A.hi < B.lo, A.lo >= B.hi
    elif name == "less_equal":
        t, f = A.hi <= B.lo, A.lo > B.hi
    elif name in ("equal", "not_equal"):
        same = (A.lo == A.hi) & (B.lo == B.hi) & (A.lo == B.lo)
        apart = (A.hi < B.lo) | (A.lo > B.hi)
        t, f = (same, apart) if name == "equal" else (apart, same)
    else:
        raise Unenclosable(f"comparison {name}")
    if name == "not_equal":
        f = f & ~nan
    else:
        t = t & ~nan
    out = boolean(np.broadcast_to(t, shape), np.broadcast_to(f, shape), tr, A.rowdep or B.rowdep,
                  {"cmp": (name, A, B)})
    return _tags("cmp_" + name, [A, B], out)


def logical(kind: str, a: Any, b: Any) -> Interval:
    tr, (A, B), shape = operands(a, b)
    ta, fa = truth(A, shape, tr)
    tb, fb = truth(B, shape, tr)
    if kind == "and":
        t, f = ta & tb, fa | fb
    elif kind == "or":
        t, f = ta | tb, fa & fb
    elif kind == "xor":
        t, f = (ta & fb) | (fa & tb), (ta & tb) | (fa & fb)
    else:
        raise Unenclosable(f"logical {kind}")
    return boolean(t, f, tr, A.rowdep or B.rowdep)


def logical_not(a: Any) -> Interval:
    tr, (A,), shape = operands(a)
    if A.dtype.kind in "iuf" and A.dtype != np.bool_:
        raise Unenclosable("bitwise not (~) of a numeric interval array")
    t, f = truth(A, shape, tr)
    return boolean(f, t, tr, A.rowdep)


def classify(name: str, a: Any) -> Interval:
    """isfinite, isnan, isinf."""
    tr, (A,), shape = operands(a)
    nan = A.may_nan()
    finite = np.isfinite(A.lo) & np.isfinite(A.hi) & ~nan
    certainly_inf = (A.lo == A.hi) & np.isinf(A.lo) & ~nan
    if name == "isfinite":
        t, f = finite, (A.lo == A.hi) & np.isinf(A.lo)
    elif name == "isnan":
        t, f = np.zeros(shape, bool), ~nan
    elif name == "isinf":
        t, f = certainly_inf, finite
    else:
        raise Unenclosable(name)
    return boolean(t, f, tr, A.rowdep)


def where(cond: Any, a: Any, b: Any, what: str = "where") -> Interval:
    """select: the chosen branch where the condition is decided, the hull of both where it is not."""
    tr, (C, A, B), shape = operands(cond, a, b)
    t, f = truth(C, shape, tr)
    u = ~t & ~f
    dtype = result_dtype(a, b)
    lo = np.where(t, A.lo, np.where(f, B.lo, np.minimum(A.lo, B.lo)))
    hi = np.where(t, A.hi, np.where(f, B.hi, np.maximum(A.hi, B.hi)))
    na, nb = np.broadcast_to(A.may_nan(), shape), np.broadcast_to(B.may_nan(), shape)
    nan = np.where(t, na, np.where(f, nb, na | nb))
    jac: Any = (None, None)
    jid = None
    meet = _meet(C, A, B, shape) if u.any() else np.zeros(shape, bool)
    H = None
    if A.jlo is not None or B.jlo is not None:
        ja, jb = A.jac_or_zero(tr.n), B.jac_or_zero(tr.n)
        jac = _choose(tr, u & meet, t, f, ja, jb, shape, hull_also=u & ~meet)
        if Hs.wanted(A, B, C):
            H = Hs.unknown_at(_choose_h(t, f, A, B, shape, tr.n), u)
    if u.any() and (C.rowdep or A.rowdep or B.rowdep or tr.elem_bad is not None):
        jump = u & ~meet
        if jump.any():
            jid = tr.jump(jump, f"{what}(...) with a condition undecided on the box (the two branches may not meet)")
    out = Interval(lo, hi, jac[0], jac[1], dtype=dtype, trace=tr, nan=nan,
                   rowdep=C.rowdep or A.rowdep or B.rowdep)
    Hs.attach(out, H)
    if jid is not None:
        out.tags["jump"] = jid
    hooks.run("after_where", C, A, B, out, t, f)
    return out


def _choose(tr: Trace, open_: np.ndarray, first: np.ndarray, second: np.ndarray, ja: Pair, jb: Pair,
            shape: tuple[int, ...], hull_also: np.ndarray | None = None) -> Pair:
    """The Jacobian where one of two branches is taken: decided entries take theirs; open ones (a kink) take the
    hull of both (Clarke), or the branch a forced re-evaluation asks for."""
    forced = tr.choice(open_)
    n = tr.n
    fa, fb = np.broadcast_to(first, shape)[..., None], np.broadcast_to(second, shape)[..., None]
    hlo, hhi = np.minimum(ja[0], jb[0]), np.maximum(ja[1], jb[1])
    if forced is not None:
        o = np.broadcast_to(open_, shape)[..., None]
        fc = np.broadcast_to(forced, shape)[..., None]
        fa, fb = fa | (o & ~fc), fb | (o & fc)
    jlo = np.where(fa, ja[0], np.where(fb, jb[0], hlo))
    jhi = np.where(fa, ja[1], np.where(fb, jb[1], hhi))
    if hull_also is not None:
        h = np.broadcast_to(hull_also, shape)[..., None]
        jlo, jhi = np.where(h, hlo, jlo), np.where(h, hhi, jhi)
    return np.broadcast_to(jlo, shape + (n,)), np.broadcast_to(jhi, shape + (n,))


def _choose_h(first: np.ndarray, second: np.ndarray, A: Interval, B: Interval, shape: tuple[int, ...],
              n: int) -> Pair:
    """The Hessian of a selection: the chosen branch's where decided, the hull of both elsewhere (such rows
    are marked rough by `_choose`, and their Hessians are not used for a bound)."""
    ha, hb = Hs._hz(A, n), Hs._hz(B, n)
    fa = np.broadcast_to(first, shape)[..., None, None]
    fb = np.broadcast_to(second, shape)[..., None, None]
    lo = np.where(fa, ha[0], np.where(fb, hb[0], np.minimum(ha[0], hb[0])))
    hi = np.where(fa, ha[1], np.where(fb, hb[1], np.maximum(ha[1], hb[1])))
    return np.broadcast_to(lo, shape + (n, n)), np.broadcast_to(hi, shape + (n, n))


def _meet(C: Interval, A: Interval, B: Interval, shape: tuple[int, ...]) -> np.ndarray:
    """Where the branches provably agree on the condition's boundary (no jump is possible)."""
    same_const = (A.lo == A.hi) & (B.lo == B.hi) & (A.lo == B.lo) & ~A.may_nan() & ~B.may_nan()
    out = np.broadcast_to(same_const, shape)
    cmp = C.tags.get("cmp")
    if cmp is not None and cmp[0] in ("greater", "greater_equal", "less", "less_equal"):
        _, X, Y = cmp
        for P, Q in ((X, Y), (Y, X)):  # where(x > c, x, c): both branches equal x = c on the boundary
            if not Q.rowdep and Q.jlo is None and np.all(Q.lo == Q.hi):
                if (A is P and B is Q) or (A is Q and B is P):
                    return np.ones(shape, bool)
                if (A is P and np.all(B.lo == B.hi) and np.array_equal(np.broadcast_to(B.lo, shape),
                                                                        np.broadcast_to(Q.lo, shape))):
                    return np.ones(shape, bool)
    return out
