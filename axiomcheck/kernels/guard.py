"""A weight guard for the training step: checks the weights a KD kernel receives, step after step.

`guard_init(spec)` makes a `GuardState`, a pytree of small jnp arrays;
`guard_update(state, weights, step, spec)` checks one step's weights `[K, N]` or
`[K, N, V]` and returns the next state.  Both are pure, so the state can be
threaded through a jitted train step (or a `lax.scan` of steps) and vmapped over
runs.  Four properties are checked on every weight vector w (the K weights of
one position, or of one position and token for per-token weights):

* normalization — |Σ_k w_k − 1| ≤ tol;
* positivity — every w_k > 0;
* bounds — w_min − tol ≤ w_k ≤ w_max + tol, for the declared bounds (not
  checked when none are declared; the observed range is still kept);
* safety — on the safety-critical token ids S, w_safer ≥ w_less_safe − tol for
  every declared (safer, less safe) pair (token-independent weights apply to
  every token, S included, so every position is checked).

Every property is decided by the rules of `axiomcheck.checks.rules`, the ones `verify()`
and the PyTorch guard use: the same compute dtype, tolerance, thresholds and
order of summation, so the three call the same weights a violation.  A NaN weight
breaks every property it takes part in; ±inf breaks normalization and the bounds
(−inf positivity too); a subnormal weight counts as 0.  The state keeps per-teacher running
min/max of the weights of the finite vectors, the worst normalization error, the smallest
safety margin, per-property counts of checked and violating vectors (int32,
saturating at 2³¹ − 1), and for each property the step, position and token of
the first violation with its value.  The weights pass through `stop_gradient`,
so the guard can sit inside a differentiated loss (as its aux output).
`axiomcheck.guard.runtime` turns a state into `Result`s.  `GuardSpec` and
`GuardState` live in the framework-free `axiomcheck.guard`, and are re-exported here.

>>> import jax.numpy as jnp
>>> spec = GuardSpec(teachers=2, bounds=(0.1, 0.9))
>>> s = guard_update(guard_init(spec), jnp.array([[0.5, 0.95], [0.5, 0.05]]), 0, spec)
>>> s.violations.tolist(), s.first_position.tolist()
([0, 0, 1, 0], [-1, -1, 1, -1])
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ..checks import rules
from ..guard.spec import PROPERTIES, GuardSpec
from ..guard.state import GuardState, empty, merge, merge_runs, sat_add
from ._guard_passes import Found, first_violation, located, no_violation, one_pass

__all__ = ["PROPERTIES", "GuardSpec", "GuardState", "guard_init", "guard_merge", "guard_merge_runs", "guard_update"]


def guard_init(spec: GuardSpec) -> GuardState:
    """The state before any step."""
    return GuardState(*(jnp.full(shape, fill, dtype) for shape, dtype, fill in empty(spec.teachers)))


def _sat_add(a: jax.Array, b: jax.Array) -> jax.Array:
    return sat_add(a, b, jnp)


def guard_update(state: GuardState, weights: jax.Array, step: Any, spec: GuardSpec, *,
                 positions: jax.Array | None = None) -> GuardState:
    """Check one step's weights and fold them into `state` (pure; jit-, vmap- and scan-safe).

    Args:
        state: the state so far (`guard_init(spec)` before the first step).
        weights: what the kernel receives this step, `[K, N]` or `[K, N, V]`, any float dtype
            (compared in float32 or wider).
        step: this step's number (a Python int or an int32 scalar, traced or not).
        spec: the declared properties (static).
        positions: int `[N]`, the position (e.g. the sample index in the data set) of each
            column, as the first violation will report it; default 0..N−1.
    """
    n, v = spec.check_shape(jnp.shape(weights))
    w = lax.stop_gradient(jnp.asarray(weights))  # it only watches: safe inside a differentiated loss
    tol = spec.tol_for(w.dtype)
    dtype = jnp.promote_types(w.dtype, jnp.float32)
    lim = rules.limits(tol, spec.bounds, dtype)
    x = w.astype(dtype).reshape(spec.teachers, n, v)  # [K, B, R]: R = V, or 1 for token-independent weights
    pos = jnp.arange(n, dtype=jnp.int32) if positions is None else jnp.asarray(positions).astype(jnp.int32)

    # One pass over the weights decides whether any vector breaks normalization, positivity or the
    # bounds; only then (lax.cond) are the violations counted and located, in further passes.
    w_min, w_max, worst = one_pass(x, spec, lim)
    quiet = Found(jnp.zeros((3,), jnp.int32), jnp.zeros((3,), bool), *(jnp.full((3,), -1, jnp.int32),) * 3,
                   jnp.full((3,), jnp.nan, dtype), jnp.full((3, spec.teachers), jnp.nan, dtype),
                   w_min, w_max, worst, jnp.zeros((), jnp.int32))
    found = lax.cond(worst <= lim.tol, lambda: quiet, lambda: located(x, spec, lim, v))
    checked = [n * v, n * v, n * v if spec.bounds is not None else 0]

    low_margin = jnp.asarray(jnp.inf, dtype)
    if spec.has_safety:
        toks = spec.safety_tokens if v > 1 else None
        xs = x if toks is None else x[:, :, np.asarray(toks)]  # [K, B, |S|] (all rows if token-independent)
        margin = functools.reduce(jnp.minimum, [rules.order_margin(xs[a], xs[b], jnp) for a, b in spec.safety_pairs])
        safety_bad = ~rules.order_ok(margin, lim)
        first = first_violation(3, safety_bad, xs, toks, v, spec)
        low_margin = jnp.min(jnp.where(jnp.isnan(margin), -jnp.inf, margin))
        checked.append(n * xs.shape[2])
    else:
        safety_bad = jnp.zeros((1, 1), bool)
        first = no_violation(x)
        checked.append(0)

    def cat(a: jax.Array, b: jax.Array) -> jax.Array:
        return jnp.concatenate([a, jnp.asarray(b, a.dtype)[None]])

    anys, rows_at = cat(found.anys, first[0]), cat(found.rows_at, first[1])
    new = anys & (state.first_step < 0)
    return GuardState(
        steps=_sat_add(state.steps, jnp.ones((), jnp.int32)),
        w_min=jnp.minimum(state.w_min, found.w_min.astype(jnp.float32)),
        w_max=jnp.maximum(state.w_max, found.w_max.astype(jnp.float32)),
        max_norm_error=jnp.maximum(state.max_norm_error, found.max_err.astype(jnp.float32)),
        min_safety_margin=jnp.minimum(state.min_safety_margin, low_margin.astype(jnp.float32)),
        nonfinite=_sat_add(state.nonfinite, found.nonfinite),
        tolerance=jnp.asarray(tol, jnp.float32),
        checked=_sat_add(state.checked, jnp.asarray(checked, jnp.int32)),
        violations=_sat_add(state.violations, cat(found.counts, jnp.sum(safety_bad))),
        first_step=jnp.where(new, jnp.asarray(step).astype(jnp.int32), state.first_step),
        first_position=jnp.where(new, pos[rows_at], state.first_position),
        first_token=jnp.where(new, cat(found.tokens, first[2]), state.first_token),
        first_detail=jnp.where(new, cat(found.details, first[3]), state.first_detail),
        first_value=jnp.where(new, cat(found.values, first[4]).astype(jnp.float32), state.first_value),
        first_weights=jnp.where(new[:, None], jnp.concatenate([found.weights, first[5][None]]).astype(jnp.float32),
                                state.first_weights),
    )


def guard_merge(a: GuardState, b: GuardState) -> GuardState:
    """One state for two (runs, devices, shards) side by side over the same steps: ranges and
    counts combined, `steps` the larger; each property's first violation is the earlier step's
    (a's on a tie)."""
    return merge(a, b, jnp)


def guard_merge_runs(states: Sequence[GuardState] | GuardState) -> GuardState:
    """Merge a list of states, or a state whose leaves carry a leading run axis (from vmap)."""
    return merge_runs(states, jnp)
