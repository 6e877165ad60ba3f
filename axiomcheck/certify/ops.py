"""Elementwise operations on interval arrays: values, Jacobians (chain rule), NaN, rounding to the dtype.

Each operation encloses the exact result on the box and the float result the
operator computes in its dtype (see `rounding`), and propagates the Jacobian
enclosure by the chain rule with interval partial derivatives.  Where a
function has a kink (abs, max, min) the Jacobian enclosure holds the hull of
the one-sided ones (Clarke's generalized Jacobian), which keeps the
mean-value inequality sound for Lipschitz bounds.  A `where` whose condition is
undecided on a box takes the hull of both branches and marks the row as
possibly discontinuous; `sign`, `floor` and friends do the same across a jump.
Structure the rules need is recorded in `tags` (see `rules.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import ivmath as iv
from . import rounding as R
from .interval import Interval, Trace, Unenclosable, clean_jac, finish, lift, result_dtype, trace_of

Pair = tuple[np.ndarray, np.ndarray]


# ----------------------------------------------------------------------------- shared plumbing


def operands(*xs: Any) -> tuple[Trace, list[Interval], tuple[int, ...]]:
    tr = trace_of(*xs)
    ivs = [lift(x, tr) for x in xs]
    try:
        shape = np.broadcast_shapes(*(x.shape for x in ivs))
    except ValueError as exc:
        raise Unenclosable(f"shapes that do not broadcast: {[x.shape for x in ivs]}") from exc
    if tr.guard:
        for x in ivs:
            if x.rowdep and (x.ndim != len(shape) or x.shape[0] != tr.rows or shape[0] != tr.rows):
                raise Unenclosable(f"an operation that mixes or moves the batch axis (axis 0): shapes "
                                   f"{[y.shape for y in ivs]} (every certified array keeps one box per batch row)")
    return tr, ivs, shape


def jac_terms(terms: list[tuple[np.ndarray, np.ndarray, Interval]], shape: tuple[int, ...], tr: Trace,
              what: str) -> Pair | tuple[None, None]:
    """Σ_i d_i ⊗ J_i over the operands that have a Jacobian (d_i: the partial derivative enclosures)."""
    lo = hi = None
    for dlo, dhi, x in terms:
        if x.jlo is None:
            continue
        if dlo is None:  # a partial derivative of exactly 1
            plo, phi = x.jlo, x.jhi
        else:
            plo, phi = iv.mul_fast(np.asarray(dlo)[..., None], np.asarray(dhi)[..., None], x.jlo, x.jhi)
        if lo is None:
            lo, hi = plo, phi
        else:
            lo, hi = iv.add(lo, hi, plo, phi)
    if lo is None:
        return None, None
    lo = np.broadcast_to(lo, shape + (tr.n,))
    hi = np.broadcast_to(hi, shape + (tr.n,))
    return clean_jac(lo, hi, tr, what)


def make(lo: np.ndarray, hi: np.ndarray, dtype: np.dtype, tr: Trace, ivs: list[Interval],
         jac: Pair | tuple[None, None] = (None, None), nan: Any = None, rounded: str = "exact",
         fn: str | None = None) -> Interval:
    """The result interval, NaN flags merged.  `lo`, `hi` enclose the exact result and its float64 rounding
    (`ivmath` widens inexact results by one step); "exact" and "none" then round them outwards to the
    operator's dtype, "transcendental" first widens for the operator's own implementation of the function."""
    if rounded == "transcendental":
        lo, hi = R.transcendental(lo, hi, dtype, fn)
    else:
        lo, hi = R.to_dtype(lo, hi, dtype)
    for x in ivs:
        if x.nan is not None:
            nan = x.nan if nan is None else (np.asarray(nan) | x.nan)
    lo, hi, nan = finish(lo, hi, dtype, nan)
    return Interval(lo, hi, jac[0], jac[1], dtype=dtype, trace=tr, nan=nan,
                    rowdep=any(x.rowdep for x in ivs))


def _tags(name: str, ivs: list[Interval], out: Interval) -> Interval:
    from . import rules

    rules.after(name, ivs, out)
    return out


def _inf(x: Interval, sign: int) -> np.ndarray:
    return x.hi == np.inf if sign > 0 else x.lo == -np.inf


def _maybe_zero(x: Interval) -> np.ndarray:
    return (x.lo <= 0) & (x.hi >= 0)


# ----------------------------------------------------------------------------- arithmetic


def add(a: Any, b: Any) -> Interval:
    tr, (A, B), shape = operands(a, b)
    dtype = result_dtype(a, b)
    lo, hi = iv.add(A.lo, A.hi, B.lo, B.hi)
    nan = (_inf(A, 1) & _inf(B, -1)) | (_inf(A, -1) & _inf(B, 1))
    out = make(lo, hi, dtype, tr, [A, B], jac_terms([(None, None, A), (None, None, B)], shape, tr, "add"), nan)
    return _tags("add", [A, B], out)


def negative(a: Any) -> Interval:
    tr, (A,), shape = operands(a)
    jac = (None, None) if A.jlo is None else (-A.jhi, -A.jlo)
    out = make(-A.hi, -A.lo, A.dtype, tr, [A], jac, rounded="none")
    return _tags("negative", [A], out)


def subtract(a: Any, b: Any) -> Interval:
    tr, (A, B), shape = operands(a, b)
    dtype = result_dtype(a, b)
    lo, hi = iv.sub(A.lo, A.hi, B.lo, B.hi)
    nan = (_inf(A, 1) & _inf(B, 1)) | (_inf(A, -1) & _inf(B, -1))
    one = np.ones(())
    jac = jac_terms([(None, None, A), (-one, -one, B)], shape, tr, "subtract")
    out = make(lo, hi, dtype, tr, [A, B], jac, nan)
    return _tags("subtract", [A, B], out)


def multiply(a: Any, b: Any) -> Interval:
    tr, (A, B), shape = operands(a, b)
    dtype = result_dtype(a, b)
    lo, hi = iv.mul(A.lo, A.hi, B.lo, B.hi)
    nan = (_maybe_zero(A) & (_inf(B, 1) | _inf(B, -1))) | (_maybe_zero(B) & (_inf(A, 1) | _inf(A, -1)))
    jac = jac_terms([(B.lo, B.hi, A), (A.lo, A.hi, B)], shape, tr, "multiply")
    out = make(lo, hi, dtype, tr, [A, B], jac, nan)
    return _tags("multiply", [A, B], out)


def divide(a: Any, b: Any) -> Interval:
    tr, (A, B), shape = operands(a, b)
    dtype = result_dtype(a, b)
    if dtype.kind in "iub":
        dtype = np.dtype(np.float64)
    from . import rules

    ruled = rules.divide(A, B, shape, dtype)
    lo, hi = iv.div(A.lo, A.hi, B.lo, B.hi)
    zero_b = _maybe_zero(B)
    nan = (zero_b & _maybe_zero(A)) | ((_inf(A, 1) | _inf(A, -1)) & (_inf(B, 1) | _inf(B, -1)))
    rlo, rhi = iv.recip(B.lo, B.hi)
    q_lo, q_hi = iv.mul(A.lo, A.hi, *iv.square(rlo, rhi))  # a / b² enclosure
    jac = jac_terms([(rlo, rhi, A), (-q_hi, -q_lo, B)], shape, tr, "divide (by a value that may be 0)")
    out = make(lo, hi, dtype, tr, [A, B], jac, nan)
    if ruled is not None:
        out = rules.intersect(out, ruled)
    return _tags("divide", [A, B], out)


def power(a: Any, b: Any) -> Interval:
    if not isinstance(b, Interval) and np.ndim(b) == 0:
        p = float(b)
        if p == int(p) and abs(p) <= 64:
            return integer_pow(a, int(p))
        if p == 0.5:
            return unary("sqrt", a)
        A = lift(a, trace_of(a))
        if np.any(A.lo < 0):
            raise Unenclosable(f"x ** {p} on values that may be negative")
        return _monotone_pow(A, p)
    return exp_log_pow(a, b)


def _monotone_pow(A: Interval, p: float) -> Interval:
    tr, _, shape = operands(A)
    dtype = result_dtype(A, p)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        v1, v2 = np.power(A.lo, p), np.power(A.hi, p)
        d1, d2 = p * np.power(A.lo, p - 1), p * np.power(A.hi, p - 1)
    lo, hi = np.minimum(v1, v2), np.maximum(v1, v2)
    dlo, dhi = R.widen_ulps(np.minimum(d1, d2), np.maximum(d1, d2), 16)
    dlo, dhi = np.where(np.isnan(dlo), -np.inf, dlo), np.where(np.isnan(dhi), np.inf, dhi)
    out = make(*R.widen_ulps(lo, hi, 8), dtype, tr, [A], jac_terms([(dlo, dhi, A)], shape, tr, f"x ** {p}"),
               rounded="transcendental")
    return out


def exp_log_pow(a: Any, b: Any) -> Interval:
    """a ** b with an interval exponent, as exp(b log a) (a ≥ 0), widened for the operator's pow."""
    tr = trace_of(a, b)
    A = lift(a, tr)
    if np.any(A.lo < 0):
        raise Unenclosable("a ** b with an array exponent on values that may be negative")
    out = unary("exp", multiply(b, unary("log", A)))
    lo, hi = R.transcendental(out.lo, out.hi, out.dtype)
    return Interval(lo, hi, out.jlo, out.jhi, dtype=out.dtype, trace=tr, nan=out.nan, rowdep=out.rowdep)


