"""The ensemble operator G and entropy-based teacher weights, streamed over positions.

The ensemble G (the one definition used throughout the project), for teacher logits
t[K, N, V], weights w and temperature T, with p_k = softmax(t_k / T) over V:

    q(v | i) = r(v | i) / Σ_u r(u | i),      r(v | i) = Σ_k w_k(i, v) · p_k(v | i).

* Token-independent weights w[K, N]: Σ_u r = Σ_k w_k(i), so q = Σ_k w_k p_k / Σ_k w_k;
  when the weights already sum to 1 over k this is exactly the convex combination
  Σ_k w_k p_k and the normalization changes nothing.
* Per-token weights w[K, N, V]: r is neither normalized over V nor a convex
  combination of the p_k, so G RENORMALIZES it over the vocabulary.

Weights must be non-negative with, at every position, some mass on a token a
teacher can emit (otherwise q is 0/0). A vocabulary entry that every teacher
masks with -inf (or that only zero-weight teachers allow) gets q = 0, log q = -inf.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from axiomcheck.kernels._common import (
    check_block,
    check_teacher,
    check_temperature,
    check_weights,
    kernel_dtype,
    safe_log,
    safe_logsumexp,
    shifted_exp,
    stream,
    sum_k,
    take,
)

__all__ = ["ensemble_log_probs", "entropy_weights"]


def teacher_block(tl: jax.Array, inv_t: float, clamp: bool = False):
    """x = t/T - max (clamped at X_FLOOR if asked), e = exp(x), S = Σ_v e for a block [K, B, V]."""
    return shifted_exp(tl if inv_t == 1.0 else tl * inv_t, clamp)


def log_q_block(x, s_sum, w, per_token: bool) -> jax.Array:
    """log q [B, V] in log space (differentiable, NaN-free with -inf entries)."""
    logp = x - jnp.log(s_sum)  # [K, B, V]; S >= 1
    if per_token:
        lr = safe_logsumexp(safe_log(w) + logp, axis=0)[0]  # log r [B, V]
        return lr - safe_logsumexp(lr, axis=-1)  # renormalize over V
    lw = safe_log(w / sum_k(w))  # log(w_k / Σ_k w_k) [K, B]
    return safe_logsumexp(lw[..., None] + logp, axis=0)[0]


def q_block(x, e, s_sum, w, per_token: bool) -> jax.Array:
    """q [B, V], the ensemble in linear space, for the KD forward pass (not differentiated).

    Token-independent weights need no log: q = Σ_k (w_k / (S_k Σ_k w_k)) e_k, with
    e_k ≤ 1 and S_k ≥ 1, so nothing overflows and one exp per teacher entry suffices.
    Per-token weights are mixed in log space, then renormalized over V.
    """
    if per_token:
        return jnp.exp(log_q_block(x, s_sum, w, True))
    coef = (w / sum_k(w))[..., None] / s_sum  # [K, B, 1]
    return sum_k(coef * e)[0]


def target_block(x, e, s_sum, w, per_token: bool, need_log: bool, log_space: bool):
    """(q, log q) [B, V] for the divergences (forward pass, not differentiated).

    `need_log`: whether log q is wanted at all (cross-entropy needs q only: log q is
    None). `log_space`: compute log q by logsumexp over teachers (accurate where q is
    far below the float's smallest normal number, as reverse KL needs) rather than
    as log of the linear q. Per-token weights are always mixed in log space.
    """
    if per_token:
        log_q = log_q_block(x, s_sum, w, True)
        return jnp.exp(log_q), log_q
    q = q_block(x, e, s_sum, w, False)
    if not need_log:
        return q, None
    return q, (log_q_block(x, s_sum, w, False) if log_space else safe_log(q))


def entropy_weights_block(x, e, s_sum, beta) -> jax.Array:
    """softmax_k(-beta · H_k) [K, B] from a teacher block's shifted exp (see entropy_weights).

    `x` must be the clamped one (teacher_block(..., clamp=True)): finite where e = 0.
    """
    h = jnp.log(s_sum[..., 0]) - jnp.sum(e * x, axis=-1) / s_sum[..., 0]
    return jax.nn.softmax(-beta * h, axis=0)


def entropy_weights_from_exp(e, s_sum, beta) -> jax.Array:
    """softmax_k(-beta · H_k) [K, B] from e = exp(t/T - max) and S = Σ_v e only (no x).

    Uses Σ_v e·x = Σ_v e·log e (log e = x up to rounding; e = 0 gives 0 · log(tiny) = 0),
    so the block's x need not be kept: XLA:CPU then fuses max, subtract and exp into
    one fast (YNNPACK) op, which it does not when x has a second consumer. For the
    fused forward pass (not differentiated); `entropy_weights` keeps the x form.
    """
    tiny = jnp.finfo(e.dtype).tiny
    h = jnp.log(s_sum[..., 0]) - jnp.sum(e * jnp.log(jnp.maximum(e, tiny)), axis=-1) / s_sum[..., 0]
    return jax.nn.softmax(-beta * h, axis=0)


def ensemble_log_probs(
    teacher_logits: jax.Array,
    weights: jax.Array,
    *,
    temperature: float = 1.0,
    block_size: int | None = None,
) -> jax.Array:
    """log q [N, V] of the weighted teacher ensemble G (renormalized over V; see module doc).

    teacher_logits [K, N, V]; weights [K, N] (token-independent) or [K, N, V]
    (per-token, renormalized over the vocabulary). Computed in log space
    (logsumexp over k of log w + log_softmax(t / T)), block by block over N:
    logits of ±1e4 are fine and an entry every teacher masks with -inf gets
    log q = -inf, with no NaN in values or gradients (the gradient of log w at
    w = 0 is taken as 0). `temperature` is static.
    """
    k, n, v = check_teacher(teacher_logits)
    per_token = check_weights(weights, k, n, v)
    inv_t = 1.0 / check_temperature(temperature)
    dtype = kernel_dtype(teacher_logits, weights)
    teacher = jnp.asarray(teacher_logits).astype(dtype)
    weights = jnp.asarray(weights).astype(dtype)
    block = check_block(block_size, n, k * v * dtype.itemsize)

    def block_fn(start, b):
        x, _, s_sum = teacher_block(take(teacher, start, b, 1), inv_t)
        return (log_q_block(x, s_sum, take(weights, start, b, 1), per_token),)

    (out,) = stream(block_fn, n, block, [((n, v), dtype, 0)])
    return out


def entropy_weights(
    teacher_logits: jax.Array,
    *,
    beta: float = 1.0,
    temperature: float = 1.0,
    block_size: int | None = None,
) -> jax.Array:
    """Token-independent weights [K, N] = softmax over k of -beta · H(softmax(t_k / T)).

    Confident (low-entropy) teachers get more weight. One streamed pass over the
    teacher logits: H = log S + Σ_v e·(-x) / S with x = t/T - max, e = exp(x),
    S = Σ e (both terms ≥ 0, so no cancellation; masked entries contribute 0).
    Differentiable (the gradient flows through the streamed loop).
    """
    k, n, v = check_teacher(teacher_logits)
    inv_t = 1.0 / check_temperature(temperature)
    dtype = kernel_dtype(teacher_logits)
    teacher = jnp.asarray(teacher_logits).astype(dtype)
    if not isinstance(beta, (int, float)):
        beta = jnp.asarray(beta).astype(dtype)
    block = check_block(block_size, n, k * v * dtype.itemsize)

    def block_fn(start, b):
        x, e, s_sum = teacher_block(take(teacher, start, b, 1), inv_t, clamp=True)
        return (entropy_weights_block(x, e, s_sum, beta),)

    (out,) = stream(block_fn, n, block, [((k, n), dtype, 1)])
    return out
