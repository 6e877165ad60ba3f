"""Facts that survive rearrangement: a proven sum along an axis, pairwise order relations, multisets.

Positional facts are stored with a *probe*: an integer array holding, for
every entry, its index along the axis the fact is about when it was made.
Every rearrangement (a slice, a broadcast, a repeat, a reshape) is applied to
the probe too, so the axis and the numbering are found again afterwards,
whatever happened in between.  A sort makes a fresh order; writing back a
permutation of an array's own entries (or whole slices from an array with the
same fact) keeps the sum and the order.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import rounding as R
from .interval import Interval


def _index_probe(shape: tuple[int, ...], ax: int) -> np.ndarray:
    n = shape[ax]
    return np.broadcast_to(np.arange(n).reshape((n,) + (1,) * (len(shape) - ax - 1)), shape)


def locate(P: np.ndarray) -> int | None:
    """The axis along which probe `P` varies (and varies only), else None."""
    for t in range(P.ndim):
        if P.shape[t] < 2:
            continue
        base = P[tuple(slice(None) if i == t else slice(0, 1) for i in range(P.ndim))]
        if np.all(P == base) and not np.all(base == base.reshape(-1)[0]):
            return t
    return None


def numbering(P: np.ndarray, t: int) -> np.ndarray:
    return P[tuple(slice(None) if i == t else 0 for i in range(P.ndim))]


# ----------------------------------------------------------------------------- order relations


def _take(a: np.ndarray, t: int, i: int) -> np.ndarray:
    return np.take(a, i, axis=t)


def _pair_bound(x: Interval, order: dict | None, t: int, pi: int, pj: int) -> np.ndarray:
    """Lower bound on x[.., pi, ..] − x[.., pj, ..] along axis t: from x's order tag, else from its values."""
    lo_i, hi_j = _take(np.broadcast_to(x.lo, x.shape), t, pi), _take(np.broadcast_to(x.hi, x.shape), t, pj)
    with np.errstate(invalid="ignore"):
        d = R.down(lo_i - hi_j)
    d = np.where(np.isnan(d), -np.inf, d)
    if order is not None and locate(order["probe"]) == t:
        num = numbering(order["probe"], t)
        key = (int(num[pi]), int(num[pj]))
        if key in order["D"]:
            d = np.maximum(d, _take(order["D"][key], t, pi))
    return d


def pair_lower(x: Interval, t: int, a: int, b: int) -> np.ndarray:
    """A proven lower bound on x[.., a, ..] − x[.., b, ..] (positions along axis t), per remaining index."""
    return _pair_bound(x, x.tags.get("order"), t, a, b)


# ----------------------------------------------------------------------------- rearrangements


def transport(x: Interval, out: Interval, fn: Any) -> None:
    """Carry x's positional tags through a rearrangement `fn` (applied to every tag array)."""
    for key in ("norm", "order", "sum", "maxabs", "max"):
        tag = x.tags.get(key)
        if tag is None:
            continue
        try:
            moved = _move(tag, fn)
        except (ValueError, IndexError, TypeError):
            continue
        if moved is None:
            continue
        if key == "norm":
            t = locate(moved["probe"])
            if t is None or sorted(numbering(moved["probe"], t).tolist()) != list(range(x.shape[locate(tag["probe"])])):
                continue
        out.tags[key] = moved


def _move(tag: dict, fn: Any) -> dict | None:
    moved: dict = {}
    for k, v in tag.items():
        if k in ("probe", "slo", "shi"):
            moved[k] = np.asarray(fn(v))
        elif k == "D":
            moved[k] = {p: np.asarray(fn(d)) for p, d in v.items()}
        elif k == "probes":
            moved[k] = {a: np.asarray(fn(p)) for a, p in v.items()}
        else:
            moved[k] = v
    if "probe" in moved and locate(moved["probe"]) is None:
        return None
    return moved


def after_getitem(x: Interval, key: tuple, out: Interval) -> None:
    simple = _axis_selection(x, key)
    if simple is not None:
        t, sel = simple
        out.tags["multiset"] = {"content": x.tags.get("content", x.uid), "t": t,
                                "positions": tuple(sorted(sel.tolist()))}
        ms = x.tags.get("multiset")
        if ms is not None and ms["t"] == t and sorted(sel.tolist()) == list(range(x.shape[t])):
            out.tags["multiset"] = ms  # a permutation of a multiset is the same multiset
    if "sep" in x.tags and out.shape == x.shape and all(isinstance(k, slice) and k == slice(None) for k in key):
        out.tags["sep"] = x.tags["sep"]


def _axis_selection(x: Interval, key: tuple) -> tuple[int, np.ndarray] | None:
    """`key` = full slices except one 1-d selection on axis t: (t, the selected positions)."""
    if any(k is None or k is Ellipsis for k in key) or len(key) > x.ndim:
        return None
    picks = [(i, k) for i, k in enumerate(key) if not (isinstance(k, slice) and k == slice(None))]
    if len(picks) != 1:
        return None
    t, k = picks[0]
    sel = np.arange(x.shape[t])[k]
    if np.ndim(sel) != 1:
        return None
    return t, np.asarray(sel)


def after_copy(x: Interval, out: Interval) -> None:
    out.tags["content"] = x.tags.get("content", x.uid)


