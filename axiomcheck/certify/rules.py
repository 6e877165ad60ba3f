"""Structured rules: softmax, x / Σx, and the facts that survive rearrangement (a proven sum, an order).

Plain interval arithmetic on `e / e.sum()` forgets that numerator and
denominator move together; these rules recognise the patterns as the operator
computes them (numpy, a jaxpr or torch alike) and enclose them as wholes:

* softmax — `exp(y − m) / Σ exp(y − m)` along an axis with `m` constant along
  it (`jax.nn.softmax`, the max-subtracted numpy idiom): through logit
  differences, p_k = 1 / Σ_j exp(y_j − y_k), and the Jacobian
  p_k Σ_j p_j (J_k − J_j);
* x / Σx of nonnegative x — monotone in each entry, so exact at the corners.

Both give the output a proven sum along the axis (`norm`, [1 − ε, 1 + ε] for
the float results) and pairwise lower bounds on differences (`order`, from the
logit differences for a softmax).  Those facts are carried through what keeps
them: a permutation, a sort (which adds its own order), slices, broadcasts,
repeats, casts (widened), a write-back of a permutation of an array's own
entries (the sort-into-the-safety-order idiom), products with factors constant
along the axis, and convex mixes (1 − g) a + g b.

Positional facts are stored with a *probe*: an integer array holding, for
every entry, its index along the axis the fact is about when it was made.
Every rearrangement is applied to the probe too, so the axis and the
numbering are found again afterwards, whatever happened in between.

The separable sums over the probability simplex live in `simplex.py`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ivmath as iv
from . import rounding as R
from .facts import _index_probe, _pair_bound, _take, locate, numbering
from .interval import Interval, Unenclosable

# ----------------------------------------------------------------------------- elementwise hooks


def _redo(name: str) -> Any:
    from . import logic, ops

    table = {"add": ops.add, "subtract": ops.subtract, "multiply": ops.multiply, "divide": ops.divide,
             "negative": ops.negative, "maximum": lambda a, b: logic.extremum("max", a, b),
             "minimum": lambda a, b: logic.extremum("min", a, b), "absolute": ops.absolute}
    if name in table:
        return table[name]
    if name in ops.MONOTONE:
        return lambda a: ops.unary(name, a)
    if name.startswith("cmp_"):
        return lambda a, b: logic.compare(name[4:], a, b)
    if name.startswith("pow_"):
        k = int(name[4:])
        return lambda a: ops.integer_pow(a, k)
    return None


def chain(name: str, ivs: list[Interval], out: Interval, redo: Any = None) -> None:
    """Extend a separable chain over the simplex input through an elementwise operation."""
    seps = [x.tags.get("sep") for x in ivs]
    srcs = {id(s["src"]) for s in seps if s is not None}
    if len(srcs) != 1:
        return
    sep = next(s for s in seps if s is not None)
    src = sep["src"]
    if out.shape != src.shape or any(s is not None and x.shape != src.shape for x, s in zip(ivs, seps)):
        return
    redo = redo or _redo(name)
    if redo is None:
        return
    parts = [s["fn"] if s is not None else _const(x) for x, s in zip(ivs, seps)]
    # `mixed`: the chain holds another input's values as interval constants (a KL against the student):
    # the simplex rule is for statistics of p alone, and is not run on such a chain
    mixed = any(s.get("mixed", False) for s in seps if s is not None) or \
        any(s is None and x.rowdep for x, s in zip(ivs, seps))
    out.tags["sep"] = {"src": src, "ax": sep["ax"], "fn": lambda q: redo(*(p(q) for p in parts)), "mixed": mixed}


def _const(x: Interval) -> Any:
    lo, hi, nan, dtype = x.lo, x.hi, x.nan, x.dtype
    return lambda q: Interval(lo, hi, dtype=dtype, trace=q.trace, nan=nan, rowdep=False)


def after(name: str, ivs: list[Interval], out: Interval, redo: Any = None) -> None:
    chain(name, ivs, out, redo)
    from . import logsoft

    if name == "exp":
        out.tags["exp_of"] = ivs[0]
    elif name == "log":
        out.tags["log_of"] = ivs[0]
    elif name == "subtract":
        y, m = ivs
        out.tags["shift"] = (y, m)
        mshape = (1,) * (y.ndim - m.ndim) + m.shape
        tag = m.tags.get("max")
        if tag is not None and y.shape == out.shape and len(mshape) == y.ndim \
                and _is_reduced(m, y, y.shape, "max") is not None:
            out.hi = np.minimum(out.hi, 0.0)  # z − max z ≤ 0, and fl(z_k − m) ≤ 0 too
            out.tags["below_max"] = tag["ax"]
        logsoft.log_softmax(y, m, out)
        if not y.rowdep and y.jlo is None and y.ndim == 0 and y.lo == 1.0 and y.hi == 1.0:
            out.tags["complement"] = m
    elif name == "add":
        logsoft.log_sum_exp(ivs[0], ivs[1], out)
        logsoft.log_sum_exp(ivs[1], ivs[0], out)
    if name == "add":
        for x, c in (ivs, ivs[::-1]):
            if x.rowdep and not c.rowdep and c.jlo is None and np.all(c.lo == c.hi) and np.all(c.lo >= 0):
                out.tags["plus"] = (x, c)
    if name == "multiply":
        from . import norms

        norms.scaled_square_sum(ivs, out)
    if name in ("multiply", "add"):
        _carry_norm(name, ivs, out)
        _carry_order(name, ivs, out)
    if name in ("subtract", "divide", "multiply", "add") and "norm" not in out.tags:
        _affine_norm(name, ivs, out)


def after_where(C: Interval, A: Interval, B: Interval, out: Interval, t: np.ndarray, f: np.ndarray) -> None:
    from . import logic

    chain("where", [C, A, B], out, lambda c, a, b: logic.where(c, a, b))
    # where(m > 0, m, c > 0) with m = max |x| along an axis: a divisor that is never 0 and never below |x|
    cmp = C.tags.get("cmp")
    ma = A.tags.get("maxabs")
    if (cmp is not None and cmp[0] == "greater" and cmp[1] is A and ma is not None and out.shape == A.shape
            and np.all(cmp[2].lo == 0) and np.all(cmp[2].hi == 0) and not B.rowdep and np.all(B.lo > 0)):
        out.tags["maxabs"] = {**ma, "safe": True, "where": out, "m": A}


def after_cast(x: Interval, out: Interval) -> None:
    from .structure import astype

    chain("cast", [x], out, lambda a: astype(a, out.dtype))
    u = R.eps(out.dtype)
    norm = x.tags.get("norm")
    if norm is not None:
        out.tags["norm"] = {**norm, "slo": R.down(norm["slo"] * (1 - u)), "shi": R.up(norm["shi"] * (1 + u))}
    order = x.tags.get("order")
    if order is not None:
        slack = 4 * u * np.maximum(1.0, x.mag())
        out.tags["order"] = {**order, "D": {k: np.where(d >= 0, d, d - slack) for k, d in order["D"].items()}}


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


def _carry_norm(name: str, ivs: list[Interval], out: Interval) -> None:
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


def _affine_norm(name: str, ivs: list[Interval], out: Interval) -> None:
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


def _carry_order(name: str, ivs: list[Interval], out: Interval) -> None:
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


# ----------------------------------------------------------------------------- sums and the division rules


def after_sum(x: Interval, axes: tuple[int, ...], keepdims: bool, out: Interval) -> None:
    if len(axes) != 1:
        return
    ax = axes[0]
    y = x.tags.get("exp_of")
    if y is not None and y.tags.get("below_max") == ax and x.nan is None and np.all(np.isfinite(y.lo)):
        # Σ exp(z − max z): one term is exp(0) = 1, every term is ≤ 1 (log-sum-exp, log-softmax)
        k = x.shape[ax]
        g = R.gamma(k - 1, out.dtype) + R.gamma(k - 1, np.dtype(np.float64))
        out.lo = np.maximum(out.lo, R.down(1.0 - g))
        out.hi = np.minimum(out.hi, R.up(k * (1.0 + g)))
    probes = {a: np.take(_index_probe(x.shape, a), [0] if keepdims else 0, axis=ax)
              for a in range(x.ndim) if a != ax}
    out.tags["sum"] = {"src": x, "ax": ax, "probes": probes}
    if "sep" in x.tags and x.tags["sep"]["ax"] == ax and not x.tags["sep"].get("mixed", False):
        from . import simplex

        try:
            simplex.separable_sum(x, ax, keepdims, out)
        except Unenclosable:  # the chain cannot be re-run on pieces: the plain enclosure stands
            pass


def after_extreme(x: Interval, axes: tuple[int, ...], keepdims: bool, kind: str, out: Interval) -> None:
    if kind == "max" and len(axes) == 1:
        ax = axes[0]
        probes = {a: np.take(_index_probe(x.shape, a), [0] if keepdims else 0, axis=ax)
                  for a in range(x.ndim) if a != ax}
        out.tags["max"] = {"src": x, "ax": ax, "probes": probes}
        if "abs_of" in x.tags and np.all(out.lo >= 0):
            out.tags["maxabs"] = {"src": x.tags["abs_of"], "ax": ax, "probes": probes, "safe": False}
    sim = x.tags.get("simplex")
    if sim is not None and axes == (sim["ax"],) and kind == "max":
        floor = (1.0 - sim["slack"]) / x.shape[sim["ax"]]
        out.lo = np.maximum(out.lo, R.down(np.asarray(floor)))


def _is_sum_of(B: Interval, A: Interval, shape: tuple[int, ...]) -> int | None:
    return _is_reduced(B, A, shape, "sum")


def _is_reduced(B: Interval, A: Interval, shape: tuple[int, ...], kind: str) -> int | None:
    """The axis when B is (a broadcast of) a reduction of A along one axis (`kind` tag), else None."""
    tag = B.tags.get(kind)
    if tag is None or tag["src"] is not A or A.shape != shape:
        return None
    for a, p in tag["probes"].items():
        want = _index_probe(shape, a)
        try:
            if not np.array_equal(np.broadcast_to(p, shape) if p.ndim == len(shape) else None, want):
                return None
        except ValueError:
            return None
    return tag["ax"]


def divide(A: Interval, B: Interval, shape: tuple[int, ...], dtype: np.dtype) -> Interval | None:
    """The softmax or x / Σx rule when B is (a broadcast of) A's sum along one axis, else None."""
    if _is_reduced(B, A, shape, "maxabs") is not None and B.tags["maxabs"]["safe"]:
        # x / where(m > 0, m, c) with m = max |x|: |x| ≤ m, and x = 0 wherever m = 0
        one = np.ones(shape)
        return Interval(-one, one, dtype=dtype, trace=A.trace, rowdep=A.rowdep,
                        tags={"no_nan": True, "unit_of": (A, B)})
    plus = B.tags.get("plus")
    if plus is not None and plus[0] is A:
        from . import softmax

        return softmax.saturating_rule(A, plus[1], shape, dtype)
    ax = _is_sum_of(B, A, shape)
    if ax is None:
        return None
    from . import softmax

    y = A.tags.get("exp_of")
    if y is not None:
        z, by_max = y, False
        shift = y.tags.get("shift")
        if shift is not None:
            base, m = shift
            mshape = (1,) * (y.ndim - m.ndim) + m.shape
            if base.shape == y.shape and len(mshape) == y.ndim and mshape[ax] == 1:
                z = base
                by_max = _is_reduced(m, base, base.shape, "max") == ax and m.nan is None and base.nan is None and \
                    bool(np.all(np.isfinite(base.lo)) and np.all(np.isfinite(base.hi)))
        if by_max:  # exp(z − max z): every numerator in [0, 1], the sum ≥ 1: never NaN
            ruled = softmax.softmax_rule(z, y, ax, dtype)
            if ruled is not None:
                ruled.tags["no_nan"] = True
            return ruled
        if not np.all(B.lo > 0) or B.nan is not None or A.nan is not None:
            return None
        return softmax.softmax_rule(z, y, ax, dtype)
    if not np.all(B.lo > 0) or B.nan is not None or A.nan is not None:
        return None
    if np.all(A.lo >= 0) and np.all(np.isfinite(A.hi)):
        return softmax.ratio_rule(A, ax, dtype)
    return None


