"""Proven sums and orders carried through arithmetic: products, affine maps, convex mixes.

A weight array with a proven sum along the teacher axis (`norm`) keeps one
through a product with a factor constant along that axis, an affine map with
scalar constants, and a convex mix (1 − g)·a + g·b of two such arrays; pairwise
order relations (`order`) survive the same products and sums (rounding is
monotone, so a proven a ≥ b stays true of the float results).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ivmath as iv
from . import rounding as R
from .facts import _pair_bound, _take, locate, numbering
from .interval import Interval

# ----------------------------------------------------------------------------- proven sums (norm)


def along(x: Interval, other: Any) -> int | None:
    """The axis of x's norm / order tag when `other` is constant along it (broadcast size 1), else None."""
    tag = x.tags.get("norm") or x.tags.get("order")
    if tag is None:
        return None
    t = locate(tag["probe"])
    if t is None:
        return None
    shape = (1,) * (x.ndim - np.ndim(other)) + tuple(np.shape(other))
    return t if len(shape) == x.ndim and shape[t] == 1 else None


def carry_norm(name: str, ivs: list[Interval], out: Interval) -> None:
    a, b = ivs
    u = R.eps(out.dtype)
    if name == "multiply":
        scaled = []
        for x, c in ((a, b), (b, a)):
            norm = x.tags.get("norm")
            if norm is not None and x.shape == out.shape and along(x, c.lo) is not None and np.all(c.lo >= 0):
                lo, hi = iv.mul(norm["slo"], norm["shi"], np.broadcast_to(c.lo, out.shape),
                                np.broadcast_to(c.hi, out.shape))
                out.tags["norm"] = {**norm, "slo": R.down(lo * (1 - u)), "shi": R.up(hi * (1 + u))}
            else:
                norm = None
            if x.shape == out.shape:
                scaled.append((c, norm, x))  # out = c · x (either operand may be the factor)
        out.tags["scaled"] = scaled
        return
    # add: a constant scalar to every entry, or two scaled normalized arrays whose factors are g and 1 − g
    for x, c in ((a, b), (b, a)):
        norm = x.tags.get("norm")
        if norm is not None and x.shape == out.shape and c.ndim == 0 and not c.rowdep and np.all(c.lo >= 0):
            t = locate(norm["probe"])
            k = out.shape[t]
            lo, hi = iv.add(norm["slo"], norm["shi"], k * c.lo, k * c.hi)
            out.tags["norm"] = {**norm, "slo": R.down(lo * (1 - 2 * u)), "shi": R.up(hi * (1 + 2 * u))}
            return
    if a.shape != out.shape or b.shape != out.shape:
        return
    for ca, na, xa in a.tags.get("scaled", ()):
        for cb, nb, xb in b.tags.get("scaled", ()):
            _mix(ca, na, xa, cb, nb, xb, out, u)


def affine_norm(name: str, ivs: list[Interval], out: Interval) -> None:
    """A proven sum through an affine map with scalar constants: Σ(c − x) = K c − Σx, Σ(x / c) = Σx / c,
    Σ(c·x) = c Σx, Σ(x + c) = Σx + K c (each entry rounded once: u Σ|entries| more)."""
    a, b = ivs
    x, c = (b, a) if name in ("subtract", "multiply", "add") and a.ndim == 0 and not a.rowdep else (a, b)
    norm = x.tags.get("norm")
    if norm is None or x.shape != out.shape or c.ndim != 0 or c.rowdep or c.lo != c.hi or not np.isfinite(c.lo):
        return
    t = locate(norm["probe"])
    if t is None:
        return
    k, cv = out.shape[t], float(c.lo)
    slo, shi = norm["slo"], norm["shi"]
    if name == "subtract" and x is b:  # c − x
        lo, hi = iv.sub(k * cv, k * cv, slo, shi)
    elif name == "subtract":  # x − c
        lo, hi = iv.sub(slo, shi, k * cv, k * cv)
    elif name == "add":
        lo, hi = iv.add(slo, shi, k * cv, k * cv)
    elif name == "multiply":
        lo, hi = iv.scale(slo, shi, cv)
    elif cv != 0:  # x / c
        lo, hi = iv.scale(slo, shi, 1.0 / cv)
        lo, hi = R.down(lo - np.abs(lo) * 2 * R.eps(np.float64)), R.up(hi + np.abs(hi) * 2 * R.eps(np.float64))
    else:
        return
    mag = np.broadcast_to(out.mag(), out.shape).sum(axis=t, keepdims=True)
    err = R.up(1.01 * R.eps(out.dtype) * mag)
    out.tags["norm"] = {"probe": norm["probe"], "slo": R.down(np.broadcast_to(lo, out.shape) - err),
                        "shi": R.up(np.broadcast_to(hi, out.shape) + err)}


