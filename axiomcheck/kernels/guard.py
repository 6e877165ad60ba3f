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

A NaN weight breaks every property it takes part in; ±inf breaks normalization
and the bounds (−inf positivity too).  The state keeps per-teacher running
min/max of the finite weights, the worst normalization error, the smallest
safety margin, per-property counts of checked and violating vectors (int32,
saturating at 2³¹ − 1), and for each property the step, position and token of
the first violation with its value.  The weights pass through `stop_gradient`,
so the guard can sit inside a differentiated loss (as its aux output).
`axiomcheck.kernels.guard_results` turns a state into `Result`s.

>>> import jax.numpy as jnp
>>> spec = GuardSpec(teachers=2, bounds=(0.1, 0.9))
>>> s = guard_update(guard_init(spec), jnp.array([[0.5, 0.95], [0.5, 0.05]]), 0, spec)
>>> s.violations.tolist(), s.first_position.tolist()
([0, 0, 1, 0], [-1, -1, 1, -1])
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ._guard_passes import Found, first_violation, located, no_violation, one_pass, over_k

__all__ = ["PROPERTIES", "GuardSpec", "GuardState", "guard_init", "guard_merge", "guard_merge_runs", "guard_update"]

#: The properties the guard checks, in the order of its per-property arrays.
PROPERTIES = ("normalization", "positivity", "bounds", "safety")
_INT_MAX = np.iinfo(np.int32).max


@dataclasses.dataclass(frozen=True)
class GuardSpec:
    """What the guarded weights must satisfy; hashable, so a jitted step can close over it.

    Args:
        teachers: K.
        bounds: the declared `(w_min, w_max)`, or None (bounds not checked).
        safety_tokens: the safety-critical token ids S (empty: no safety order).
        safety_pairs: `(safer, less safe)` teacher pairs, as `Safety.ordered_pairs()` gives them.
        tolerance: absolute tolerance of the sum, bound and order comparisons; None:
            8 ulps of the weights' dtype times K (float32 at least), as `verify` uses.
    """

    teachers: int
    bounds: tuple[float, float] | None = None
    safety_tokens: tuple[int, ...] = ()
    safety_pairs: tuple[tuple[int, int], ...] = ()
    tolerance: float | None = None

    def __post_init__(self) -> None:
        k = int(self.teachers)
        if k < 1:
            raise ValueError(f"GuardSpec.teachers must be ≥ 1, got {self.teachers!r}")
        object.__setattr__(self, "teachers", k)
        if self.bounds is not None:
            lo, hi = (float(b) for b in self.bounds)
            if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
                raise ValueError(f"GuardSpec.bounds must be finite (w_min, w_max) with w_min ≤ w_max, "
                                 f"got {self.bounds!r}")
            object.__setattr__(self, "bounds", (lo, hi))
        toks = tuple(int(t) for t in self.safety_tokens)
        pairs = tuple((int(a), int(b)) for a, b in self.safety_pairs)
        if any(t < 0 for t in toks) or len(set(toks)) != len(toks):
            raise ValueError(f"GuardSpec.safety_tokens must be distinct ids ≥ 0, got {self.safety_tokens!r}")
        if any(not (0 <= a < k and 0 <= b < k and a != b) for a, b in pairs):
            raise ValueError(f"GuardSpec.safety_pairs must pair two different teachers in 0..{k - 1}, "
                             f"got {self.safety_pairs!r}")
        if bool(toks) != bool(pairs):
            raise ValueError("GuardSpec needs both safety_tokens and safety_pairs, or neither, "
                             f"got tokens {toks!r} and pairs {pairs!r}")
        object.__setattr__(self, "safety_tokens", toks)
        object.__setattr__(self, "safety_pairs", pairs)
        if self.tolerance is not None:
            tol = float(self.tolerance)
            if not (math.isfinite(tol) and tol >= 0):
                raise ValueError(f"GuardSpec.tolerance must be a finite number ≥ 0, got {self.tolerance!r}")
            object.__setattr__(self, "tolerance", tol)

    @property
    def has_safety(self) -> bool:
        return bool(self.safety_pairs)

    def tol_for(self, dtype: Any) -> float:
        """The tolerance for weights of `dtype`: the declared one, else 8 ulps of the dtype
        (float32 for a non-float dtype) times K, the default `verify` uses."""
        if self.tolerance is not None:
            return self.tolerance
        dt = jnp.dtype(dtype)
        eps = float(jnp.finfo(dt if jnp.issubdtype(dt, jnp.floating) else jnp.float32).eps)
        return 8.0 * eps * self.teachers

    @classmethod
    def from_operator(cls, op: Any, teachers: int, *, tolerance: float | None = None) -> GuardSpec:
        """The spec an `Operator` declares: its bounds (for a composition without declared
        bounds, the bounds derived from its components) and its token-scale safety order
        (a composition's token component's); context-scale orders are not guarded."""
        bounds = op.bounds
        comps = tuple(getattr(op, "components", ()) or ())
        if bounds is None and comps:
            from ..unified_bounds import derived_bounds

            bounds = derived_bounds(comps, teachers).get("bounds")
        safety = next((o.safety for o in (op, *comps) if o.safety is not None and o.safety.tokens is not None),
                      None)
        return cls(teachers=teachers, bounds=tuple(bounds) if bounds is not None else None,
                   safety_tokens=safety.tokens if safety else (),
                   safety_pairs=safety.ordered_pairs() if safety else (), tolerance=tolerance)


