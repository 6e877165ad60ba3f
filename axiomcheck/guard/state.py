"""What the weight guard has seen (`GuardState`), and how two states merge.

The JAX guard keeps a `GuardState` of `jnp` arrays (a pytree it threads through
jit, scan and vmap); the PyTorch guard keeps the same fields as tensors on the
weights' device and hands a `GuardState` of numpy arrays to the results.  `merge`
is written once for both numpy and `jax.numpy` (`xp`).

>>> import numpy as np
>>> a = GuardState(*(np.full(shape, fill, dtype) for shape, dtype, fill in empty(2)))
>>> merge(a, a, np).first_step.tolist()
[-1, -1, -1, -1]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

__all__ = ["GuardState", "empty", "merge", "merge_runs", "sat_add"]


class GuardState(NamedTuple):
    """What the guard has seen so far (a pytree; every leaf an array).

    Per-property arrays are `[4]`, in the order of `PROPERTIES`. `first_*` are −1
    until the property is first violated; `first_token` is −1 for token-independent
    weights; `first_detail` is the teacher at fault (positivity: the smallest weight;
    bounds: the one furthest outside) or the index of the broken pair in
    `spec.safety_pairs` (safety), −1 for normalization; `first_value` is |Σ_k w_k − 1|,
    the smallest weight, the weight outside the bounds, or w_safer − w_less_safe.
    """

    steps: Any  # int32[]: updates seen
    w_min: Any  # float32[K]: smallest weight per teacher over the finite vectors (+inf before any)
    w_max: Any  # float32[K]: largest weight per teacher over the finite vectors (−inf before any)
    max_norm_error: Any  # float32[]: worst |Σ_k w_k − 1| (inf once a sum is not finite)
    min_safety_margin: Any  # float32[]: smallest w_safer − w_less_safe on S (+inf before any)
    nonfinite: Any  # int32[]: weight vectors holding a NaN or ±inf
    tolerance: Any  # float32[]: the tolerance of the last update
    checked: Any  # int32[4]: weight vectors each property was checked on
    violations: Any  # int32[4]
    first_step: Any  # int32[4]
    first_position: Any  # int32[4]
    first_token: Any  # int32[4]
    first_detail: Any  # int32[4]
    first_value: Any  # float32[4]
    first_weights: Any  # float32[4, K]: the K weights of the first violating vector (NaN before)


def empty(teachers: int) -> tuple[tuple[Any, ...], ...]:
    """The fields of the state before any step, as (shape, dtype name, fill value) per field."""
    k = teachers
    ints, none = ((4,), "int32", 0), ((4,), "int32", -1)
    return (((), "int32", 0), ((k,), "float32", np.inf), ((k,), "float32", -np.inf), ((), "float32", 0.0),
            ((), "float32", np.inf), ((), "int32", 0), ((), "float32", 0.0), ints, ints, none, none, none, none,
            ((4,), "float32", np.nan), ((4, k), "float32", np.nan))


def sat_add(a: Any, b: Any, xp: Any) -> Any:
    """a + b for counts ≥ 0, stopping at the maximum of a's integer dtype instead of wrapping."""
    top = int(np.iinfo(np.dtype(a.dtype)).max)
    b = b.astype(a.dtype)
    return xp.where(a > top - b, top, a + b)


def merge(a: GuardState, b: GuardState, xp: Any) -> GuardState:
    """One state for two (runs, devices, shards) side by side over the same steps: ranges and
    counts combined, `steps` the larger; each property's first violation is the earlier step's
    (a's on a tie)."""
    take_b = (b.first_step >= 0) & ((a.first_step < 0) | (b.first_step < a.first_step))

    def pick(x: Any, y: Any) -> Any:
        return xp.where(take_b, y, x)

    return GuardState(
        steps=xp.maximum(a.steps, b.steps), w_min=xp.minimum(a.w_min, b.w_min),
        w_max=xp.maximum(a.w_max, b.w_max), max_norm_error=xp.maximum(a.max_norm_error, b.max_norm_error),
        min_safety_margin=xp.minimum(a.min_safety_margin, b.min_safety_margin),
        nonfinite=sat_add(a.nonfinite, b.nonfinite, xp), tolerance=xp.maximum(a.tolerance, b.tolerance),
        checked=sat_add(a.checked, b.checked, xp), violations=sat_add(a.violations, b.violations, xp),
        first_step=pick(a.first_step, b.first_step), first_position=pick(a.first_position, b.first_position),
        first_token=pick(a.first_token, b.first_token), first_detail=pick(a.first_detail, b.first_detail),
        first_value=pick(a.first_value, b.first_value),
        first_weights=xp.where(take_b[:, None], b.first_weights, a.first_weights))


def merge_runs(states: Sequence[GuardState] | GuardState, xp: Any) -> GuardState:
    """Merge a list of states, or a state whose leaves carry a leading run axis (from vmap)."""
    if isinstance(states, GuardState):
        n = int(np.shape(states.steps)[0]) if np.ndim(states.steps) else 0
        if n == 0:
            return states
        states = [GuardState(*(leaf[i] for leaf in states)) for i in range(n)]
    out = states[0]
    for s in states[1:]:
        out = merge(out, s, xp)
    return out
