"""Which positions count: padding masks, `ignore_index` labels, and the mean over kept positions.

Every kernel returns Σ_i π_i ℓ_i with π_i = kept_i / max(1, Σ_j kept_j), where a position
is kept when `mask[i]` is true (or non-zero) and, if `labels` are given and
`ignore_index` is not None, `labels[i] != ignore_index` (−100 by default, the usual
marker of padded label positions). With nothing to drop π_i = 1/N. When no position is
kept the loss and the gradients are 0.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["check_positions"]


def _concrete(x):
    """x as a numpy array when it is concrete, None inside a trace (jit, vmap, grad)."""
    try:
        return np.asarray(x)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return None


def check_labels(labels, n: int, v: int, ignore_index) -> jax.Array:
    """labels [N] as int32; concrete labels outside [0, V) (other than ignore_index) raise."""
    shape = tuple(jnp.shape(labels))
    if shape != (n,):
        raise ValueError(f"labels must have shape [N] = {(n,)}, got {shape}")
    if not jnp.issubdtype(jnp.asarray(labels).dtype, jnp.integer):
        raise TypeError(f"labels must be integers, got dtype {jnp.asarray(labels).dtype}")
    values = _concrete(labels)
    if values is not None:
        bad = (values < 0) | (values >= v)
        if ignore_index is not None:
            bad &= values != ignore_index
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"labels must lie in [0, V) = [0, {v}) or equal ignore_index="
                             f"{ignore_index}; labels[{i}] = {int(values[i])}")
    return jnp.asarray(labels).astype(jnp.int32)


def check_positions(mask, labels, ignore_index, alpha: float, n: int, v: int, dtype):
    """(labels int32 [N] or None, π [N] in `dtype` or None when every position counts equally).

    `alpha > 0` needs labels. π is None only when neither a mask nor labels are given.
    """
    if alpha > 0.0 and labels is None:
        raise ValueError("alpha > 0 mixes in the hard-label cross-entropy: pass labels [N]")
    if ignore_index is not None and (isinstance(ignore_index, bool)
                                     or not isinstance(ignore_index, (int, np.integer))):
        raise TypeError(f"ignore_index must be an int or None, got {ignore_index!r}")
    if labels is not None:
        labels = check_labels(labels, n, v, ignore_index)
    if mask is None and labels is None:
        return None, None
    kept = jnp.ones((n,), bool)
    if mask is not None:
        shape = tuple(jnp.shape(mask))
        if shape != (n,):
            raise ValueError(f"mask must have shape [N] = {(n,)}, got {shape}")
        kept = jnp.asarray(mask).astype(bool)
    if labels is not None and ignore_index is not None:
        kept = kept & (labels != ignore_index)
    count = jnp.maximum(jnp.sum(kept.astype(dtype)), jnp.ones((), dtype))
    return labels, kept.astype(dtype) / count
