"""An independent reference of the distillation objective, written from its definitions.

One function body serves two array modules: with numpy (`xp=np`) in float64 it gives
the reference values; with jax.numpy under `jax.enable_x64()` it is differentiated by
`jax.grad` for the reference gradients. Nothing here is shared with the package.

    q        = Σ_k w_k p_k / Σ_k w_k  (token-independent) or  r / Σ_v r, r = Σ_k w_kv p_kv
    p        = softmax(z / T),  p_k = softmax(t_k / T)
    D        = −Σ q log p | Σ q log(q/p) | Σ p log(p/q) | β KL(q‖M) + (1−β) KL(p‖M),  M = βq + (1−β)p
    ℓ_i      = (1 − α) s D_i + α (−log softmax(z_i)[y_i]),  s = T² or 1
    loss     = Σ_i kept_i ℓ_i / Σ_i kept_i
"""

from __future__ import annotations

import numpy as np


def log_softmax(xp, x):
    m = xp.max(x, axis=-1, keepdims=True)
    return x - m - xp.log(xp.sum(xp.exp(x - m), axis=-1, keepdims=True))


def kl_rows(xp, a, log_a, log_b):
    """Σ_v a (log a − log b) per row, 0 · log 0 = 0 (inputs here have no exact zeros
    except where a test masks entries; there a = 0 and the term is dropped)."""
    keep = a > 0
    return xp.sum(xp.where(keep, a * (xp.where(keep, log_a, 0.0) - xp.where(keep, log_b, 0.0)), 0.0),
                  axis=-1)


def ensemble(xp, teacher, weights, temperature):
    p = xp.exp(log_softmax(xp, teacher / temperature))
    if weights.ndim == 2:
        w = weights / xp.sum(weights, axis=0, keepdims=True)
        return xp.sum(w[..., None] * p, axis=0)
    r = xp.sum(weights * p, axis=0)
    return r / xp.sum(r, axis=-1, keepdims=True)


def entropy_weights(xp, teacher, beta, temperature):
    log_p = log_softmax(xp, teacher / temperature)
    h = -xp.sum(xp.where(log_p > -xp.inf, xp.exp(log_p) * log_p, 0.0), axis=-1)
    a = -beta * h
    a = xp.exp(a - xp.max(a, axis=0, keepdims=True))
    return a / xp.sum(a, axis=0, keepdims=True)


def divergence_rows(xp, name, beta, q, z, temperature):
    log_s = log_softmax(xp, z / temperature)
    p = xp.exp(log_s)
    safe_q = xp.where(q > 0, q, 1.0)
    log_q = xp.where(q > 0, xp.log(safe_q), -xp.inf)
    if name == "jsd" and beta == 0.0:
        name = "forward_kl"
    if name == "jsd" and beta == 1.0:
        name = "reverse_kl"
    if name == "cross_entropy":
        return -xp.sum(xp.where(q > 0, q * xp.where(q > 0, log_s, 0.0), 0.0), axis=-1)
    if name == "forward_kl":
        return kl_rows(xp, q, log_q, log_s)
    if name == "reverse_kl":
        return kl_rows(xp, p, log_s, log_q)
    m = beta * q + (1.0 - beta) * p
    log_m = xp.log(xp.where(m > 0, m, 1.0))
    return beta * kl_rows(xp, q, log_q, log_m) + (1.0 - beta) * kl_rows(xp, p, log_s, log_m)


def kd_objective(xp, student, teacher, weights, *, divergence="cross_entropy", beta=0.5,
                 temperature=1.0, t_squared=False, labels=None, alpha=0.0, mask=None,
                 ignore_index=-100, entropy_beta=None):
    """The loss (scalar) for student logits [N, V] and teacher logits [K, N, V]."""
    if entropy_beta is not None:
        weights = entropy_weights(xp, teacher, entropy_beta, temperature)
    q = ensemble(xp, teacher, weights, temperature)
    d = divergence_rows(xp, divergence, beta, q, student, temperature)
    scale = temperature**2 if t_squared else 1.0
    rows = (1.0 - alpha) * scale * d
    n = student.shape[0]
    kept = np.ones(n, bool) if mask is None else np.asarray(mask, bool)
    if labels is not None:
        y = np.asarray(labels)
        if ignore_index is not None:
            kept = kept & (y != ignore_index)
        if alpha > 0:
            idx = np.where(kept, y, 0)
            log_h = log_softmax(xp, student)
            ce = -xp.take_along_axis(log_h, xp.asarray(idx)[:, None], axis=-1)[:, 0]
            rows = rows + alpha * ce
    kept_f = kept.astype(np.float64)
    if kept_f.sum() == 0:
        return xp.sum(rows * 0.0)
    return xp.sum(xp.where(xp.asarray(kept), rows, 0.0)) / kept_f.sum()


def linear_objective(xp, hidden, head, teacher_logits=None, teacher_hidden=None, teacher_heads=None,
                     **kw):
    """kd_objective of hidden @ head.T against teacher logits or teacher hidden @ heads."""
    if teacher_logits is None:
        teacher_logits = xp.einsum("knd,kvd->knv", teacher_hidden, teacher_heads)
    return kd_objective(xp, hidden @ head.T, teacher_logits, **kw)


def rel_err(got, want) -> float:
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    return float(np.linalg.norm(got - want) / max(np.linalg.norm(want), 1e-30))
