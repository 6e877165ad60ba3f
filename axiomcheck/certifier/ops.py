"""Elementwise operations on interval arrays: values, Jacobians (chain rule), NaN, rounding to the dtype.

Each operation encloses the exact result on the box and the float result the
operator computes in its dtype (see `rounding`), and propagates the Jacobian
enclosure by the chain rule with interval partial derivatives.  Where a
function has a kink (abs, max, min) the Jacobian enclosure holds the hull of
the one-sided ones (Clarke's generalized Jacobian), which keeps the
mean-value inequality sound for Lipschitz bounds.  A `where` whose condition is
undecided on a box takes the hull of both branches and marks the row as
possibly discontinuous; `sign`, `floor` and friends do the same across a jump.
Structure the rules need is recorded in `tags` (see `patterns.py`, reached through `hooks`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import hessian as Hs
from . import hooks
from . import ivmath as iv
from . import rounding as R
from .derivatives import MONOTONE, _np_logistic
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
    hooks.run("after", name, ivs, out)
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
    if Hs.wanted(A, B):
        Hs.attach(out, Hs.combine(shape, tr.n, [(None, A), (None, B)], []))
    return _tags("add", [A, B], out)


def negative(a: Any) -> Interval:
    tr, (A,), shape = operands(a)
    jac = (None, None) if A.jlo is None else (-A.jhi, -A.jlo)
    out = make(-A.hi, -A.lo, A.dtype, tr, [A], jac, rounded="none")
    if Hs.wanted(A) and A.hlo is not None:
        out.hlo, out.hhi = -A.hhi, -A.hlo
    return _tags("negative", [A], out)


def subtract(a: Any, b: Any) -> Interval:
    tr, (A, B), shape = operands(a, b)
    dtype = result_dtype(a, b)
    lo, hi = iv.sub(A.lo, A.hi, B.lo, B.hi)
    nan = (_inf(A, 1) & _inf(B, 1)) | (_inf(A, -1) & _inf(B, -1))
    one = np.ones(())
    jac = jac_terms([(None, None, A), (-one, -one, B)], shape, tr, "subtract")
    out = make(lo, hi, dtype, tr, [A, B], jac, nan)
    if Hs.wanted(A, B):
        Hs.attach(out, Hs.combine(shape, tr.n, [(None, A), ((-one, -one), B)], []))
    return _tags("subtract", [A, B], out)


def multiply(a: Any, b: Any) -> Interval:
    tr, (A, B), shape = operands(a, b)
    dtype = result_dtype(a, b)
    lo, hi = iv.mul(A.lo, A.hi, B.lo, B.hi)
    nan = (_maybe_zero(A) & (_inf(B, 1) | _inf(B, -1))) | (_maybe_zero(B) & (_inf(A, 1) | _inf(A, -1)))
    jac = jac_terms([(B.lo, B.hi, A), (A.lo, A.hi, B)], shape, tr, "multiply")
    out = make(lo, hi, dtype, tr, [A, B], jac, nan)
    if Hs.wanted(A, B):
        one = (np.ones(()), np.ones(()))
        Hs.attach(out, Hs.combine(shape, tr.n, [((B.lo, B.hi), A), ((A.lo, A.hi), B)], [(one, A, B), (one, B, A)]))
    if A is B:
        out.tags["square_of"] = A
    return _tags("multiply", [A, B], out)


def divide(a: Any, b: Any) -> Interval:
    tr, (A, B), shape = operands(a, b)
    dtype = result_dtype(a, b)
    if dtype.kind in "iub":
        dtype = np.dtype(np.float64)
    ruled = hooks.run("divide", A, B, shape, dtype)
    lo, hi = iv.div(A.lo, A.hi, B.lo, B.hi)
    zero_b = _maybe_zero(B)
    nan = (zero_b & _maybe_zero(A)) | ((_inf(A, 1) | _inf(A, -1)) & (_inf(B, 1) | _inf(B, -1)))
    rlo, rhi = iv.recip(B.lo, B.hi)
    q_lo, q_hi = iv.mul(A.lo, A.hi, *iv.square(rlo, rhi))  # a / b² enclosure
    jac = jac_terms([(rlo, rhi, A), (-q_hi, -q_lo, B)], shape, tr, "divide (by a value that may be 0)")
    out = make(lo, hi, dtype, tr, [A, B], jac, nan)
    if Hs.wanted(A, B):  # a/b: ∂a = 1/b, ∂b = −a/b², ∂ab = −1/b², ∂bb = 2a/b³
        r2 = iv.square(rlo, rhi)
        dab = (-r2[1], -r2[0])
        dbb = iv.scale(*iv.mul(q_lo, q_hi, rlo, rhi), 2.0)
        Hs.attach(out, Hs.combine(shape, tr.n, [((rlo, rhi), A), ((-q_hi, -q_lo), B)],
                                  [(dab, A, B), (dab, B, A), (dbb, B, B)]))
    if ruled is not None:
        out = intersect(out, ruled)
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
    if Hs.wanted(A):  # k (k − 1) x^(k−2): an even or odd power again
        with np.errstate(over="ignore"):
            if k == 2:
                dd = (np.full(shape, 2.0), np.full(shape, 2.0))
            elif (k - 2) % 2 == 0:
                mig = np.where(_maybe_zero(A), 0.0, np.minimum(np.abs(A.lo), np.abs(A.hi)))
                dd = R.widen_ulps(k * (k - 1) * mig ** (k - 2), k * (k - 1) * A.mag() ** (k - 2), 2 * k)
            else:
                dd = R.widen_ulps(k * (k - 1) * A.lo ** (k - 2), k * (k - 1) * A.hi ** (k - 2), 2 * k)
        Hs.attach(out, Hs.combine(shape, tr.n, [((dlo, dhi), A)], [(dd, A, A)]))
    if k == 2:
        out.tags["square_of"] = A
    return out


# ----------------------------------------------------------------------------- unary functions


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
        vlo, vhi = R.widen_ulps(lo, hi, R.ulps(name, R.F64))  # the exact values, for the derivative
        dlo, dhi = deriv(lo_in, hi_in, vlo, vhi)
    if name in ("tanh", "logistic"):
        lo, hi = np.maximum(lo, -1.0 if name == "tanh" else 0.0), np.minimum(hi, 1.0)
    if name in ("exp", "sqrt"):
        lo = np.maximum(lo, 0.0)
    out = make(lo, hi, dtype, tr, [A], jac_terms([(dlo, dhi, A)], shape, tr, f"{name} (its derivative is "
               f"unbounded on the box)"), nan, rounded=rounding, fn=name)
    if name in ("exp", "sqrt", "logistic"):  # never negative, whatever the widening did to a 0
        out.lo = np.maximum(out.lo, 0.0)
    if Hs.wanted(A):
        dd = Hs.second_derivative(name, lo_in, hi_in, vlo, vhi, dlo, dhi)
        if dd is not None:
            Hs.attach(out, Hs.combine(shape, tr.n, [((dlo, dhi), A)], [(dd, A, A)]))
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
    if Hs.wanted(A):
        h = Hs.combine(shape, tr.n, [((dlo, dhi), A)], [])
        Hs.attach(out, None if h is None else Hs.unknown_at(h, z & (A.lo < 0) & (A.hi > 0)))
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
    out = make(lo, hi, A.dtype, tr, [A], jac, rounded="none")
    if Hs.wanted(A) and A.jlo is not None:
        z = np.zeros(shape + (tr.n, tr.n))
        out.hlo, out.hhi = z, z
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
