"""Moving entries around: indexing, assignment, reshape, transpose, broadcast, concatenate, repeat, casts.

Values, NaN flags and Jacobians move together (the Jacobian's last axis, the
certified coordinates, stays last).  Every operation on a row-dependent array
is checked with a *row probe*: the same operation is applied to an array that
holds each entry's row number, and the result must still hold row b in
position b of axis 0 — so an operator that reshapes, transposes or indexes
across its batch fails closed instead of mixing boxes.

Slices and reshapes are views in numpy; here they are copies that remember
their base.  Writing into the base makes such a view stale (reading it again
fails closed), and writing into a view fails closed: nothing the operator does
with aliasing can make an enclosure silently wrong.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import facts, hooks
from . import hessian as Hs
from . import rounding as R
from .interval import _UIDS, Interval, Trace, Unenclosable, lift, result_dtype, trace_of
from .logic import compare
from .ops import step_function


def _probe(x: Interval) -> np.ndarray:
    n = x.shape[0] if x.ndim else 1
    return np.broadcast_to(np.arange(n).reshape((n,) + (1,) * (x.ndim - 1)), x.shape) if x.ndim else np.zeros(())


def check_rows(out_probe: np.ndarray, tr: Trace, what: str) -> None:
    """The row probe after an operation must still have row b at position b of axis 0."""
    if not tr.guard:
        return
    ok = out_probe.ndim >= 1 and out_probe.shape[0] == tr.rows
    if ok:
        want = np.arange(tr.rows).reshape((tr.rows,) + (1,) * (out_probe.ndim - 1))
        ok = bool(np.all(out_probe == want))
    if not ok:
        raise Unenclosable(f"{what} mixes or moves the batch axis (axis 0); every certified array keeps one box "
                           f"per batch row")


def _view_of(base: Interval, out: Interval) -> Interval:
    out.is_view = True
    base._views.append(weakref.ref(out))
    return out


def _derived(x: Interval, fn: Any, jfn: Any, what: str, *, view: bool = False, hfn: Any = None) -> Interval:
    """Apply the same rearrangement `fn` to values and NaN flags, `jfn` to the Jacobian (one trailing axis)
    and `hfn` to the Hessian (two; without `hfn` a Hessian is dropped, never guessed)."""
    x.uses += 1
    lo, hi = np.array(fn(x.lo)), np.array(fn(x.hi))
    nan = None if x.nan is None else np.array(fn(np.asarray(x.nan)))
    jlo = jhi = hlo = hhi = None
    if x.jlo is not None:
        jlo, jhi = np.array(jfn(x.jlo)), np.array(jfn(x.jhi))
    if x.hlo is not None and hfn is not None:
        hlo, hhi = np.array(hfn(x.hlo)), np.array(hfn(x.hhi))
    if x.rowdep:
        check_rows(np.asarray(fn(_probe(x))), x.trace, what)
    out = Interval(lo, hi, jlo, jhi, dtype=x.dtype, trace=x.trace, nan=nan, rowdep=x.rowdep, hlo=hlo, hhi=hhi)
    if x.tags:

        facts.transport(x, out, lambda a: fn(np.broadcast_to(a, x.shape)))
    return _view_of(x, out) if view else out


def _key_tuple(key: Any) -> tuple:
    return key if isinstance(key, tuple) else (key,)


def _jkey(key: tuple, extra: int = 1) -> tuple:
    """`key` for an array with `extra` trailing coordinate axes (1: a Jacobian, 2: a Hessian)."""
    tail = (slice(None),) * extra
    return key + tail if any(k is Ellipsis for k in key) else key + (Ellipsis,) + tail


def _plain_key(key: tuple) -> tuple:
    out = []
    for k in key:
        if isinstance(k, Interval):
            raise Unenclosable("indexing with an interval array (an index that depends on the input values)")
        if isinstance(k, (list, tuple)) and any(isinstance(v, Interval) for v in k):
            raise Unenclosable("indexing with a list holding interval arrays")
        out.append(k)
    return tuple(out)


def _basic(key: tuple) -> bool:
    return all(k is None or k is Ellipsis or isinstance(k, (slice, int, np.integer)) for k in key)


def getitem(x: Interval, key: Any) -> Interval:
    k = _plain_key(_key_tuple(key))
    jk, hk = _jkey(k), _jkey(k, 2)
    out = _derived(x, lambda a: a[k], lambda j: j[jk], "indexing", view=_basic(k), hfn=lambda h: h[hk])

    facts.after_getitem(x, k, out)
    return out


def setitem(x: Interval, key: Any, value: Any) -> None:
    if not isinstance(x, Interval):
        raise Unenclosable("assignment of interval values into a plain array")
    if x.is_view:
        raise Unenclosable("writing into a slice or reshaped view of an interval array")
    x.uses += 1
    k = _plain_key(_key_tuple(key))
    tr = x.trace
    v = lift(value, tr)
    target_shape = np.empty(x.shape, dtype=np.int8)[k].shape
    try:
        vlo, vhi = np.broadcast_to(v.lo, target_shape), np.broadcast_to(v.hi, target_shape)
    except ValueError as exc:
        raise Unenclosable(f"an assignment of shape {v.shape} into {target_shape}") from exc
    if v.rowdep or x.rowdep:
        target_rows = _probe(x)[k]
        if v.rowdep and tr.guard:
            if v.ndim != len(target_shape):
                raise Unenclosable("an assignment that moves the batch axis (axis 0)")
            if not np.all(np.broadcast_to(_probe(v), target_shape) == target_rows):
                raise Unenclosable("an assignment across rows of the batch (axis 0)")
    lo, hi = R.to_dtype(vlo, vhi, x.dtype)
    for ref in x._views:
        view = ref()
        if view is not None:
            view.stale = True
    x._views = []
    old = Interval(x.lo.copy(), x.hi.copy(), x.jlo, x.jhi, dtype=x.dtype, trace=tr, nan=x.nan, rowdep=x.rowdep,
                   tags=dict(x.tags), hlo=x.hlo, hhi=x.hhi)
    x.lo = np.array(x.lo)
    x.hi = np.array(x.hi)
    x.lo[k], x.hi[k] = lo, hi
    if x.nan is not None or v.nan is not None:
        nan = np.array(x.may_nan())
        nan[k] = np.broadcast_to(v.may_nan(), target_shape)
        x.nan = nan if nan.any() else None
    if x.jlo is not None or v.jlo is not None:
        jlo, jhi = (np.array(a) for a in x.jac_or_zero(tr.n))
        vj = v.jac_or_zero(tr.n)
        jk = _jkey(k)
        jlo[jk] = np.broadcast_to(vj[0], target_shape + (tr.n,))
        jhi[jk] = np.broadcast_to(vj[1], target_shape + (tr.n,))
        x.jlo, x.jhi = jlo, jhi
        if tr.second and (old.jlo is None or old.hlo is not None) and (v.jlo is None or v.hlo is not None):
            hx, hv = Hs._hz(old, tr.n), Hs._hz(v, tr.n)
            hlo, hhi = np.array(np.broadcast_to(hx[0], x.shape + (tr.n, tr.n))), \
                np.array(np.broadcast_to(hx[1], x.shape + (tr.n, tr.n)))
            hk = _jkey(k, 2)
            hlo[hk] = np.broadcast_to(hv[0], target_shape + (tr.n, tr.n))
            hhi[hk] = np.broadcast_to(hv[1], target_shape + (tr.n, tr.n))
            x.hlo, x.hhi = hlo, hhi
        else:
            x.hlo = x.hhi = None
    x.rowdep = x.rowdep or v.rowdep
    x.tags = {}
    facts.after_setitem(old, k, v, x)
    x.uid = next(_UIDS)


def copy(x: Interval) -> Interval:
    x.uses += 1
    out = Interval(x.lo.copy(), x.hi.copy(), None if x.jlo is None else x.jlo.copy(),
                   None if x.jhi is None else x.jhi.copy(), dtype=x.dtype, trace=x.trace,
                   nan=None if x.nan is None else np.array(x.nan), rowdep=x.rowdep, tags=dict(x.tags),
                   hlo=x.hlo, hhi=x.hhi)

    facts.after_copy(x, out)
    return out


def _resolve(shape: Any, x: Interval) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    return np.empty(x.shape, dtype=np.int8).reshape(tuple(shape)).shape


def reshape(x: Interval, shape: Any, order: str = "C") -> Interval:
    if order != "C":
        raise Unenclosable(f"reshape with order={order!r}")
    new = _resolve(shape, x)
    return _derived(x, lambda a: a.reshape(new), lambda j: j.reshape(new + (j.shape[-1],)), "reshape", view=True,
                    hfn=lambda h: h.reshape(new + h.shape[-2:]))


def transpose(x: Interval, axes: Any) -> Interval:
    axes = tuple(range(x.ndim))[::-1] if axes is None else tuple(int(a) % x.ndim for a in axes)
    return _derived(x, lambda a: a.transpose(axes), lambda j: j.transpose(axes + (x.ndim,)), "transpose", view=True,
                    hfn=lambda h: h.transpose(axes + (x.ndim, x.ndim + 1)))


def swapaxes(x: Interval, a: int, b: int) -> Interval:
    perm = list(range(x.ndim))
    a, b = a % x.ndim, b % x.ndim
    perm[a], perm[b] = perm[b], perm[a]
    return transpose(x, perm)


def moveaxis(x: Interval, source: Any, destination: Any) -> Interval:
    src = [int(a) % x.ndim for a in np.atleast_1d(source)]
    dst = [int(a) % x.ndim for a in np.atleast_1d(destination)]
    order = [a for a in range(x.ndim) if a not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(x, order)


def squeeze(x: Interval, axis: Any = None) -> Interval:
    if axis is None:
        axes = tuple(i for i, s in enumerate(x.shape) if s == 1)
    else:
        axes = tuple(int(a) % x.ndim for a in np.atleast_1d(axis))
    return _derived(x, lambda a: np.squeeze(a, axes), lambda j: np.squeeze(j, axes), "squeeze", view=True,
                    hfn=lambda h: np.squeeze(h, axes))


def expand_dims(x: Interval, axis: Any) -> Interval:
    axes = np.atleast_1d(axis)
    nd = x.ndim + len(axes)
    axes = tuple(sorted(int(a) % nd for a in axes))
    return _derived(x, lambda a: np.expand_dims(a, axes), lambda j: np.expand_dims(j, axes), "expand_dims", view=True,
                    hfn=lambda h: np.expand_dims(h, axes))


def broadcast_to(x: Interval, shape: Any) -> Interval:
    shape = tuple(int(s) for s in np.atleast_1d(shape)) if not isinstance(shape, tuple) else shape
    return _derived(x, lambda a: np.broadcast_to(a, shape), lambda j: np.broadcast_to(j, shape + (j.shape[-1],)),
                    "broadcast_to", hfn=lambda h: np.broadcast_to(h, shape + h.shape[-2:]))


def concatenate(seq: Sequence[Any], axis: Any = 0, dtype: Any = None) -> Interval:
    tr = trace_of(*seq)
    xs = [lift(s, tr) for s in seq]
    if axis is None:
        xs = [reshape(x, (-1,)) for x in xs]
        axis = 0
    nd = xs[0].ndim
    ax = int(axis) % nd
    out_dtype = np.dtype(dtype) if dtype is not None else result_dtype(*xs)
    lo = np.concatenate([x.lo for x in xs], axis=ax)
    hi = np.concatenate([x.hi for x in xs], axis=ax)
    nan = None
    if any(x.nan is not None for x in xs):
        nan = np.concatenate([x.may_nan() for x in xs], axis=ax)
    jlo = jhi = None
    if any(x.jlo is not None for x in xs):
        js = [x.jac_or_zero(tr.n) for x in xs]
        jlo = np.concatenate([j[0] for j in js], axis=ax)
        jhi = np.concatenate([j[1] for j in js], axis=ax)
    hlo = hhi = None
    if tr.second and jlo is not None and all(x.jlo is None or x.hlo is not None for x in xs):
        hs = [Hs._hz(x, tr.n) for x in xs]
        hlo = np.concatenate([h[0] for h in hs], axis=ax)
        hhi = np.concatenate([h[1] for h in hs], axis=ax)
    rowdep = any(x.rowdep for x in xs)
    if rowdep and tr.guard:
        probes = [_probe(x) if x.rowdep else np.broadcast_to(np.arange(x.shape[0]).reshape(
            (x.shape[0],) + (1,) * (x.ndim - 1)), x.shape) if x.ndim else np.zeros(()) for x in xs]
        check_rows(np.concatenate(probes, axis=ax), tr, "concatenate")
    lo, hi = R.to_dtype(lo, hi, out_dtype)
    return Interval(lo, hi, jlo, jhi, dtype=out_dtype, trace=tr, nan=nan, rowdep=rowdep, hlo=hlo, hhi=hhi)


def stack(seq: Sequence[Any], axis: int = 0) -> Interval:
    tr = trace_of(*seq)
    xs = [lift(s, tr) for s in seq]
    return concatenate([expand_dims(x, axis) for x in xs], axis=axis)


def repeat(x: Interval, repeats: Any, axis: Any = None) -> Interval:
    if isinstance(repeats, Interval):
        raise Unenclosable("np.repeat with interval repeat counts")
    if axis is None:
        x = reshape(x, (-1,))
        axis = 0
    ax = int(axis) % x.ndim
    return _derived(x, lambda a: np.repeat(a, repeats, axis=ax), lambda j: np.repeat(j, repeats, axis=ax), "repeat",
                    hfn=lambda h: np.repeat(h, repeats, axis=ax))


def tile(x: Interval, reps: Any) -> Interval:
    r = tuple(np.atleast_1d(reps).tolist())
    full = (1,) * max(0, x.ndim - len(r)) + r
    return _derived(x, lambda a: np.tile(a, full), lambda j: np.tile(j, full + (1,)), "tile",
                    hfn=lambda h: np.tile(h, full + (1, 1)))


def take_along_axis(x: Interval, indices: Any, axis: int) -> Interval:
    if isinstance(indices, Interval):
        raise Unenclosable("take_along_axis with interval indices")
    idx = np.asarray(indices)
    ax = int(axis) % x.ndim
    return _derived(x, lambda a: np.take_along_axis(a, idx, axis=ax),
                    lambda j: np.take_along_axis(j, idx[..., None], axis=ax), "take_along_axis",
                    hfn=lambda h: np.take_along_axis(h, idx[..., None, None], axis=ax))


def take(x: Interval, indices: Any, axis: Any = None) -> Interval:
    if axis is None:
        return getitem(reshape(x, (-1,)), (indices,))
    ax = int(axis) % x.ndim
    return getitem(x, (slice(None),) * ax + (np.asarray(indices),))


def flip(x: Interval, axis: Any = None) -> Interval:
    axes = range(x.ndim) if axis is None else [int(a) % x.ndim for a in np.atleast_1d(axis)]
    key = tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(x.ndim))
    return getitem(x, key)


def astype(x: Any, dtype: Any) -> Any:
    """A cast: floats rounded outwards to the new dtype; to an integer type, truncation (a jump between integers)."""
    if not isinstance(x, Interval):
        return np.asarray(x).astype(dtype)
    dtype = np.dtype(dtype)
    if dtype == x.dtype:
        return copy(x)
    if dtype.kind == "b":
        return compare("not_equal", x, 0.0)
    if dtype.kind in "iu":
        t = step_function("trunc", x)
        return Interval(t.lo, t.hi, t.jlo, t.jhi, dtype=dtype, trace=x.trace, nan=t.nan, rowdep=t.rowdep)
    x.uses += 1
    lo, hi = R.to_dtype(x.lo, x.hi, dtype)
    out = Interval(lo, hi, x.jlo, x.jhi, dtype=dtype, trace=x.trace, nan=x.nan, rowdep=x.rowdep, hlo=x.hlo,
                   hhi=x.hhi)
    hooks.run("after_cast", x, out)
    return out
