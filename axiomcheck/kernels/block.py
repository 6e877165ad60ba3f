"""One block of positions of the distillation objective, shared by the streamed kernels.

`objective_block` takes a block of student logits z [B, V] and teacher logits [K, B, V]
(any float dtype; cast here, so a bfloat16 input is never copied whole into float32),
builds the ensemble target q, and returns the weighted per-position losses π_i ℓ_i
and, if asked, their gradient with respect to z — everything of
`kernels.divergences` for B positions at a time.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from axiomcheck.kernels.divergences import (
    Objective,
    combine,
    divergence_value,
    label_terms,
    student_gradient,
)
from axiomcheck.kernels.ensemble import entropy_weights_from_exp, target_block, teacher_block

__all__ = ["objective_block", "row_stats"]


def row_stats(z: jax.Array, inv_t: float):
    """Per-row statistics of logits z [..., V] at temperature T: (max of z / T, log S, 1 / S),
    each [..., 1], with S = Σ_v exp(z / T − max) ≥ 1."""
    zs = z if inv_t == 1.0 else z * inv_t
    m = lax.stop_gradient(jnp.max(zs, axis=-1, keepdims=True))
    s_sum = jnp.sum(jnp.exp(zs - m), axis=-1, keepdims=True)
    return m, jnp.log(s_sum), 1.0 / s_sum


def _softmax_parts(z, inv_t, stats):
    m, log_sum, inv_sum = stats
    xs = (z if inv_t == 1.0 else z * inv_t) - m
    return xs - log_sum, jnp.exp(xs) * inv_sum


def objective_block(obj: Objective, per_token: bool, z, teacher, weights, *, stats, want_grad: bool,
                    pos_weight, labels=None, hard_stats=None, entropy_beta=None):
    """(π_i ℓ_i [B], π_i dℓ_i/dz [B, V] or None) for one block.

    z [B, V] float; teacher [K, B, V]; weights [K, B] / [K, B, V] (ignored with
    `entropy_beta`: then entropy weights of this block's teachers); `stats` =
    row_stats(z, 1/T) for these rows, `hard_stats` = row_stats(z, 1) (needed with labels
    when T ≠ 1); `pos_weight` a float (π = 1/N) or [B].
    """
    inv_t = 1.0 / obj.temperature
    dtype = z.dtype
    x, e, s_sum = teacher_block(teacher.astype(dtype), inv_t)
    if entropy_beta is not None:
        weights = entropy_weights_from_exp(e, s_sum, entropy_beta)
    need_log = obj.divergence != "cross_entropy"
    q, log_q = target_block(x, e, s_sum, weights, per_token, need_log, obj.needs_log_q)
    log_s, p_s = _softmax_parts(z, inv_t, stats)
    value = divergence_value(obj, q, log_q, log_s, p_s)
    grad_u = student_gradient(obj, q, log_q, log_s, p_s, value) if want_grad else None
    ce = grad_ce = None
    if labels is not None and obj.alpha > 0.0:
        log_h, p_h = (log_s, p_s) if inv_t == 1.0 else _softmax_parts(z, 1.0, hard_stats)
        ce, grad_ce = label_terms(log_h, p_h, labels)
    return combine(obj, value, grad_u, ce, grad_ce, pos_weight)