def integer_pow(a: Any, k: int) -> Interval:
    tr, (A,), shape = operands(a)
    if k == 0:
        return make(np.ones(shape), np.ones(shape), A.dtype, tr, [A], rounded="none")
    if k == 1:
        return A
    if k < 0:
        return divide(1.0, integer_pow(A, -k))
    with np.errstate(over="ignore"):
        if k % 2 == 0:
            mig = np.where(_maybe_zero(A), 0.0, np.minimum(np.abs(A.lo), np.abs(A.hi)))
            lo, hi = mig ** k, A.mag() ** k
        else:
            lo, hi = A.lo ** k, A.hi ** k
        # the derivative k x^(k-1): an even or odd power of x again
        if (k - 1) % 2 == 0:
            mig = np.where(_maybe_zero(A), 0.0, np.minimum(np.abs(A.lo), np.abs(A.hi)))
            dlo, dhi = k * mig ** (k - 1), k * A.mag() ** (k - 1)
        else:
            dlo, dhi = k * A.lo ** (k - 1), k * A.hi ** (k - 1)
    dlo, dhi = R.widen_ulps(dlo, dhi, 2 * k)
    lo, hi = R.widen_ulps(lo, hi, 2 * k)
    rounded = "exact" if k == 2 else "transcendental"
    out = make(lo, hi, A.dtype, tr, [A], jac_terms([(dlo, dhi, A)], shape, tr, f"x ** {k}"), rounded=rounded)
    return out