def after_sort(x: Interval, ax: int, out: Interval) -> None:
    k = x.shape[ax]
    probe = _index_probe(x.shape, ax)
    zero = np.zeros(x.shape)
    out.tags["order"] = {"probe": probe, "D": {(i, j): zero for i in range(k) for j in range(i)}}
    norm = x.tags.get("norm")
    if norm is not None and locate(norm["probe"]) == ax:
        out.tags["norm"] = {**norm, "probe": probe}
    ms = x.tags.get("multiset")
    if ms is not None and ms["t"] == ax:
        out.tags["multiset"] = ms


def after_setitem(old: Interval, key: tuple, v: Interval, x: Interval) -> None:
    """Keep a proven sum and order through a write: a permutation of the array's own entries written back
    (the sort-into-the-safety-order idiom), or whole slices along the fact's axis written from an array
    that has the same fact."""
    sel = _axis_selection(old, key)
    ms = v.tags.get("multiset")
    content = old.tags.get("content", old.uid)
    if sel is not None and ms is not None:
        t, idx = sel
        if ms["content"] == content and ms["t"] == t and tuple(sorted(idx.tolist())) == ms["positions"]:
            if "norm" in old.tags and locate(old.tags["norm"]["probe"]) == t:
                x.tags["norm"] = old.tags["norm"]
            _write_order(old, v, t, idx, x)
            return
    _write_norm_full(old, key, v, x)
    _write_order_full(old, key, v, x)


def _keeps(key: tuple, t: int) -> bool:
    """Whether `key` (no Ellipsis, no newaxis) takes axis t whole."""
    if any(k is None or k is Ellipsis for k in key):
        return False
    k = key[t] if t < len(key) else slice(None)
    return isinstance(k, slice) and k == slice(None)


def _target_axis(old: Interval, key: tuple, t: int) -> int | None:
    """Where axis t of `old` lands in old[key]."""
    return locate(_index_probe(old.shape, t)[key])


def _write_norm_full(old: Interval, key: tuple, v: Interval, x: Interval) -> None:
    on, vn = old.tags.get("norm"), v.tags.get("norm")
    if on is None or vn is None:
        return
    t = locate(on["probe"])
    if t is None or not _keeps(key, t) or locate(on["probe"]) != t:
        return
    tt = _target_axis(old, key, t)
    target = np.empty(old.shape)[key].shape
    if tt is None or locate(np.broadcast_to(vn["probe"], target)) != tt:
        return
    slo, shi = np.array(np.broadcast_to(on["slo"], x.shape)), np.array(np.broadcast_to(on["shi"], x.shape))
    slo[key] = np.broadcast_to(vn["slo"], target)
    shi[key] = np.broadcast_to(vn["shi"], target)
    x.tags["norm"] = {"probe": _index_probe(x.shape, t), "slo": slo, "shi": shi}


def _write_order(old: Interval, v: Interval, t: int, idx: np.ndarray, x: Interval) -> None:
    vo = v.tags.get("order")
    if vo is None:
        return
    tv = locate(vo["probe"])
    if tv != t:
        return
    num = numbering(vo["probe"], t)
    probe = _index_probe(x.shape, t)
    D: dict = {}
    oo = old.tags.get("order")
    if oo is not None and locate(oo["probe"]) == t:
        onum = numbering(oo["probe"], t)
        for (i, j), d in oo["D"].items():
            pi, pj = int(np.where(onum == i)[0][0]), int(np.where(onum == j)[0][0])
            if pi not in idx and pj not in idx:
                D[(pi, pj)] = d
    for (i, j), d in vo["D"].items():
        vi, vj = int(np.where(num == i)[0][0]), int(np.where(num == j)[0][0])
        dv = np.take(d, 0, axis=t)
        D[(int(idx[vi]), int(idx[vj]))] = np.broadcast_to(np.expand_dims(dv, t), x.shape)
    x.tags["order"] = {"probe": probe, "D": D}


def _write_order_full(old: Interval, key: tuple, v: Interval, x: Interval) -> None:
    vo = v.tags.get("order")
    if vo is None:
        return
    tv = locate(vo["probe"])
    if tv is None:
        return
    t = next((a for a in range(old.ndim) if _target_axis(old, key, a) == tv and _keeps(key, a)), None)
    if t is None:
        return
    target_probe = _index_probe(old.shape, t)[key]
    vnum, tnum = numbering(vo["probe"], tv), numbering(target_probe, tv)
    probe = _index_probe(x.shape, t)
    oo = old.tags.get("order")
    onum = numbering(oo["probe"], t) if oo is not None and locate(oo["probe"]) == t else None
    D = {}
    for (i, j), d in vo["D"].items():
        a, b = int(tnum[np.where(vnum == i)[0][0]]), int(tnum[np.where(vnum == j)[0][0]])
        base = np.full(x.shape, -np.inf)
        if onum is not None:
            src = (int(onum[a]), int(onum[b]))
            if src in oo["D"]:
                base = np.array(np.broadcast_to(oo["D"][src], x.shape))
        base[key] = np.broadcast_to(d, base[key].shape)
        D[(a, b)] = base
    x.tags["order"] = {"probe": probe, "D": D}
