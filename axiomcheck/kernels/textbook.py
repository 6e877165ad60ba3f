"""The textbook formulation of the distillation objective: whole arrays, gradients by autodiff.

The same loss as the streamed kernels (`kernels.divergences`, the ensemble G of
`kernels.ensemble`, labels and kept positions of `kernels.positions`), written as
log-softmax of every teacher, weighted sum, divergence and mean. It materializes
K·N·V arrays; `kernels.formulation` runs it only where XLA fuses it well (GPU, TPU)
and it fits a memory budget. Masked (−inf) entries follow the streamed kernels'
conventions, and its autodiff gradients are NaN-free there.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from axiomcheck.kernels._common import kernel_dtype, safe_log
from axiomcheck.kernels.divergences import Objective, divergence_value, label_terms

__all__ = ["textbook_linear_loss", "textbook_loss"]


def _entropy_weights(log_p, p, beta):
    """softmax_k(−β H_k) [K, N], H_k = −Σ_v p log p (0 · log 0 = 0)."""
    pos = p > 0
    h = -jnp.sum(jnp.where(pos, p * jnp.where(pos, log_p, jnp.zeros_like(log_p)),
                           jnp.zeros_like(p)), axis=-1)
    return jax.nn.softmax(-beta * h, axis=0)


def textbook_loss(obj: Objective, per_token: bool, student, teacher, weights, *, labels=None,
                  pos_weight=None, entropy_beta=None) -> jax.Array:
    """Σ_i π_i ℓ_i for student logits [N, V], teacher logits [K, N, V], weights [K, N] /
    [K, N, V] (ignored with `entropy_beta`), in float32 (float64 if the student is)."""
    dtype = student.dtype
    inv_t = 1.0 / obj.temperature
    log_p = jax.nn.log_softmax(teacher.astype(dtype) * inv_t, axis=-1)  # [K, N, V]
    p = jnp.exp(log_p)
    if entropy_beta is not None:
        weights = _entropy_weights(log_p, p, entropy_beta)
    if per_token:
        r = jnp.sum(weights * p, axis=0)
        q = r / jnp.sum(r, axis=-1, keepdims=True)
    else:
        wn = weights / jnp.sum(weights, axis=0, keepdims=True)
        q = jnp.sum(wn[..., None] * p, axis=0)
    log_q = None if obj.divergence == "cross_entropy" else safe_log(q)
    log_s = jax.nn.log_softmax(student * inv_t, axis=-1)
    losses = divergence_value(obj, q, log_q, log_s, jnp.exp(log_s)) * obj.kd_weight
    if labels is not None and obj.alpha > 0.0:
        log_h = jax.nn.log_softmax(student, axis=-1)
        ce, _ = label_terms(log_h, jnp.exp(log_h), labels)
        losses = losses + obj.alpha * ce
    if pos_weight is None:
        return jnp.mean(losses)
    kept = pos_weight > 0
    return jnp.sum(jnp.where(kept, losses * pos_weight, jnp.zeros_like(losses)))


def textbook_linear_loss(obj: Objective, per_token: bool, hidden, head, teachers, weights, **kw):
    """textbook_loss of hidden [N, d] @ head [V, d]ᵀ against the teachers: a tuple
    (teacher_logits,) or (teacher_hidden [K, N, d_t], teacher_heads [K, V, d_t])."""
    acc = kernel_dtype(hidden, head, *teachers)
    z = lax.dot_general(hidden, head, (((1,), (1,)), ((), ())), preferred_element_type=acc)
    if len(teachers) == 1:
        t = teachers[0]
    else:
        th, tw = teachers
        t = lax.dot_general(th, tw, (((2,), (2,)), ((0,), (0,))), preferred_element_type=acc)
    return textbook_loss(obj, per_token, z, t, weights, **kw)