# ----------------------------------------------------------------------------- unary functions


def _d_exp(lo, hi, vlo, vhi):
    return iv.exp(lo, hi)


def _d_log(lo, hi, vlo, vhi):
    return iv.recip(np.maximum(lo, 0.0), hi)


def _d_log1p(lo, hi, vlo, vhi):
    return iv.recip(*iv.add(lo, hi, 1.0, 1.0))


def _d_tanh(lo, hi, vlo, vhi):
    slo, shi = iv.square(vlo, vhi)
    return iv.sub(1.0, 1.0, slo, np.minimum(shi, 1.0))


def _d_logistic(lo, hi, vlo, vhi):
    a, b = iv.mul(vlo, vhi, *iv.sub(1.0, 1.0, vlo, vhi))
    return a, np.minimum(b, 0.25000000000000006)


def _d_sqrt(lo, hi, vlo, vhi):
    return iv.recip(2 * np.maximum(vlo, 0.0), 2 * vhi)


def _d_arctan(lo, hi, vlo, vhi):
    return iv.recip(*iv.add(1.0, 1.0, *iv.square(lo, hi)))


def _d_sinh(lo, hi, vlo, vhi):  # cosh
    m = np.maximum(np.abs(lo), np.abs(hi))
    mig = np.where((lo <= 0) & (hi >= 0), 0.0, np.minimum(np.abs(lo), np.abs(hi)))
    with np.errstate(over="ignore"):
        return R.widen_ulps(np.cosh(mig), np.cosh(m), 8)


