"""Built-in task-scale operators (paper §III.B, Axioms III.10–III.14).

`fn(losses[B,M,K], sizes[B,M]) -> [B,M,K]`: teacher k's validation loss on task
t (≥ 0, from 0 up to 1e6 and beyond) and task t's data size (> 0, 1 … 1e9).
Losses enter through the squash ℓ/(1+ℓ) ∈ [0, 1), so weights stay inside
fixed bounds however large a loss is.  Every operator declares a task
importance `λ(losses, sizes) -> [B,M]` (λ ≥ 0, Σ_t λ_t = 1) for Axiom III.14:
a strictly positive convex combination makes the scalarized minimizer
Pareto-optimal.

>>> import numpy as np
>>> losses = np.array([[[0.0, 1.0, 1e6, 2.0]]]); sizes = np.array([[1e9]])
>>> w = inverse_loss(losses, sizes)
>>> w.shape, bool(abs(w.sum() - 1) < 1e-12), bool(w.min() > 0.0625 - 1e-12)
((1, 1, 4), True, True)
"""

from __future__ import annotations

import numpy as np

from axiomcheck.library import _numerics as nx
from axiomcheck.spec.decorators import task_operator

__all__ = ["inverse_loss", "size_tempered", "softmax_performance", "uniform_task",
           "importance_by_size", "importance_by_difficulty", "importance_by_log_size", "importance_uniform",
           "INVERSE_EPS", "PERFORMANCE_BETA", "SIZE_BETA", "SIZE_PIVOT"]

K = nx.WORLD_TEACHERS

INVERSE_EPS = 0.25
PERFORMANCE_BETA = 3.0
SIZE_BETA = 3.0
SIZE_PIVOT = 1e3
DIFFICULTY_GAMMA = 2.0


# ----------------------------------------------------------------------------- task importance λ


def importance_by_size(losses, sizes):
    """λ_t ∝ n_t^{1/2} (softmax of ½ log n_t): > 0, Σ_t λ_t = 1, continuous in log n."""
    return nx.softmax(0.5 * nx.safe_log_sizes(nx.f64(sizes)), axis=1)


def importance_by_difficulty(losses, sizes):
    """λ_t ∝ exp(γ · mean_k ℓ̃_tk), γ = 2, ℓ̃ = ℓ/(1+ℓ): harder tasks weigh more; λ_t ∈ (0, 1)."""
    q = nx.squash(nx.f64(losses)).mean(axis=2)
    return nx.softmax(DIFFICULTY_GAMMA * q, axis=1)


def importance_by_log_size(losses, sizes):
    """λ_t ∝ log(1 + n_t) ≥ log 2: data availability on a log scale."""
    a = np.log1p(np.maximum(nx.f64(sizes), 0.0))
    a = np.maximum(a, np.finfo(np.float64).tiny)
    return a / a.sum(axis=1, keepdims=True)


def importance_uniform(losses, sizes):
    """λ_t = 1/M."""
    s = np.asarray(sizes)
    return np.full(s.shape, 1.0 / s.shape[1])


# ----------------------------------------------------------------------------- operators


@task_operator(
    name="inverse_loss",
    bounds=nx.softmax_box_bounds([-np.log(INVERSE_EPS + 1.0)] * K, [-np.log(INVERSE_EPS)] * K),  # (0.0625, 0.625)
    importance=importance_by_size,
)
def inverse_loss(losses, sizes):
    """Family A (§V.B): w_tk ∝ 1/(ε + ℓ̃_tk), ℓ̃ = ℓ/(1+ℓ) ∈ [0, 1), ε = 1/4.

    Raw weights lie in (0.8, 4], so for K = 4 the weights lie in
    [0.0625, 0.625] for every loss from 0 to 1e6 (a plain 1/ℓ would be
    infinite at 0 and vanish at 1e6).  ℓ̃ is 1-Lipschitz, so the weights are
    Lipschitz in the losses.  Importance: λ_t ∝ √n_t (data availability).
    """
    q = nx.squash(nx.f64(losses))
    return nx.softmax(-np.log(INVERSE_EPS + q), axis=2)


@task_operator(
    name="softmax_performance",
    bounds=nx.softmax_box_bounds([-PERFORMANCE_BETA] * K, [0.0] * K),  # ≈ (0.0163, 0.8701)
    importance=importance_by_difficulty,
)
def softmax_performance(losses, sizes):
    """Family C (§V.B): w_tk = softmax_k(−β ℓ̃_tk), β = 3, ℓ̃ = ℓ/(1+ℓ).

    Logits lie in [−β, 0], so for K = 4 the weights lie in
    [1/(1+3e^β), 1/(1+3e^−β)] ≈ [0.0163, 0.8701]; smooth in the losses.
    Importance: λ_t = softmax_t(2 · mean_k ℓ̃_tk) (harder tasks weigh more).
    """
    q = nx.squash(nx.f64(losses))
    return nx.softmax(-PERFORMANCE_BETA * q, axis=2)


@task_operator(
    name="size_tempered",
    bounds=nx.softmax_box_bounds([-SIZE_BETA] * K, [0.0] * K),  # ≈ (0.0163, 0.8701)
    importance=importance_by_log_size,
)
def size_tempered(losses, sizes):
    """Data availability (Thm III.16): w_tk = softmax_k(−β_t ℓ̃_tk), β_t = β · n_t/(n_t + n₀), β = 3, n₀ = 1e3.

    Trust the validation-loss ranking only as far as the task has data: with
    little data (n_t ≪ n₀) the weights are close to uniform.  β_t ∈ [0, β) so
    the bounds are those of `softmax_performance`; β_t is a logistic function of
    log n_t, so the weights are continuous in (losses, log sizes).
    Importance: λ_t ∝ log(1 + n_t).
    """
    q = nx.squash(nx.f64(losses))
    x = nx.safe_log_sizes(nx.f64(sizes)) - np.log(SIZE_PIVOT)
    beta_t = SIZE_BETA * np.exp(-np.logaddexp(0.0, -x))  # β · sigmoid(x), no overflow
    return nx.softmax(-beta_t[:, :, None] * q, axis=2)


@task_operator(name="uniform_task", bounds=(0.25, 0.25), lipschitz=0.0, importance=importance_uniform)
def uniform_task(losses, sizes):
    """Uniform KD: w_tk = 1/K, λ_t = 1/M.  Constant, so every axiom holds."""
    ell = np.asarray(losses)
    return np.full(ell.shape, 1.0 / ell.shape[2])
