"""The per-position distillation objective, written once for every kernel.

With p = softmax(z / T) the student, q the teacher ensemble at the same temperature
(the target) and M = β q + (1 − β) p, the divergence D_i at position i is one of

    cross_entropy   −Σ_v q log p                  (the default; = forward_kl + H(q))
    forward_kl      KL(q ‖ p) = Σ_v q (log q − log p)
    reverse_kl      KL(p ‖ q) = Σ_v p (log p − log q)
    jsd             JSD(β) = β KL(q ‖ M) + (1 − β) KL(p ‖ M),   0 < β < 1

JSD(β) is the generalized Jensen–Shannon divergence of GKD. It is zero at β = 0 and
β = 1 (M equals p or q there), so, as GKD's own implementation does, `beta=0` means
forward KL and `beta=1` reverse KL: the limits of JSD(β)/β and JSD(β)/(1 − β).

The loss at a position mixes it with the hard-label cross-entropy at T = 1,

    ℓ_i = (1 − α) · s · D_i + α · (−log softmax(z_i)(y_i)),    s = T² if t_squared else 1,

and the kernels return Σ_i π_i ℓ_i with π_i = kept_i / Σ_j kept_j (the mean over the
kept positions). Gradients with respect to u = z / T, used by the streamed kernels:

    cross_entropy, forward_kl   p − q
    reverse_kl                  p ⊙ (log p − log q − D)
    jsd                         (1 − β) p ⊙ (log p − log M − KL(p ‖ M))

Convention: a term whose weight (q or p) is 0 contributes 0 (0 · log 0 = 0), so
vocabulary entries masked with −inf by everybody change nothing.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from axiomcheck.kernels._common import check_temperature, safe_log

__all__ = ["DIVERGENCES", "Objective", "check_objective"]

#: The divergences every kernel accepts, by name.
DIVERGENCES = ("cross_entropy", "forward_kl", "reverse_kl", "jsd")

#: The ratio p / q in the reverse-KL teacher cotangent is capped at exp(RATIO_LOG_CAP):
#: it only binds where q < e^-60 · p, where that term of KL(p ‖ q) exceeds 60 · p.
RATIO_LOG_CAP = 60.0


class Objective(NamedTuple):
    """Static description of the per-position loss (hashable: a jit / custom_vjp static)."""

    divergence: str  # one of DIVERGENCES; "jsd" only with 0 < beta < 1
    beta: float
    temperature: float
    scale: float  # T² when t_squared, else 1; multiplies the divergence term only
    alpha: float  # weight of the hard-label cross-entropy

    @property
    def kd_weight(self) -> float:
        """(1 − α) · s: the factor of the divergence in ℓ_i."""
        return (1.0 - self.alpha) * self.scale

    @property
    def needs_log_q(self) -> bool:
        """Whether log q enters beyond q log q (then it is computed in log space)."""
        return self.divergence in ("reverse_kl", "jsd")


def _unit_interval(name: str, value) -> float:
    try:
        x = float(value)
    except (TypeError, jax.errors.ConcretizationTypeError) as exc:
        raise TypeError(f"{name} must be a concrete Python number (it is static), got {value!r}") from exc
    if not (math.isfinite(x) and 0.0 <= x <= 1.0):
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return x


def check_objective(divergence: str = "cross_entropy", beta: float = 0.5, temperature: float = 1.0,
                    t_squared: bool = False, alpha: float = 0.0) -> Objective:
    """Validate the settings; "jsd" with beta 0 or 1 becomes forward_kl / reverse_kl.

    >>> check_objective("jsd", beta=1.0).divergence
    'reverse_kl'
    """
    if divergence not in DIVERGENCES:
        raise ValueError(f"divergence must be one of {', '.join(DIVERGENCES)}; got {divergence!r}")
    b = _unit_interval("beta", beta)
    a = _unit_interval("alpha", alpha)
    t = check_temperature(temperature)
    if divergence == "jsd" and b in (0.0, 1.0):
        divergence = "forward_kl" if b == 0.0 else "reverse_kl"
    return Objective(divergence, b, t, t * t if t_squared else 1.0, a)


# ------------------------------------------------------------------ values


def _xlogy_ratio(a: jax.Array, log_a: jax.Array, log_b: jax.Array) -> jax.Array:
    """Σ_v a (log a − log b) with 0 where a = 0, per row [B]; autodiff-safe (no 0 · inf)."""
    pos = a > 0
    diff = jnp.where(pos, log_a, jnp.zeros_like(log_a)) - jnp.where(pos, log_b, jnp.zeros_like(log_b))
    return jnp.sum(jnp.where(pos, a * diff, jnp.zeros_like(a)), axis=-1)


def log_mixture(beta: float, log_q: jax.Array, log_s: jax.Array) -> jax.Array:
    """log M = log(β q + (1 − β) p) from log q and log p (−inf only where both are 0)."""
    a = log_q + math.log(beta)
    b = log_s + math.log1p(-beta)
    hi = jax.lax.stop_gradient(jnp.maximum(a, b))
    hi = jnp.where(jnp.isfinite(hi), hi, jnp.zeros_like(hi))
    return hi + safe_log(jnp.exp(a - hi) + jnp.exp(b - hi))


def divergence_value(obj: Objective, q, log_q, log_s, p_s) -> jax.Array:
    """D_i [B] for one block: q, log q, log p, p all [B, V] (log_q may be None for cross_entropy)."""
    div = obj.divergence
    if div == "cross_entropy":
        pos = q > 0
        return -jnp.sum(jnp.where(pos, q * jnp.where(pos, log_s, jnp.zeros_like(log_s)),
                                  jnp.zeros_like(q)), axis=-1)
    if div == "forward_kl":
        return _xlogy_ratio(q, log_q, log_s)
    if div == "reverse_kl":
        return _xlogy_ratio(p_s, log_s, log_q)
    log_m = log_mixture(obj.beta, log_q, log_s)
    return obj.beta * _xlogy_ratio(q, log_q, log_m) + (1.0 - obj.beta) * _xlogy_ratio(p_s, log_s, log_m)


# ------------------------------------------------------------------ gradients


def student_gradient(obj: Objective, q, log_q, log_s, p_s, value) -> jax.Array:
    """dD_i / du [B, V] with u = z / T (analytic; see the module doc), given D_i = `value`."""
    div = obj.divergence
    if div in ("cross_entropy", "forward_kl"):
        return p_s - q
    pos = p_s > 0
    if div == "reverse_kl":
        # log q is floored where q = 0 < p (the loss is +inf there; the gradient stays finite)
        floor = jnp.log(jnp.finfo(log_q.dtype).tiny)
        lq = jnp.maximum(log_q, floor)
        kl = _xlogy_ratio(p_s, log_s, lq)
        inner = jnp.where(pos, log_s - lq, jnp.zeros_like(log_s)) - kl[:, None]
        return jnp.where(pos, p_s * inner, jnp.zeros_like(p_s))
    log_m = log_mixture(obj.beta, log_q, log_s)
    kl = _xlogy_ratio(p_s, log_s, log_m)
    inner = jnp.where(pos, log_s - log_m, jnp.zeros_like(log_s)) - kl[:, None]
    return (1.0 - obj.beta) * jnp.where(pos, p_s * inner, jnp.zeros_like(p_s))


def teacher_direction(obj: Objective, q, log_q, log_s, p_s, value) -> jax.Array:
    """d [B, V] = −(h − Σ_v q h) with h = ∂D_i/∂q: how the divergence moves with the target.

    The teacher-logit and weight cotangents are linear in d (see kernels.cotangents).
    Entries where the derivative is infinite or undefined are taken as 0: where the
    student masks an entry (log p = −inf), and, for the divergences with a q log q
    term, where q = 0 (its slope is −∞ there).
    """
    zero = jnp.zeros_like(log_s)
    fin = jnp.isfinite(log_s)
    div = obj.divergence
    if div == "cross_entropy":
        return jnp.where(fin, log_s + value[:, None], zero)
    pos = q > 0
    if div == "forward_kl":
        lq = jnp.where(pos, log_q, zero)
        return jnp.where(pos & fin, log_s - lq + value[:, None], zero)
    if div == "reverse_kl":
        lq = jnp.where(pos, log_q, zero)
        ratio = jnp.exp(jnp.minimum(jnp.where(fin, log_s, zero) - lq, RATIO_LOG_CAP))
        return jnp.where(pos, jnp.where(fin, ratio, zero) - 1.0, zero)
    log_m = log_mixture(obj.beta, log_q, log_s)
    kl_q = _xlogy_ratio(q, log_q, log_m)
    lq = jnp.where(pos, log_q, zero)
    return jnp.where(pos, -obj.beta * (lq - jnp.where(pos, log_m, zero) - kl_q[:, None]), zero)


# ------------------------------------------------------------------ hard labels and mixing


def label_terms(log_h: jax.Array, p_h: jax.Array, labels: jax.Array):
    """Hard-label cross-entropy [B] and its gradient softmax − onehot [B, V] at T = 1.

    `log_h`, `p_h`: log softmax(z) and softmax(z). A label outside [0, V) gives NaN
    (positions that are not kept are zeroed later, whatever their label).
    """
    v = log_h.shape[-1]
    valid = (labels >= 0) & (labels < v)
    idx = jnp.where(valid, labels, jnp.zeros_like(labels))
    picked = jnp.take_along_axis(log_h, idx[:, None], axis=-1)[:, 0]
    ce = jnp.where(valid, -picked, jnp.full_like(picked, jnp.nan))
    onehot = jax.lax.broadcasted_iota(idx.dtype, log_h.shape, 1) == idx[:, None]
    return ce, p_h - onehot.astype(p_h.dtype)


def combine(obj: Objective, value, grad_u, ce, grad_ce, pos_weight):
    """(π_i ℓ_i [B], π_i dℓ_i/dz [B, V] or None): mix divergence and hard label, weight positions.

    `pos_weight` is a Python float (every position kept, π = 1/N) or an array [B];
    positions with π = 0 contribute exactly 0, even if their terms are not finite.
    """
    inv_t = 1.0 / obj.temperature
    loss = None if obj.kd_weight == 0.0 else value * obj.kd_weight
    grad = None if (grad_u is None or obj.kd_weight == 0.0) else grad_u * (obj.kd_weight * inv_t)
    if ce is not None and obj.alpha > 0.0:
        loss = ce * obj.alpha if loss is None else loss + ce * obj.alpha
        if grad_u is not None:
            grad = grad_ce * obj.alpha if grad is None else grad + grad_ce * obj.alpha
    if loss is None:  # alpha = 1 without labels cannot happen (checked); keep shapes anyway
        loss = jnp.zeros_like(value)
    if isinstance(pos_weight, float):
        return loss * pos_weight, None if grad is None else grad * pos_weight
    kept = pos_weight > 0
    loss = jnp.where(kept, loss * pos_weight, jnp.zeros_like(loss))
    if grad is not None:
        grad = jnp.where(kept[:, None], grad * pos_weight[:, None], jnp.zeros_like(grad))
    return loss, grad
