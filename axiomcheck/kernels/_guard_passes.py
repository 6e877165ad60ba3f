"""The passes of the weight guard over one step's weights (private to `axiomcheck.kernels.guard`).

`one_pass` reads the weights once (one variadic reduction) and says whether any
vector breaks normalization, positivity or the bounds; only then does `located`
count and locate the violations, also in one pass.  Both decide with the rules of
`axiomcheck.checks.rules` (the checker's and the PyTorch guard's), whose JAX form folds
over the short teacher axis K with elementwise ops on its slices: XLA:CPU runs a
reduction over a short leading axis many times slower than the same elementwise ops.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from ..checks import rules

if TYPE_CHECKING:
    from ..guard.spec import GuardSpec

__all__ = ["Found", "first_violation", "located", "no_violation", "one_pass"]

_NORM, _POS, _BOUNDS = range(3)


class Found(NamedTuple):
    """Normalization, positivity and bounds of one step: counts, first violations ([3] each), range."""

    counts: jax.Array
    anys: jax.Array
    rows_at: jax.Array
    tokens: jax.Array
    details: jax.Array
    values: jax.Array
    weights: jax.Array  # [3, K]
    w_min: jax.Array
    w_max: jax.Array
    max_err: jax.Array
    nonfinite: jax.Array


def _all_k(ok: Any, xs: list[jax.Array]) -> jax.Array:
    """A threshold rule applied to every teacher's weight and and-ed: the rule on (min_k, max_k) w_k,
    without the NaN-aware min and max (several instructions each on XLA:CPU)."""
    return functools.reduce(jnp.logical_and, [ok(xk) for xk in xs])


def _verdicts(flat: jax.Array, spec: GuardSpec, lim: rules.Limits) -> tuple[jax.Array, list[jax.Array], jax.Array]:
    """(Σ_k w_k, the masks of the vectors that break normalization, positivity and, with declared bounds,
    the bounds, and the mask of the finite vectors) of the vectors `flat[:, j]`, by the shared rules."""
    xs = [flat[i] for i in range(flat.shape[0])]
    total = rules.teacher_sum(flat, 0, jnp)
    masks = [~rules.normalization_ok(rules.sum_error(total), lim),
             ~_all_k(lambda xk: rules.positivity_ok(xk, lim), xs)]
    if spec.bounds is not None:
        masks.append(~_all_k(lambda xk: rules.bounds_ok(xk, xk, lim), xs))
    return total, masks, _all_k(lambda xk: rules.finite_ok(xk, xk), xs)


def one_pass(x: jax.Array, spec: GuardSpec, lim: rules.Limits) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(per-teacher min [K], per-teacher max [K], worst |Σ_k w_k − 1|, +inf if some vector breaks a
    rule) from one variadic reduction that reads the weights once."""
    k = x.shape[0]
    flat = x.reshape(k, -1)
    xs = [flat[i] for i in range(k)]
    total, masks, _ = _verdicts(flat, spec, lim)
    err = jnp.where(~functools.reduce(jnp.logical_or, masks), jnp.abs(total - 1.0), jnp.inf)
    inf = jnp.asarray(jnp.inf, x.dtype)

    def combine(a: tuple, b: tuple) -> tuple:
        return (*(jnp.minimum(a[i], b[i]) for i in range(k)), *(jnp.maximum(a[k + i], b[k + i]) for i in range(k)),
                jnp.maximum(a[2 * k], b[2 * k]))

    out = lax.reduce((*xs, *xs, err), (*(inf,) * k, *(-inf,) * k, jnp.zeros((), x.dtype)), combine, (0,))
    return jnp.stack(out[:k]), jnp.stack(out[k:2 * k]), out[2 * k]