def _d_arcsinh(lo, hi, vlo, vhi):
    s = iv.add(1.0, 1.0, *iv.square(lo, hi))
    with np.errstate(over="ignore"):
        r = R.outward(np.sqrt(s[0]), np.sqrt(s[1]))
    return iv.recip(*r)


def _np_logistic(x):
    with np.errstate(over="ignore"):
        return np.where(x >= 0, 1.0 / (1.0 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1.0 + np.exp(-np.abs(x))))


#: name -> (float64 function, domain lower limit (None: all reals), derivative, rounding)
MONOTONE: dict[str, tuple[Callable[..., Any], float | None, Callable[..., Pair], str]] = {
    "exp": (np.exp, None, _d_exp, "transcendental"),
    "log": (np.log, 0.0, _d_log, "transcendental"),
    "log1p": (np.log1p, -1.0, _d_log1p, "transcendental"),
    "expm1": (np.expm1, None, _d_exp, "transcendental"),
    "tanh": (np.tanh, None, _d_tanh, "transcendental"),
    "logistic": (_np_logistic, None, _d_logistic, "transcendental"),
    "sqrt": (np.sqrt, 0.0, _d_sqrt, "exact"),
    "arctan": (np.arctan, None, _d_arctan, "transcendental"),
    "sinh": (np.sinh, None, _d_sinh, "transcendental"),
    "arcsinh": (np.arcsinh, None, _d_arcsinh, "transcendental"),
}


def unary(name: str, a: Any) -> Interval:
    """A monotone increasing function of one argument, from the `MONOTONE` table."""
    fn, floor, deriv, rounding = MONOTONE[name]
    tr, (A,), shape = operands(a)
    dtype = A.dtype if A.dtype.kind == "f" or A.dtype.name == "bfloat16" else np.dtype(np.float64)
    nan = None
    lo_in, hi_in = A.lo, A.hi
    if floor is not None:
        nan = A.lo < floor
        lo_in, hi_in = np.maximum(A.lo, floor), np.maximum(A.hi, floor)
    with np.errstate(all="ignore"):
        lo, hi = fn(lo_in), fn(hi_in)
        if rounding != "transcendental":
            lo, hi = R.outward(lo, hi)
        dlo, dhi = deriv(lo_in, hi_in, lo, hi)
    if name in ("tanh", "logistic"):
        lo, hi = np.maximum(lo, -1.0 if name == "tanh" else 0.0), np.minimum(hi, 1.0)
    if name in ("exp", "sqrt"):
        lo = np.maximum(lo, 0.0)
    out = make(lo, hi, dtype, tr, [A], jac_terms([(dlo, dhi, A)], shape, tr, f"{name} (its derivative is "
               f"unbounded on the box)"), nan, rounded=rounding, fn=name)
    return _tags(name, [A], out)


def absolute(a: Any) -> Interval:
    tr, (A,), shape = operands(a)
    z = _maybe_zero(A)
    lo = np.where(z, 0.0, np.minimum(np.abs(A.lo), np.abs(A.hi)))
    hi = A.mag()
    dlo = np.where(A.lo >= 0, 1.0, -1.0)
    dhi = np.where(A.hi <= 0, -1.0, 1.0)
    forced = tr.choice(z & (A.lo < 0) & (A.hi > 0)) if A.jlo is not None else None
    if forced is not None:
        dlo = np.where(z, np.where(forced, 1.0, -1.0), dlo)
        dhi = np.where(z, np.where(forced, 1.0, -1.0), dhi)
    else:
        dlo = np.where(z, -1.0, dlo)
        dhi = np.where(z, 1.0, dhi)
    out = make(lo, hi, A.dtype, tr, [A], jac_terms([(dlo, dhi, A)], shape, tr, "abs"), rounded="none")
    out.tags["abs_of"] = A
    return _tags("absolute", [A], out)


def square(a: Any) -> Interval:
    return integer_pow(a, 2)


def reciprocal(a: Any) -> Interval:
    return divide(1.0, a)


