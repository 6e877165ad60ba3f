"""Streamed cotangents of the KD loss with respect to the teacher logits and the weights.

With c_i = g · (1 − α) · s · π_i, ℓ = log softmax(z / T), R = Σ_v r_v, ρ_kv = w_kv p_kv / R
(teacher k's share of q_v) and d = −(h − Σ_v q h), h = ∂D/∂q
(`divergences.teacher_direction`):

    d/ds_kj = −c (d_j ρ_kj − p_kj Σ_v d_v ρ_kv),   s = t / T,
    d/dw_kv = −c d_v p_kv / R   (per-token),   d/dw_k = −c Σ_v d_v p_kv / Σ_k w_k.

The hard-label term does not depend on the teachers. Used by `kd_loss`'s custom VJP,
only when those cotangents are asked for.
"""

from __future__ import annotations

import jax.numpy as jnp

from axiomcheck.kernels._common import safe_log, safe_logsumexp, stream, sum_k, take
from axiomcheck.kernels.block import row_stats
from axiomcheck.kernels.divergences import Objective, divergence_value, teacher_direction
from axiomcheck.kernels.ensemble import teacher_block

__all__ = ["teacher_weight_cotangents"]


def teacher_weight_cotangents(obj: Objective, block: int, per_token: bool, student, teacher, weights,
                              pos_weight, g, need_t: bool, need_w: bool):
    """(d loss / d teacher [K, N, V] if need_t, d loss / d weights if need_w), streamed over N.

    `pos_weight` is the float 1/N or the array π [N]. The teacher cotangent has the
    teacher's dtype (a bfloat16 input gets a bfloat16 cotangent).
    """
    n, v = student.shape
    dtype = student.dtype
    inv_t = 1.0 / obj.temperature
    g_kd = g * obj.kd_weight

    def block_fn(start, b):
        x, e, s_sum = teacher_block(take(teacher, start, b, 1).astype(dtype), inv_t)
        w = take(weights, start, b, 1)
        zb = take(student, start, b, 0)
        m, log_sum, inv_sum = row_stats(zb, inv_t)
        xs = (zb if inv_t == 1.0 else zb * inv_t) - m
        log_s, p_s = xs - log_sum, jnp.exp(xs) * inv_sum
        p = e * (1.0 / s_sum)  # [K, B, V]
        logp = x - jnp.log(s_sum)
        if per_token:
            log_wp = safe_log(w) + logp
            lr = safe_logsumexp(log_wp, axis=0)  # [1, B, V]
            log_r_sum = safe_logsumexp(lr, axis=-1)  # [1, B, 1]
            log_q = (lr - log_r_sum)[0]
            q = jnp.exp(log_q)
            rho = jnp.exp(log_wp - log_r_sum)
        else:
            wn = w / sum_k(w)  # [K, B]
            rho = wn[..., None] * p
            q = sum_k(rho)[0]
            log_q = None
            if obj.divergence != "cross_entropy":
                log_q = safe_logsumexp(safe_log(wn)[..., None] + logp, axis=0)[0]
        value = divergence_value(obj, q, log_q, log_s, p_s)
        d = teacher_direction(obj, q, log_q, log_s, p_s, value)[None]  # [1, B, V]
        if isinstance(pos_weight, float):
            c = g_kd * pos_weight
        else:
            c = (g_kd * take(pos_weight, start, b, 0))[None, :, None]  # [1, B, 1]
        out = []
        if need_t:
            d_rho = d * rho
            ds = d_rho - p * jnp.sum(d_rho, axis=-1, keepdims=True)
            out.append((ds * (-c * inv_t)).astype(teacher.dtype))
        if need_w:
            if per_token:
                out.append(d * jnp.exp(logp - log_r_sum) * (-c))
            else:
                dp = jnp.sum(d * p, axis=-1)  # [K, B]
                cw = c if isinstance(pos_weight, float) else c[..., 0]
                out.append(dp * (-cw) / sum_k(w))
        return out

    outs = []
    if need_t:
        outs.append((teacher.shape, teacher.dtype, 1))
    if need_w:
        outs.append((weights.shape, dtype, 1))
    return stream(block_fn, n, block, outs)
