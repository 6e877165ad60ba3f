"""Reductions and contractions: sum, mean, max/min, argmax, sort, any/all, matmul and einsum.

A sum of n terms is enclosed with the error bound of any summation order in
the operator's dtype (γ_{n−1} Σ|x|); a max or min takes the hull of the
Jacobians of the entries that could be the extreme one; a sort takes, for each
output slot, the hull over the entries that could land there (sorting is
continuous, so no jump is recorded); an argmax whose winner is undecided
poisons its row (no certificate there).  Reducing over the batch axis (axis 0)
fails closed.  Contractions are broadcast products followed by sums.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import facts, hooks
from . import hessian as Hs
from . import ivmath as iv
from . import rounding as R
from .interval import Interval, Unenclosable, lift, trace_of
from .logic import boolean, truth
from .ops import divide, multiply
from .structure import expand_dims, reshape, transpose


def _axes(x: Interval, axis: Any) -> tuple[int, ...]:
    if axis is None:
        axes = tuple(range(x.ndim))
    else:
        axes = tuple(sorted({int(a) % x.ndim for a in np.atleast_1d(axis)})) if x.ndim else ()
    if x.rowdep and x.trace.guard and 0 in axes:
        raise Unenclosable("a reduction over the batch axis (axis 0): the operator combines samples of the batch")
    return axes


def _no(kw: dict, *names: str) -> None:
    for n in names:
        if kw.get(n) is not None:
            raise Unenclosable(f"a reduction with {n}=")


def sum_(x: Any, axis: Any = None, keepdims: bool = False, dtype: Any = None, out: Any = None, **kw: Any) -> Interval:
    _no({"out": out, **kw}, "out", "where", "initial")
    tr = trace_of(x)
    X = lift(x, tr)
    axes = _axes(X, axis)
    if dtype is not None:
        rdt = np.dtype(dtype)
    elif X.dtype.kind in "bi":
        rdt = np.dtype(np.int64)
    elif X.dtype.kind == "u":
        rdt = np.dtype(np.uint64)
    else:
        rdt = X.dtype
    lo, hi = iv.sum_axis(X.lo, X.hi, axes, keepdims, rdt)
    lo, hi = R.to_dtype(lo, hi, rdt)
    nan = None
    if X.nan is not None or np.isinf(X.lo).any() or np.isinf(X.hi).any():
        pinf = (X.hi == np.inf).any(axis=axes, keepdims=keepdims)
        ninf = (X.lo == -np.inf).any(axis=axes, keepdims=keepdims)
        nan = X.may_nan().any(axis=axes, keepdims=keepdims) | (pinf & ninf)
    jlo = jhi = None
    if X.jlo is not None:
        jlo, jhi = iv.sum_axis(X.jlo, X.jhi, axes, keepdims, np.dtype(np.float64))
    res = Interval(lo, hi, jlo, jhi, dtype=rdt, trace=tr, nan=nan, rowdep=X.rowdep)
    if Hs.wanted(X) and X.hlo is not None:
        res.hlo, res.hhi = iv.sum_axis(X.hlo, X.hhi, axes, keepdims, np.dtype(np.float64))
    hooks.run("after_sum", X, axes, keepdims, res)
    return res


def mean(x: Any, axis: Any = None, keepdims: bool = False, dtype: Any = None, out: Any = None, **kw: Any) -> Interval:
    X = lift(x, trace_of(x))
    axes = _axes(X, axis)
    count = int(np.prod([X.shape[a] for a in axes])) if axes else 1
    s = sum_(X, axes, keepdims, dtype, out, **kw)
    if s.dtype.kind in "iu":
        s = Interval(s.lo, s.hi, s.jlo, s.jhi, dtype=np.float64, trace=s.trace, nan=s.nan, rowdep=s.rowdep)
    return divide(s, np.asarray(count, dtype=s.dtype))


def extreme(x: Any, axis: Any = None, keepdims: bool = False, kind: str = "max", out: Any = None,
            initial: Any = None, where: Any = None) -> Interval:
    _no({"out": out, "where": where}, "out", "where")
    tr = trace_of(x)
    X = lift(x, tr)
    axes = _axes(X, axis)
    if kind == "max":
        lo, hi = X.lo.max(axis=axes, keepdims=True), X.hi.max(axis=axes, keepdims=True)
        cand = X.hi >= lo
    else:
        lo, hi = X.lo.min(axis=axes, keepdims=True), X.hi.min(axis=axes, keepdims=True)
        cand = X.lo <= hi
    init_cand = None
    if initial is not None:
        c = float(initial)
        init_cand = (c >= lo) if kind == "max" else (c <= hi)
        lo, hi = (np.maximum(lo, c), np.maximum(hi, c)) if kind == "max" else (np.minimum(lo, c), np.minimum(hi, c))
    nan = X.may_nan().any(axis=axes, keepdims=True) if X.nan is not None else None
    jlo = jhi = None
    if X.jlo is not None:
        c3 = cand[..., None]
        jlo = np.where(c3, X.jlo, np.inf).min(axis=axes, keepdims=True)
        jhi = np.where(c3, X.jhi, -np.inf).max(axis=axes, keepdims=True)
        if init_cand is not None:
            jlo = np.where(init_cand[..., None], np.minimum(jlo, 0.0), jlo)
            jhi = np.where(init_cand[..., None], np.maximum(jhi, 0.0), jhi)
    hlo = hhi = None
    if Hs.wanted(X) and X.hlo is not None:
        c5 = cand[..., None, None]
        hlo = np.where(c5, X.hlo, np.inf).min(axis=axes, keepdims=True)
        hhi = np.where(c5, X.hhi, -np.inf).max(axis=axes, keepdims=True)
        if init_cand is not None:
            hlo = np.where(init_cand[..., None, None], np.minimum(hlo, 0.0), hlo)
            hhi = np.where(init_cand[..., None, None], np.maximum(hhi, 0.0), hhi)
    if hlo is not None:  # an undecided max: no Hessian there
        n_cand = cand.sum(axis=axes, keepdims=True) + (0 if init_cand is None else init_cand)
        hlo, hhi = Hs.unknown_at((hlo, hhi), n_cand > 1)
    if not keepdims:
        lo, hi = np.squeeze(lo, axes), np.squeeze(hi, axes)
        nan = None if nan is None else np.squeeze(nan, axes)
        if jlo is not None:
            jlo, jhi = np.squeeze(jlo, axes), np.squeeze(jhi, axes)
        if hlo is not None:
            hlo, hhi = np.squeeze(hlo, axes), np.squeeze(hhi, axes)
    res = Interval(lo, hi, jlo, jhi, dtype=X.dtype, trace=tr, nan=nan, rowdep=X.rowdep, hlo=hlo, hhi=hhi)
    hooks.run("after_extreme", X, axes, keepdims, kind, res)
    return res


def argext(x: Any, axis: Any = None, kind: str = "max", **kw: Any) -> np.ndarray:
    """argmax / argmin: a plain index array; a row where the winner is undecided is poisoned."""
    _no(kw, "out")
    tr = trace_of(x)
    X = lift(x, tr)
    if axis is None:
        if X.rowdep and tr.guard:
            raise Unenclosable("argmax/argmin over the flattened array (it mixes the batch axis)")
        X = reshape(X, (-1,))
        axis = 0
    ax = int(axis) % X.ndim
    _axes(X, ax)
    if kind == "max":
        best = X.lo.max(axis=ax, keepdims=True)
        cand = X.hi >= best
        idx = np.argmax(X.lo, axis=ax)
    else:
        best = X.hi.min(axis=ax, keepdims=True)
        cand = X.lo <= best
        idx = np.argmin(X.hi, axis=ax)
    undecided = cand.sum(axis=ax) > 1
    if X.nan is not None:
        undecided = undecided | X.may_nan().any(axis=ax)
    if undecided.any():
        if not X.rowdep:
            raise Unenclosable(f"arg{kind} of values with a possible tie")
        tr.lost(undecided, f"arg{kind} with an undecided winner (a tie is possible on the box)")
    return idx


def any_all(x: Any, axis: Any, keepdims: bool, kind: str) -> Interval:
    tr = trace_of(x)
    X = lift(x, tr)
    axes = _axes(X, axis)
    t, f = truth(X, X.shape, tr)
    if kind == "any":
        rt, rf = t.any(axis=axes, keepdims=keepdims), f.all(axis=axes, keepdims=keepdims)
    else:
        rt, rf = t.all(axis=axes, keepdims=keepdims), f.any(axis=axes, keepdims=keepdims)
    return boolean(rt, rf, tr, X.rowdep)


def sort(x: Any, axis: Any = -1, **kw: Any) -> Interval:
    tr = trace_of(x)
    X = lift(x, tr)
    if axis is None:
        X = reshape(X, (-1,))
        axis = 0
    ax = int(axis) % X.ndim
    _axes(X, ax)
    if X.nan is not None:
        raise Unenclosable("sort of values that may be NaN (their place is not known)")
    lo, hi = np.sort(X.lo, axis=ax), np.sort(X.hi, axis=ax)
    jlo = jhi = None
    if X.jlo is not None:
        xl, xh = np.moveaxis(X.lo, ax, -1), np.moveaxis(X.hi, ax, -1)
        sl, sh = np.moveaxis(lo, ax, -1), np.moveaxis(hi, ax, -1)
        cand = (xh[..., None, :] >= sl[..., :, None]) & (xl[..., None, :] <= sh[..., :, None])  # [..., slot, i]
        jl, jh = np.moveaxis(X.jlo, ax, -2), np.moveaxis(X.jhi, ax, -2)  # [..., i, n]
        c4 = cand[..., None]
        jlo = np.where(c4, jl[..., None, :, :], np.inf).min(axis=-2)
        jhi = np.where(c4, jh[..., None, :, :], -np.inf).max(axis=-2)
        jlo, jhi = np.moveaxis(jlo, -2, ax), np.moveaxis(jhi, -2, ax)
    res = Interval(lo, hi, jlo, jhi, dtype=X.dtype, trace=tr, rowdep=X.rowdep)

    facts.after_sort(X, ax, res)
    return res


def prod(x: Any, axis: Any = None, keepdims: bool = False, **kw: Any) -> Interval:
    _no(kw, "out", "where", "initial", "dtype")
    X = lift(x, trace_of(x))
    axes = _axes(X, axis)
    if len(axes) != 1:
        raise Unenclosable("prod over several axes")
    ax = axes[0]
    acc: Any = None
    for i in range(X.shape[ax]):
        part = X[(slice(None),) * ax + (slice(i, i + 1),)]
        acc = part if acc is None else multiply(acc, part)
    if acc is None:
        raise Unenclosable("prod over an empty axis")
    return acc if keepdims else reshape(acc, X.shape[:ax] + X.shape[ax + 1:])


# ----------------------------------------------------------------------------- contractions

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def einsum(spec: str, *operands: Any, **kw: Any) -> Interval:
    """einsum as broadcast products and sums (no repeated index within one operand)."""
    _no({k: v for k, v in kw.items() if k not in ("optimize", "dtype")}, *kw)
    tr = trace_of(*operands)
    xs = [lift(o, tr) for o in operands]
    spec = spec.replace(" ", "")
    if "->" in spec:
        ins, out = spec.split("->")
    else:
        ins, out = spec, None
    terms = ins.split(",")
    if len(terms) != len(xs):
        raise Unenclosable(f"einsum {spec!r} with {len(xs)} operands")
    free = [c for c in _LETTERS if c not in spec]
    n_ell = max((x.ndim - len(t.replace("...", "")) for t, x in zip(terms, xs) if "..." in t), default=0)
    ell = "".join(free[:n_ell])
    full = []
    for t, x in zip(terms, xs):
        if "..." in t:
            k = x.ndim - len(t.replace("...", ""))
            t = t.replace("...", ell[n_ell - k:])
        if len(set(t)) != len(t) or len(t) != x.ndim:
            raise Unenclosable(f"einsum {spec!r}: a repeated index or a rank mismatch")
        full.append(t)
    if out is None:
        counts = {c: "".join(full).count(c) for c in set("".join(full))}
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    else:
        out = out.replace("...", ell)
    contracted = sorted({c for t in full for c in t} - set(out))
    order = list(out) + contracted
    prod_: Any = None
    for t, x in zip(full, xs):
        perm = sorted(range(len(t)), key=lambda i: order.index(t[i]))
        y = transpose(x, perm) if perm != list(range(len(t))) else x
        present = [t[i] for i in perm]
        missing = [i for i, c in enumerate(order) if c not in present]
        y = expand_dims(y, tuple(missing)) if missing else y
        prod_ = y if prod_ is None else multiply(prod_, y)
    if len(xs) > 2:
        lo, hi = R.widen_ulps(prod_.lo, prod_.hi, len(xs), prod_.dtype)
        prod_ = Interval(lo, hi, prod_.jlo, prod_.jhi, dtype=prod_.dtype, trace=tr, nan=prod_.nan,
                         rowdep=prod_.rowdep)
    if contracted:
        prod_ = sum_(prod_, tuple(range(len(out), len(order))))
    return prod_


def matmul(a: Any, b: Any) -> Interval:
    tr = trace_of(a, b)
    A, B = lift(a, tr), lift(b, tr)
    if A.ndim == 0 or B.ndim == 0:
        raise Unenclosable("matmul with a scalar")
    if B.ndim == 1:
        return einsum("...i,i->...", A, B)
    if A.ndim == 1:
        return einsum("i,...ij->...j", A, B)
    return einsum("...ij,...jk->...ik", A, B)


def dot(a: Any, b: Any) -> Interval:
    tr = trace_of(a, b)
    A, B = lift(a, tr), lift(b, tr)
    if A.ndim <= 2 and B.ndim <= 2:
        return matmul(A, B)
    la = _LETTERS[: A.ndim]
    lb = _LETTERS[A.ndim: A.ndim + B.ndim]
    lb = lb[:-2] + la[-1] + lb[-1]
    return einsum(f"{la},{lb}", A, B)


def tensordot(a: Any, b: Any, axes: Any = 2) -> Interval:
    tr = trace_of(a, b)
    A, B = lift(a, tr), lift(b, tr)
    if isinstance(axes, (int, np.integer)):
        ax_a, ax_b = list(range(A.ndim - axes, A.ndim)), list(range(axes))
    else:
        ax_a, ax_b = [list(np.atleast_1d(v)) for v in axes]
    la = list(_LETTERS[: A.ndim])
    lb = list(_LETTERS[A.ndim: A.ndim + B.ndim])
    for i, j in zip(ax_a, ax_b):
        lb[int(j) % B.ndim] = la[int(i) % A.ndim]
    out = [c for c in la if c not in lb] + [c for c in lb if c not in la]
    return einsum(f"{''.join(la)},{''.join(lb)}->{''.join(out)}", A, B)
