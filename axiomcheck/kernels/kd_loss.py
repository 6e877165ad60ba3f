"""Fused KD loss: cross-entropy of the student to the weighted teacher ensemble, and its gradient.

    loss = scale / N · Σ_i  -Σ_v q(v | i) · log softmax(z_i / T)(v),   scale = T² if t_squared else 1,

with q the ensemble G of `axiomcheck.kernels.ensemble` (renormalized over V for
per-token weights) at the same temperature T. One streamed pass over blocks of
positions computes, per block, each teacher's shifted exp and normalizer, q, the
student's log-softmax, the loss and the analytic gradient

    d loss / d z_i = scale / (N T) · (softmax(z_i / T) - q_i),

so no array of size K·N·V is made beyond the input. Convention for masked
entries: a term with q(v) = 0 contributes 0 to the loss (0 · log 0 = 0), so an
entry masked with -inf by every teacher and by the student gives a finite loss
and a zero gradient; an entry the student masks but q does not gives loss +inf
(the cross-entropy is infinite there) while the student gradient stays finite.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.custom_derivatives import SymbolicZero

from axiomcheck.kernels._common import (
    check_block,
    check_student,
    check_teacher,
    check_temperature,
    check_weights,
    compute_dtype,
    safe_log,
    safe_logsumexp,
    shifted_exp,
    stream,
    sum_k,
    take,
)
from axiomcheck.kernels.ensemble import entropy_weights_from_exp, q_block, teacher_block

__all__ = ["entropy_kd_loss_and_grad", "kd_loss", "kd_loss_and_grad"]


class Config(NamedTuple):
    """Static settings of one KD computation (hashable: a jit / custom_vjp static)."""

    temperature: float
    scale: float  # T² when t_squared, else 1
    block: int
    per_token: bool


def prepare(student_logits, teacher_logits, weights, temperature, t_squared, block_size):
    """Check shapes and settings, cast to the compute dtype; returns (s, t, w, Config)."""
    k, n, v = check_teacher(teacher_logits)
    check_student(student_logits, n, v)
    per_token = check_weights(weights, k, n, v)
    t = check_temperature(temperature)
    dtype = compute_dtype(student_logits, teacher_logits, weights)
    block = check_block(block_size, n, k * v * dtype.itemsize)
    cfg = Config(t, t * t if t_squared else 1.0, block, per_token)
    cast = [jnp.asarray(a).astype(dtype) for a in (student_logits, teacher_logits, weights)]
    return (*cast, cfg)


def _student_block(z: jax.Array, inv_t: float) -> tuple[jax.Array, jax.Array]:
    """(log softmax(z / T), softmax(z / T)) for a student block [B, V]."""
    x, e, s_sum = shifted_exp(z if inv_t == 1.0 else z * inv_t)
    return x - jnp.log(s_sum), e * (1.0 / s_sum)


def _cross_entropy(q: jax.Array, log_s: jax.Array) -> jax.Array:
    """-Σ_v q log_s per position [B], with 0 · log 0 = 0."""
    return -jnp.sum(jnp.where(q > 0, q * log_s, jnp.zeros_like(q)), axis=-1)


def _student_stats(student: jax.Array, inv_t: float):
    """Loop-free per-position statistics of the student [N, V] at temperature T:
    (row max of z / T, log S, 1 / S), each [N, 1], with S = Σ_v exp(z / T - max) ≥ 1.
    Two reductions over the whole array that XLA:CPU runs on every core (inside the
    streamed loop they ran on one, after a copy of each student block)."""
    zs = student if inv_t == 1.0 else student * inv_t
    m = lax.stop_gradient(jnp.max(zs, axis=-1, keepdims=True))
    s_sum = jnp.sum(jnp.exp(zs - m), axis=-1, keepdims=True)
    return m, jnp.log(s_sum), 1.0 / s_sum


def forward(student, teacher, weights, cfg: Config, *, n_norm: int, want_grad: bool,
            entropy_beta=None):
    """Per-position cross-entropies [N] (unscaled) and, if asked, the scaled student gradient.

    With `entropy_beta`, `weights` is ignored and each block's weights are
    entropy_weights(beta, T) computed from the same shifted exp (one pass).
    """
    n, v = student.shape
    dtype = student.dtype
    inv_t = 1.0 / cfg.temperature
    coef = cfg.scale / (cfg.temperature * n_norm)
    s_max, s_logsum, s_inv = _student_stats(student, inv_t)

    def block_fn(start, b):
        # x is used only by per-token weights (token-independent q needs e alone)
        x, e, s_sum = teacher_block(take(teacher, start, b, 1), inv_t)
        if entropy_beta is None:
            w = take(weights, start, b, 1)
        else:
            w = entropy_weights_from_exp(e, s_sum, entropy_beta)
        q = q_block(x, e, s_sum, w, cfg.per_token)
        zb = take(student, start, b, 0)
        xs = (zb if inv_t == 1.0 else zb * inv_t) - take(s_max, start, b, 0)  # z/T - max
        log_s = xs - take(s_logsum, start, b, 0)
        losses = _cross_entropy(q, log_s)
        if not want_grad:
            return (losses,)
        soft = jnp.exp(xs) * take(s_inv, start, b, 0)
        return losses, (soft - q) * coef

    outs = [((n,), dtype, 0)] + ([((n, v), dtype, 0)] if want_grad else [])
    return stream(block_fn, n, cfg.block, outs)


def _teacher_weight_cotangents(student, teacher, weights, g, cfg: Config, need_t, need_w):
    """Streamed cotangents of the loss wrt teacher logits and weights (analytic).

    With c = g · scale / N, ℓ = log softmax(z / T), d_v = ℓ_v + loss_i, R = Σ_v r_v and
    ρ_kv = w_kv p_kv / R (teacher k's share of q_v):
        d/ds_kj = -c (d_j ρ_kj - p_kj Σ_v d_v ρ_kv),   s = t / T,
        d/dw_kv = -c d_v p_kv / R   (per-token),   d/dw_k = -c Σ_v d_v p_kv / Σ_k w_k.
    Entries the student masks get zero cotangent.
    """
    n, v = student.shape
    dtype = student.dtype
    inv_t = 1.0 / cfg.temperature
    c = g * (cfg.scale / n)

    def block_fn(start, b):
        x, e, s_sum = teacher_block(take(teacher, start, b, 1), inv_t)
        w = take(weights, start, b, 1)
        log_s, _ = _student_block(take(student, start, b, 0), inv_t)
        p = e * (1.0 / s_sum)  # [K, B, V]
        if cfg.per_token:
            logp = x - jnp.log(s_sum)
            log_wp = safe_log(w) + logp
            lr = safe_logsumexp(log_wp, axis=0)  # [1, B, V]
            log_r_sum = safe_logsumexp(lr, axis=-1)  # [1, B, 1]
            q = jnp.exp(lr - log_r_sum)[0]
            rho = jnp.exp(log_wp - log_r_sum)
        else:
            wn = w / sum_k(w)  # [K, B]
            rho = wn[..., None] * p
            q = sum_k(rho)[0]
        loss = _cross_entropy(q, log_s)  # [B]
        fin = jnp.isfinite(log_s)
        d = jnp.where(fin, log_s + loss[:, None], jnp.zeros_like(log_s))[None]  # [1, B, V]
        out = []
        if need_t:
            d_rho = d * rho
            ds = d_rho - p * jnp.sum(d_rho, axis=-1, keepdims=True)
            out.append(ds * (-c * inv_t))
        if need_w:
            if cfg.per_token:
                out.append(d * jnp.exp(logp - log_r_sum) * (-c))
            else:
                dp = jnp.sum(d * p, axis=-1)  # [K, B]
                out.append(dp * (-c) / sum_k(w))
        return out

    outs = []
    if need_t:
        outs.append((teacher.shape, dtype, 1))
    if need_w:
        outs.append((weights.shape, dtype, 1))
    return stream(block_fn, n, cfg.block, outs)


@functools.partial(jax.custom_vjp, nondiff_argnums=(3,))
def _kd_loss(student, teacher, weights, cfg: Config):
    (losses,) = forward(student, teacher, weights, cfg, n_norm=student.shape[0], want_grad=False)
    return jnp.sum(losses) * (cfg.scale / student.shape[0])


def _kd_loss_fwd(student, teacher, weights, cfg: Config):
    # symbolic_zeros: each primal comes as (value, perturbed); only what is
    # differentiated is computed (and kept) for the backward pass.
    s, t, w = student.value, teacher.value, weights.value
    n = s.shape[0]
    outs = forward(s, t, w, cfg, n_norm=n, want_grad=student.perturbed)
    loss = jnp.sum(outs[0]) * (cfg.scale / n)
    extra = {}
    if teacher.perturbed or weights.perturbed:
        # Which cotangents are wanted is carried by the keys (values must be pytrees).
        extra = {"inputs": (s, t, w)}
        extra.update({key: None for key, prim in (("teacher", teacher), ("weights", weights))
                      if prim.perturbed})
    return loss, (outs[1] if student.perturbed else None, extra)


def _kd_loss_bwd(cfg: Config, res, g):
    grad, extra = res
    if isinstance(g, SymbolicZero):
        return None, None, None
    d_student = None if grad is None else grad * g
    d_teacher = d_weights = None
    if extra:
        need_t, need_w = "teacher" in extra, "weights" in extra
        cts = list(_teacher_weight_cotangents(*extra["inputs"], g, cfg, need_t, need_w))
        d_teacher = cts.pop(0) if need_t else None
        d_weights = cts.pop(0) if need_w else None
    return d_student, d_teacher, d_weights


_kd_loss.defvjp(_kd_loss_fwd, _kd_loss_bwd, symbolic_zeros=True)


def kd_loss(
    student_logits: jax.Array,
    teacher_logits: jax.Array,
    weights: jax.Array,
    *,
    temperature: float = 1.0,
    t_squared: bool = False,
    block_size: int | None = None,
) -> jax.Array:
    """Mean over positions of -Σ_v q(v) log softmax(student / T)(v), a float32 scalar.

    student_logits [N, V]; teacher_logits [K, N, V]; weights [K, N] or [K, N, V];
    q = ensemble G at temperature T (per-token weights: renormalized over V).
    Multiplied by T² when `t_squared`. Differentiable (custom VJP): the student
    gradient is the analytic one from the fused forward pass; teacher-logit and
    weight cotangents are computed, streamed, only when asked for.
    `temperature` and `block_size` (positions per block) are static.
    """
    s, t, w, cfg = prepare(student_logits, teacher_logits, weights, temperature, t_squared,
                           block_size)
    return _kd_loss(s, t, w, cfg)


def kd_loss_and_grad(
    student_logits: jax.Array,
    teacher_logits: jax.Array,
    weights: jax.Array,
    *,
    temperature: float = 1.0,
    t_squared: bool = False,
    block_size: int | None = None,
) -> tuple[jax.Array, jax.Array]:
    """(kd_loss(...), its gradient wrt student_logits [N, V]) from one fused streamed pass."""
    s, t, w, cfg = prepare(student_logits, teacher_logits, weights, temperature, t_squared,
                           block_size)
    n = s.shape[0]
    losses, grad = forward(s, t, w, cfg, n_norm=n, want_grad=True)
    out_dtype = jnp.asarray(student_logits).dtype
    if jnp.issubdtype(out_dtype, jnp.floating):
        grad = grad.astype(out_dtype)
    return jnp.sum(losses) * (cfg.scale / n), grad


def entropy_kd_loss_and_grad(
    student_logits: jax.Array,
    teacher_logits: jax.Array,
    *,
    beta: float = 1.0,
    temperature: float = 1.0,
    t_squared: bool = False,
    block_size: int | None = None,
) -> tuple[jax.Array, jax.Array]:
    """kd_loss_and_grad with weights = entropy_weights(teacher_logits, beta, temperature),
    fused: the weights are made from the same per-block exp, so the teacher logits
    are read once. Returns (loss, gradient wrt student_logits)."""
    k, n, _ = check_teacher(teacher_logits)
    dummy = jnp.ones((k, n), jnp.float32)
    s, t, _, cfg = prepare(student_logits, teacher_logits, dummy, temperature, t_squared,
                           block_size)
    if not isinstance(beta, (int, float)):
        beta = jnp.asarray(beta).astype(s.dtype)
    losses, grad = forward(s, t, None, cfg, n_norm=n, want_grad=True, entropy_beta=beta)
    return jnp.sum(losses) * (cfg.scale / n), grad
