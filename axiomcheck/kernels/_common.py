"""Shared pieces of the kernels: argument checks, safe log-space primitives, streaming.

Streaming: `stream` runs a per-block function over the position axis N with a
`fori_loop`, writing each block's outputs in place into preallocated buffers, so
the only arrays of size K·N·V alive are the inputs (and, for the teacher
cotangent, the output itself). The last block is shifted back to end at N
(it overlaps its predecessor and rewrites identical values), so every block has
the same static shape and no padding copy of the inputs is ever made.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

#: Bytes of one teacher block [K, B, V] (float32) aimed for by the default block size:
#: large enough that XLA:CPU's library reductions split each op over the cores, small
#: enough to stay in cache; 8 MiB measured best (2-32 MiB tried) with
#: benchmarks/kd_kernel.py on a 2-core machine.
BLOCK_BYTES = 8 << 20

#: The same on a GPU or TPU backend, where each loop iteration costs kernel launches
#: and larger blocks keep the device busy; still a bounded fraction of the teacher
#: logits at large N (see the GPU table in docs/benchmarks.md).
ACCELERATOR_BLOCK_BYTES = 64 << 20


def default_block_bytes() -> int:
    """BLOCK_BYTES on the CPU backend, ACCELERATOR_BLOCK_BYTES on any other."""
    return BLOCK_BYTES if jax.default_backend() == "cpu" else ACCELERATOR_BLOCK_BYTES


def kernel_dtype(*arrays) -> np.dtype:
    """float64 if any input is float64 (only possible with x64 enabled), else float32."""
    for a in arrays:
        dt = getattr(a, "dtype", None)
        if np.dtype(np.asarray(a).dtype if dt is None else dt) == np.float64:
            return np.dtype(np.float64)
    return np.dtype(np.float32)


def check_temperature(temperature) -> float:
    """The temperature must be a concrete positive finite number (it is static)."""
    try:
        t = float(temperature)
    except (TypeError, jax.errors.ConcretizationTypeError) as exc:
        raise TypeError(
            f"temperature must be a concrete Python number (it is static), got {temperature!r}"
        ) from exc
    if not (math.isfinite(t) and t > 0.0):
        raise ValueError(f"temperature must be a positive finite number, got {temperature!r}")
    return t


def check_teacher(teacher_logits) -> tuple[int, int, int]:
    shape = jnp.shape(teacher_logits)
    if len(shape) != 3 or 0 in shape:
        raise ValueError(f"teacher_logits must have shape [K, N, V] with K, N, V > 0, got {shape}")
    return shape  # type: ignore[return-value]


def check_weights(weights, k: int, n: int, v: int) -> bool:
    """Validate the weights' shape; True when they are per-token ([K, N, V])."""
    shape = tuple(jnp.shape(weights))
    if shape == (k, n):
        return False
    if shape == (k, n, v):
        return True
    raise ValueError(
        f"weights must have shape [K, N] = {(k, n)} or [K, N, V] = {(k, n, v)}, got {shape}"
    )


def check_student(student_logits, n: int, v: int) -> None:
    shape = tuple(jnp.shape(student_logits))
    if shape != (n, v):
        raise ValueError(f"student_logits must have shape [N, V] = {(n, v)}, got {shape}")


def check_block(block_size, n: int, bytes_per_position: int) -> int:
    """Positions per block: the given `block_size`, or one sized to default_block_bytes();
    at most N."""
    if block_size is None:
        # at least 2: XLA:CPU handles [K, 1, V] blocks much worse than [K, 2, V]
        b = max(2, default_block_bytes() // max(1, bytes_per_position))
    else:
        if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)):
            raise TypeError(f"block_size must be a positive int or None, got {block_size!r}")
        b = int(block_size)
        if b < 1:
            raise ValueError(f"block_size must be a positive int or None, got {block_size!r}")
    return min(b, n)


def safe_log(x: jax.Array) -> jax.Array:
    """log(x) with log(0) = -inf and a finite (zero) gradient at x = 0."""
    pos = x > 0
    return jnp.where(pos, jnp.log(jnp.where(pos, x, jnp.ones_like(x))), -jnp.inf)


#: Up to this many teachers, reductions over the teacher axis are unrolled into
#: elementwise ops (XLA fuses them; a reduce over the leading axis is slow on CPU).
UNROLL_K = 32