class GuardState(NamedTuple):
    """What the guard has seen so far (a pytree; every leaf a jnp array).

    Per-property arrays are `[4]`, in the order of `PROPERTIES`. `first_*` are −1
    until the property is first violated; `first_token` is −1 for token-independent
    weights; `first_detail` is the teacher at fault (positivity: the smallest weight;
    bounds: the one furthest outside) or the index of the broken pair in
    `spec.safety_pairs` (safety), −1 for normalization; `first_value` is |Σ_k w_k − 1|,
    the smallest weight, the weight outside the bounds, or w_safer − w_less_safe.
    """

    steps: jax.Array  # int32[]: updates seen
    w_min: jax.Array  # float32[K]: smallest finite weight per teacher (+inf before any)
    w_max: jax.Array  # float32[K]: largest finite weight per teacher (−inf before any)
    max_norm_error: jax.Array  # float32[]: worst |Σ_k w_k − 1| (inf once a sum is not finite)
    min_safety_margin: jax.Array  # float32[]: smallest w_safer − w_less_safe on S (+inf before any)
    nonfinite: jax.Array  # int32[]: weight vectors holding a NaN or ±inf
    tolerance: jax.Array  # float32[]: the tolerance of the last update
    checked: jax.Array  # int32[4]: weight vectors each property was checked on
    violations: jax.Array  # int32[4]
    first_step: jax.Array  # int32[4]
    first_position: jax.Array  # int32[4]
    first_token: jax.Array  # int32[4]
    first_detail: jax.Array  # int32[4]
    first_value: jax.Array  # float32[4]
    first_weights: jax.Array  # float32[4, K]: the K weights of the first violating vector (NaN before)


def guard_init(spec: GuardSpec) -> GuardState:
    """The state before any step."""
    k = spec.teachers
    none = jnp.full((4,), -1, jnp.int32)
    return GuardState(
        steps=jnp.zeros((), jnp.int32), w_min=jnp.full((k,), jnp.inf, jnp.float32),
        w_max=jnp.full((k,), -jnp.inf, jnp.float32), max_norm_error=jnp.zeros((), jnp.float32),
        min_safety_margin=jnp.full((), jnp.inf, jnp.float32), nonfinite=jnp.zeros((), jnp.int32),
        tolerance=jnp.zeros((), jnp.float32), checked=jnp.zeros((4,), jnp.int32),
        violations=jnp.zeros((4,), jnp.int32), first_step=none, first_position=none, first_token=none,
        first_detail=none, first_value=jnp.full((4,), jnp.nan, jnp.float32),
        first_weights=jnp.full((4, k), jnp.nan, jnp.float32))


def _sat_add(a: jax.Array, b: jax.Array) -> jax.Array:
    """a + b for counts ≥ 0, stopping at the int32 maximum instead of wrapping."""
    b = b.astype(jnp.int32)
    return jnp.where(a > _INT_MAX - b, _INT_MAX, a + b)