def intersect(natural: Interval, ruled: Interval) -> Interval:
    """Both enclose the same values: keep the tighter of each (an empty meet means a broken rule)."""
    lo, hi = np.maximum(natural.lo, ruled.lo), np.minimum(natural.hi, ruled.hi)
    if np.any(lo > hi):
        raise Unenclosable("internal: a structured rule and interval arithmetic disagree (empty intersection)")
    jlo = jhi = None
    if natural.jlo is not None and ruled.jlo is not None:
        jlo, jhi = np.maximum(natural.jlo, ruled.jlo), np.minimum(natural.jhi, ruled.jhi)
        if np.any(jlo > jhi):
            raise Unenclosable("internal: a structured rule's Jacobian and the chain rule's disagree")
    elif natural.jlo is not None:
        jlo, jhi = natural.jlo, natural.jhi
    nan = None if ruled.tags.pop("no_nan", False) else natural.nan
    out = Interval(lo, hi, jlo, jhi, dtype=natural.dtype, trace=natural.trace, nan=nan,
                   rowdep=natural.rowdep, tags={**natural.tags, **ruled.tags},
                   hlo=ruled.hlo if ruled.hlo is not None else natural.hlo,
                   hhi=ruled.hhi if ruled.hlo is not None else natural.hhi)
    return out