def sum_k(x: jax.Array) -> jax.Array:
    """Σ over the leading (teacher) axis, kept as size 1."""
    if x.shape[0] > UNROLL_K:
        return jnp.sum(x, axis=0, keepdims=True)
    acc = x[:1]
    for i in range(1, x.shape[0]):
        acc = acc + x[i : i + 1]
    return acc


def max_k(x: jax.Array) -> jax.Array:
    """max over the leading (teacher) axis, kept as size 1."""
    if x.shape[0] > UNROLL_K:
        return jnp.max(x, axis=0, keepdims=True)
    acc = x[:1]
    for i in range(1, x.shape[0]):
        acc = jnp.maximum(acc, x[i : i + 1])
    return acc


def safe_logsumexp(x: jax.Array, axis: int) -> jax.Array:
    """logsumexp over `axis` (0 or -1, kept as size 1) that is -inf, with no NaN
    value or gradient, when every entry is -inf."""
    if axis == 0:
        m, total = max_k, sum_k
    else:
        m = functools.partial(jnp.max, axis=axis, keepdims=True)
        total = functools.partial(jnp.sum, axis=axis, keepdims=True)
    mx = lax.stop_gradient(m(x))
    mx = jnp.where(jnp.isfinite(mx), mx, jnp.zeros_like(mx))
    return mx + safe_log(total(jnp.exp(x - mx)))


#: x = s - max is clamped here where finite x is wanted: exp(-1000) is 0 in float32
#: and float64 alike, so the clamp changes no e, only turns -inf into a finite x.
X_FLOOR = -1000.0


def shifted_exp(s: jax.Array, clamp: bool = False) -> tuple[jax.Array, jax.Array, jax.Array]:
    """For logits s [..., V]: x = s - max, e = exp(x), S = Σ_v e.

    S ≥ 1 whenever the row has a finite entry, so p = e / S and log p = x - log S
    neither overflow nor divide by zero; masked entries (-inf) give e = 0. With
    `clamp`, x = max(s - max, X_FLOOR): finite, same e (so e · x has no 0 · -inf).
    """
    # No guard for an all -inf row: such a row is not a distribution (q would be
    # 0/0 anyway), and a select here would keep XLA:CPU from fusing exp into its
    # fast (YNNPACK) reductions.
    m = lax.stop_gradient(jnp.max(s, axis=-1, keepdims=True))
    x = s - m
    if clamp:
        x = jnp.maximum(x, X_FLOOR)
    e = jnp.exp(x)
    return x, e, jnp.sum(e, axis=-1, keepdims=True)


def stream(
    block_fn: Callable[[jax.Array, int], Sequence[jax.Array]],
    n: int,
    block: int,
    outputs: Sequence[tuple[tuple[int, ...], np.dtype, int]],
) -> tuple[jax.Array, ...]:
    """Run `block_fn(start, block)` over positions [start, start + block) for all blocks.

    `outputs` gives (full shape, dtype, position axis) of each output; block_fn
    returns the matching block-shaped pieces. Returns the filled full outputs.
    """
    nb = -(-n // block)
    if nb == 1:
        return tuple(block_fn(jnp.zeros((), jnp.int32), block))

    def body(i, bufs):
        start = jnp.minimum(i * block, n - block)
        pieces = block_fn(start, block)
        return tuple(
            lax.dynamic_update_slice_in_dim(buf, piece, start, axis=ax)
            for buf, piece, (_, _, ax) in zip(bufs, pieces, outputs, strict=True)
        )

    bufs = tuple(jnp.zeros(shape, dtype) for shape, dtype, _ in outputs)
    return tuple(lax.fori_loop(0, nb, body, bufs))


def take(x: jax.Array, start: jax.Array, block: int, axis: int) -> jax.Array:
    """The block [start, start + block) of `x` along `axis` (no copy when fused).

    XLA:CPU has no bfloat16 slicing: it converts the operand of the slice to float32,
    and inside a loop that convert of the whole (loop-invariant) input is hoisted out
    of the loop, a float32 copy of all of it. Passing the array through an
    optimization barrier together with the (loop-dependent) start keeps the convert in
    the loop, fused with the slice, so only the block is ever converted.
    """
    if x.shape[axis] == block:
        return x
    if jnp.issubdtype(x.dtype, jnp.floating) and x.dtype.itemsize < 4:
        x, start = lax.optimization_barrier((x, start))
    return lax.dynamic_slice_in_dim(x, start, block, axis=axis)
