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

The separable sums over the probability simplex live in `simplex.py`.  The
operations reach these rules through `hooks` (registered below, on import).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import hooks, logic, logsoft, norms, ops, simplex, softmax
from . import rounding as R
from .facts import _index_probe
from .interval import Interval, Unenclosable
from .structure import astype
from .sums import affine_norm, carry_norm, carry_order

# ----------------------------------------------------------------------------- elementwise hooks


def _redo(name: str) -> Any:
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


def _soft(rule: Any, *args: Any) -> None:
    """Run an optional tightening rule: one that cannot apply here leaves the plain enclosure (always sound)."""
    try:
        rule(*args)
    except (ValueError, IndexError, TypeError, FloatingPointError):
        pass


def after(name: str, ivs: list[Interval], out: Interval, redo: Any = None) -> None:
    chain(name, ivs, out, redo)
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
        _soft(logsoft.log_softmax, y, m, out)
        if not y.rowdep and y.jlo is None and y.ndim == 0 and y.lo == 1.0 and y.hi == 1.0:
            out.tags["complement"] = m
    elif name == "add":
        _soft(logsoft.log_sum_exp, ivs[0], ivs[1], out)
        _soft(logsoft.log_sum_exp, ivs[1], ivs[0], out)
    if name == "add":
        for x, c in (ivs, ivs[::-1]):
            if x.rowdep and not c.rowdep and c.jlo is None and np.all(c.lo == c.hi) and np.all(c.lo >= 0):
                out.tags["plus"] = (x, c)
    if name == "multiply":
        _soft(norms.scaled_square_sum, ivs, out)
    if name in ("multiply", "add"):
        carry_norm(name, ivs, out)
        carry_order(name, ivs, out)
    if name in ("subtract", "divide", "multiply", "add") and "norm" not in out.tags:
        affine_norm(name, ivs, out)


def after_where(C: Interval, A: Interval, B: Interval, out: Interval, t: np.ndarray, f: np.ndarray) -> None:
    chain("where", [C, A, B], out, lambda c, a, b: logic.where(c, a, b))
    # where(m > 0, m, c > 0) with m = max |x| along an axis: a divisor that is never 0 and never below |x|
    cmp = C.tags.get("cmp")
    ma = A.tags.get("maxabs")
    if (cmp is not None and cmp[0] == "greater" and cmp[1] is A and ma is not None and out.shape == A.shape
            and np.all(cmp[2].lo == 0) and np.all(cmp[2].hi == 0) and not B.rowdep and np.all(B.lo > 0)):
        out.tags["maxabs"] = {**ma, "safe": True, "where": out, "m": A}


def after_cast(x: Interval, out: Interval) -> None:
    chain("cast", [x], out, lambda a: astype(a, out.dtype))
    u = R.eps(out.dtype)
    norm = x.tags.get("norm")
    if norm is not None:
        out.tags["norm"] = {**norm, "slo": R.down(norm["slo"] * (1 - u)), "shi": R.up(norm["shi"] * (1 + u))}
    order = x.tags.get("order")
    if order is not None:
        slack = 4 * u * np.maximum(1.0, x.mag())
        out.tags["order"] = {**order, "D": {k: np.where(d >= 0, d, d - slack) for k, d in order["D"].items()}}


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
        return softmax.saturating_rule(A, plus[1], shape, dtype)
    ax = _is_sum_of(B, A, shape)
    if ax is None:
        return None
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


hooks.register(after=after, after_where=after_where, after_cast=after_cast, after_sum=after_sum,
               after_extreme=after_extreme, divide=divide)