def _mix(ca: Interval, na: Any, xa: Interval, cb: Interval, nb: Any, xb: Interval, out: Interval, u: float) -> None:
    """(1 − g) a + g b: the proven sum and the values of a convex mix."""
    if ca.tags.get("complement") is cb or cb.tags.get("complement") is ca:
        g = cb if ca.tags.get("complement") is cb else ca
        if np.all(g.lo >= 0) and np.all(g.hi <= 1):
            convex_mix(xa, xb, out)
            if na is not None and nb is not None and locate(na["probe"]) == locate(nb["probe"]):
                lo, hi = iv.hull(na["slo"], na["shi"], nb["slo"], nb["shi"])
                out.tags["norm"] = {**na, "slo": R.down(lo * (1 - 6 * u)), "shi": R.up(hi * (1 + 6 * u))}


def convex_mix(x: Interval, y: Interval, out: Interval) -> None:
    """out = (1 − g) x + g y with g ∈ [0, 1]: each entry lies between x's and y's (plus the float error)."""
    u = R.eps(out.dtype)
    lo, hi = iv.hull(np.broadcast_to(x.lo, out.shape), np.broadcast_to(x.hi, out.shape),
                     np.broadcast_to(y.lo, out.shape), np.broadcast_to(y.hi, out.shape))
    slack = 6 * u * np.maximum(np.abs(lo), np.abs(hi))
    new_lo, new_hi = np.maximum(out.lo, R.down(lo - slack)), np.minimum(out.hi, R.up(hi + slack))
    if np.all(new_lo <= new_hi):
        out.lo, out.hi = new_lo, new_hi


# ----------------------------------------------------------------------------- order relations


def carry_order(name: str, ivs: list[Interval], out: Interval) -> None:
    a, b = ivs
    if name == "multiply":
        for x, c in ((a, b), (b, a)):
            order = x.tags.get("order")
            if order is not None and x.shape == out.shape and along(x, c.lo) is not None and np.all(c.lo >= 0):
                clo, chi = np.broadcast_to(c.lo, out.shape), np.broadcast_to(c.hi, out.shape)
                D = {k: np.where(d >= 0, d * clo, d * chi) for k, d in order["D"].items()}
                out.tags["order"] = {**order, "D": {k: R.down(d) for k, d in D.items()}}
        return
    oa, ob = a.tags.get("order"), b.tags.get("order")
    if oa is None and ob is None:
        return
    base = oa if oa is not None else ob
    t = locate(base["probe"])
    if t is None or a.shape != out.shape or b.shape != out.shape:
        return
    num = numbering(base["probe"], t)
    D = {}
    for (i, j) in base["D"]:
        pi, pj = int(np.where(num == i)[0][0]), int(np.where(num == j)[0][0])
        parts = []
        for x, o in ((a, oa), (b, ob)):
            d = _pair_bound(x, o, t, pi, pj)
            parts.append(d)
        d = parts[0] + parts[1]
        slack = 2 * R.eps(out.dtype) * np.maximum(np.abs(_take(out.hi, t, pi)), np.abs(_take(out.lo, t, pj)))
        D[(i, j)] = np.broadcast_to(np.expand_dims(np.where(d >= 0, d, d - slack), t), out.shape)
    out.tags["order"] = {"probe": base["probe"], "D": D}