def _check_shape(weights: Any, spec: GuardSpec) -> tuple[int, int]:
    shape = tuple(jnp.shape(weights))
    if len(shape) not in (2, 3) or shape[0] != spec.teachers or 0 in shape:
        raise ValueError(f"weights must have shape [K, N] or [K, N, V] with K = {spec.teachers}, got {shape}")
    v = shape[2] if len(shape) == 3 else 1
    if len(shape) == 3 and spec.has_safety and max(spec.safety_tokens) >= v:
        raise ValueError(f"the safety-critical token {max(spec.safety_tokens)} is outside the vocabulary "
                         f"V = {v} of the weights")
    return shape[1], v


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
    n, v = _check_shape(weights, spec)
    w = lax.stop_gradient(jnp.asarray(weights))  # it only watches: safe inside a differentiated loss
    tol = spec.tol_for(w.dtype)
    dtype = jnp.promote_types(w.dtype, jnp.float32)
    x = w.astype(dtype).reshape(spec.teachers, n, v)  # [K, B, R]: R = V, or 1 for token-independent weights
    pos = jnp.arange(n, dtype=jnp.int32) if positions is None else jnp.asarray(positions).astype(jnp.int32)

    # One pass over the weights decides whether any vector breaks normalization, positivity or the
    # bounds; only then (lax.cond) are the violations counted and located, in further passes.
    w_min, w_max, worst = one_pass(x, spec, tol)
    quiet = Found(jnp.zeros((3,), jnp.int32), jnp.zeros((3,), bool), *(jnp.full((3,), -1, jnp.int32),) * 3,
                   jnp.full((3,), jnp.nan, dtype), jnp.full((3, spec.teachers), jnp.nan, dtype),
                   w_min, w_max, worst, jnp.zeros((), jnp.int32))
    found = lax.cond(worst <= tol, lambda: quiet, lambda: located(x, spec, tol, v))
    checked = [n * v, n * v, n * v if spec.bounds is not None else 0]

    low_margin = jnp.asarray(jnp.inf, dtype)
    if spec.has_safety:
        toks = spec.safety_tokens if v > 1 else None
        xs = x if toks is None else x[:, :, np.asarray(toks)]  # [K, B, |S|] (all rows if token-independent)
        margin = over_k(jnp.minimum, jnp.stack([xs[a] - xs[b] for a, b in spec.safety_pairs]))
        safety_bad = ~(margin >= -tol)
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
    take_b = (b.first_step >= 0) & ((a.first_step < 0) | (b.first_step < a.first_step))

    def pick(x: jax.Array, y: jax.Array) -> jax.Array:
        return jnp.where(take_b, y, x)

    return GuardState(
        steps=jnp.maximum(a.steps, b.steps), w_min=jnp.minimum(a.w_min, b.w_min),
        w_max=jnp.maximum(a.w_max, b.w_max), max_norm_error=jnp.maximum(a.max_norm_error, b.max_norm_error),
        min_safety_margin=jnp.minimum(a.min_safety_margin, b.min_safety_margin),
        nonfinite=_sat_add(a.nonfinite, b.nonfinite), tolerance=jnp.maximum(a.tolerance, b.tolerance),
        checked=_sat_add(a.checked, b.checked), violations=_sat_add(a.violations, b.violations),
        first_step=pick(a.first_step, b.first_step), first_position=pick(a.first_position, b.first_position),
        first_token=pick(a.first_token, b.first_token), first_detail=pick(a.first_detail, b.first_detail),
        first_value=pick(a.first_value, b.first_value),
        first_weights=jnp.where(take_b[:, None], b.first_weights, a.first_weights))


def guard_merge_runs(states: Sequence[GuardState] | GuardState) -> GuardState:
    """Merge a list of states, or a state whose leaves carry a leading run axis (from vmap)."""
    if isinstance(states, GuardState):
        n = int(jnp.shape(states.steps)[0]) if jnp.ndim(states.steps) else 0
        if n == 0:
            return states
        states = [jax.tree_util.tree_map(lambda leaf, i=i: leaf[i], states) for i in range(n)]
    out = states[0]
    for s in states[1:]:
        out = guard_merge(out, s)
    return out