def located(x: jax.Array, spec: GuardSpec, lim: rules.Limits, v: int) -> Found:
    """Counts and first violations of normalization, positivity and bounds, the range per teacher of
    the finite vectors, the worst error and the non-finite count: one variadic reduction over the vectors."""
    k = x.shape[0]
    flat = x.reshape(k, -1)
    xs = [flat[i] for i in range(k)]
    size = xs[0].shape[0]
    total, masks, fin = _verdicts(flat, spec, lim)
    err = jnp.abs(total - 1.0)
    finite = jnp.isfinite(err)  # the worst error is inf once a sum is not finite
    iota = lax.iota(jnp.int32, size)
    # the observed range keeps the vectors free of NaN and ±inf
    # (operand, initial value, combine) of each quantity, all reduced in one pass
    parts = ([(jnp.where(fin, xk, jnp.inf), jnp.inf, jnp.minimum) for xk in xs]
             + [(jnp.where(fin, xk, -jnp.inf), -jnp.inf, jnp.maximum) for xk in xs]
             + [(jnp.where(finite, err, jnp.inf), 0.0, jnp.maximum), (~fin, 0, jnp.add)]
             + [(m, 0, jnp.add) for m in masks] + [(jnp.where(m, iota, size), size, jnp.minimum) for m in masks])
    ops = tuple(op.astype(jnp.int32) if op.dtype == bool else op for op, _, _ in parts)
    inits = tuple(jnp.asarray(i, op.dtype) for op, (_, i, _) in zip(ops, parts, strict=True))
    combines = [c for _, _, c in parts]
    out = lax.reduce(ops, inits, lambda a, b: tuple(c(p, q) for c, p, q in zip(combines, a, b, strict=True)), (0,))
    m = len(masks)
    counts, firsts = out[2 * k + 2: 2 * k + 2 + m], out[2 * k + 2 + m:]
    found = [first_row(p, first, x, None, v, spec) for p, first in enumerate(firsts)]
    if spec.bounds is None:  # nothing declared to locate
        counts = (*counts, jnp.int32(0))
        found.append(no_violation(x))
    anys, rows_at, tokens, details, values, weights = (jnp.stack(col) for col in zip(*found, strict=True))
    return Found(counts=jnp.stack(counts), anys=anys, rows_at=rows_at, tokens=tokens, details=details,
                  values=values, weights=weights, w_min=jnp.stack(out[:k]), w_max=jnp.stack(out[k:2 * k]),
                  max_err=out[2 * k], nonfinite=out[2 * k + 1])


def no_violation(x: jax.Array) -> tuple[jax.Array, ...]:
    """What `first_row` returns for a property with nothing to report."""
    return (jnp.asarray(False), jnp.int32(0), jnp.int32(-1), jnp.int32(-1), jnp.asarray(jnp.nan, x.dtype),
            jnp.full((x.shape[0],), jnp.nan, x.dtype))


def first_violation(prop: int, mask: jax.Array, rows: jax.Array, toks: tuple[int, ...] | None, v: int,
                     spec: GuardSpec) -> tuple[jax.Array, ...]:
    """`first_row` of the first True of `mask` [B, R'] in row-major order (position, then token)."""
    flat = mask.reshape(-1)
    size = flat.shape[0]
    # the smallest violating index (a min over int32 is much faster on XLA:CPU than argmax over bool)
    return first_row(prop, jnp.min(jnp.where(flat, lax.iota(jnp.int32, size), size)), rows, toks, v, spec)


def first_row(prop: int, first: jax.Array, rows: jax.Array, toks: tuple[int, ...] | None, v: int,
               spec: GuardSpec) -> tuple[jax.Array, ...]:
    """(any, row of the first violation, its token id or −1, the detail, the value, its K weights).

    `first` is the flat index (position-major) of the first violating vector of `rows` [K, B, R'],
    or B·R' when none; the value and the teacher (or pair) at fault are read from its K weights.
    """
    r = rows.shape[2]
    size = rows.shape[1] * r
    idx = jnp.minimum(first, size - 1)
    w = jax.vmap(lambda wk: wk.reshape(-1)[idx])(rows)  # [K]
    col = idx % r
    token = jnp.asarray(toks, jnp.int32)[col] if toks is not None else (col if v > 1 else jnp.int32(-1))
    nan_hi = jnp.asarray(jnp.inf, w.dtype)
    if prop == _NORM:
        detail, value = jnp.int32(-1), jnp.abs(rules.teacher_sum(w, 0, jnp) - 1.0)
    elif prop == _POS:
        detail = jnp.argmin(jnp.where(jnp.isnan(w), -nan_hi, w)).astype(jnp.int32)
        value = w[detail]
    elif prop == _BOUNDS:
        lo, hi = spec.bounds if spec.bounds is not None else (0.0, 1.0)
        out = jnp.maximum(lo - w, w - hi)
        detail = jnp.argmax(jnp.where(jnp.isnan(out), nan_hi, out)).astype(jnp.int32)
        value = w[detail]
    else:  # safety: the pair with the smallest margin
        gaps = jnp.stack([rules.order_margin(w[a], w[b], jnp) for a, b in spec.safety_pairs])
        detail = jnp.argmin(jnp.where(jnp.isnan(gaps), -nan_hi, gaps)).astype(jnp.int32)
        value = gaps[detail]
    return first < size, idx // r, token, detail, value, w