def step_function(name: str, a: Any) -> Interval:
    """sign, floor, ceil, trunc, rint: piecewise constant; a row whose box holds a jump may be discontinuous."""
    tr, (A,), shape = operands(a)
    fn = {"sign": np.sign, "floor": np.floor, "ceil": np.ceil, "trunc": np.trunc, "rint": np.rint,
          "round": np.rint}[name]
    lo, hi = fn(A.lo), fn(A.hi)
    if name == "sign":
        lo, hi = np.where(A.lo < 0, -1.0, np.where(A.lo > 0, 1.0, 0.0)), np.where(A.hi > 0, 1.0,
                                                                                  np.where(A.hi < 0, -1.0, 0.0))
    jumps = lo != hi
    if A.rowdep or tr.elem_bad is not None:
        tr.jump(jumps, f"{name}() across a jump on the box")
    zero = np.zeros(shape)
    jac = (None, None) if A.jlo is None else jac_terms([(zero, zero, A)], shape, tr, name)
    return make(lo, hi, A.dtype, tr, [A], jac, rounded="none")


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
    if A.jlo is not None or B.jlo is not None:
        ja, jb = A.jac_or_zero(tr.n), B.jac_or_zero(tr.n)
        aw, bw = np.broadcast_to(a_wins, shape), np.broadcast_to(b_wins, shape)
        jac = _choose(tr, ~aw & ~bw, aw, bw, ja, jb, shape)
    nan = None
    if ignore_nan and (A.nan is not None or B.nan is not None):
        nan = A.may_nan() & B.may_nan()
        lo = np.where(A.may_nan() | B.may_nan(), np.minimum(A.lo, B.lo) if kind == "max" else lo, lo)
        hi = np.where(A.may_nan() | B.may_nan(), np.maximum(A.hi, B.hi) if kind == "min" else hi, hi)
        A2 = Interval(A.lo, A.hi, A.jlo, A.jhi, dtype=A.dtype, trace=tr, rowdep=A.rowdep)
        B2 = Interval(B.lo, B.hi, B.jlo, B.jhi, dtype=B.dtype, trace=tr, rowdep=B.rowdep)
        return make(lo, hi, dtype, tr, [A2, B2], jac, nan, rounded="none")
    out = make(lo, hi, dtype, tr, [A, B], jac, rounded="none")
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
    meet = _meet(C, A, B, shape) if u.any() else np.zeros(shape, bool)
    if A.jlo is not None or B.jlo is not None:
        ja, jb = A.jac_or_zero(tr.n), B.jac_or_zero(tr.n)
        jac = _choose(tr, u & meet, t, f, ja, jb, shape, hull_also=u & ~meet)
    if u.any() and (C.rowdep or A.rowdep or B.rowdep or tr.elem_bad is not None):
        jump = u & ~meet
        if jump.any():
            tr.jump(jump, f"{what}(...) with a condition undecided on the box (the two branches may not meet)")
    out = Interval(lo, hi, jac[0], jac[1], dtype=dtype, trace=tr, nan=nan,
                   rowdep=C.rowdep or A.rowdep or B.rowdep)
    from . import rules

    rules.after_where(C, A, B, out, t, f)
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


def logaddexp(a: Any, b: Any) -> Interval:
    """log(exp a + exp b): increasing in both, with partial derivatives σ(a − b) and σ(b − a)."""
    tr, (A, B), shape = operands(a, b)
    dtype = result_dtype(a, b)
    with np.errstate(all="ignore"):
        lo, hi = np.logaddexp(A.lo, B.lo), np.logaddexp(A.hi, B.hi)
        dlo_a, dhi_a = iv.sub(A.lo, A.hi, B.lo, B.hi)
        sa = R.widen_ulps(_np_logistic(dlo_a), _np_logistic(dhi_a), 8)
        sb = R.widen_ulps(_np_logistic(-dhi_a), _np_logistic(-dlo_a), 8)
    nan = (_inf(A, 1) & _inf(B, 1)) & False
    jac = jac_terms([(np.maximum(sa[0], 0.0), np.minimum(sa[1], 1.0), A),
                     (np.maximum(sb[0], 0.0), np.minimum(sb[1], 1.0), B)], shape, tr, "logaddexp")
    return make(lo, hi, dtype, tr, [A, B], jac, nan, rounded="transcendental")
