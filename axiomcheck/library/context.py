"""Built-in context-scale operators (paper §III.C, Axioms III.18–III.22).

`fn(context[B,D]) -> [B,K]`.  Contexts may be far out (±1e6) or exactly 0:
every context enters through a bounded function (tanh), so the logits stay in
a fixed box and the weights inside declared bounds.  The safety-critical
contexts are C_safe = {c : c₀ > 0} with the order [0, 2, 1] (teacher 0
safest).  To stay continuous across the boundary c₀ = 0 the safety mechanism is
switched on by the gate g(c) = clip(1 + c₀, 0, 1): fully on for c₀ ≥ 0, off for
c₀ ≤ −1, a linear ramp in between — so the order holds on all of C_safe and
nothing jumps at c₀ = 0.

>>> import numpy as np
>>> c = np.array([[1e6, -1e6, 0.0], [0.0, 0.0, 0.0]])
>>> w = ordinal_safety(c)
>>> bool(w[0, 0] >= w[0, 2] >= w[0, 1]), bool(np.allclose(w.sum(axis=1), 1))
(True, True)
"""

from __future__ import annotations

import numpy as np

from axiomcheck.certifier.region import region
from axiomcheck.library import _numerics as nx
from axiomcheck.spec.decorators import context_operator
from axiomcheck.spec.operator import Safety

__all__ = ["divergence_shift", "ordinal_safety", "uniform_context", "safe_context", "CONTEXT_SAFETY",
           "ORDINAL_TAU", "DIVERGENCE_BETA", "DIVERGENCE_SCALE"]

K = nx.WORLD_TEACHERS
safe_context = nx.safe_context
#: C_safe = {c : c₀ > 0}, as a region the certifier can read (called like `safe_context`).
CONTEXT_SAFETY = Safety(contexts=region(lo={0: 0.0}, strict=True, name="safe_context"), order=nx.SAFETY_ORDER)

ORDINAL_TAU = 0.5
DIVERGENCE_BETA = 2.0
DIVERGENCE_SCALE = 2.0


def ordinal_logits(context: np.ndarray, k: int, *, reverse: bool = False) -> np.ndarray:
    """z_k = τ tanh((W c)_k) + 2τ g(c) b_k: a bounded domain score plus a gated safety-rank bonus."""
    base = ORDINAL_TAU * np.tanh(nx.project(context, k))
    bonus = 2.0 * ORDINAL_TAU * nx.rank_bonus(k, nx.SAFETY_ORDER, reverse=reverse)
    return base + nx.safe_gate(context)[:, None] * bonus[None, :]


def ordinal_box(k: int = K) -> tuple[np.ndarray, np.ndarray]:
    """Per-teacher range of `ordinal_logits`: [−τ, τ + 2τ b_k]."""
    b = nx.rank_bonus(k, nx.SAFETY_ORDER)
    return np.full(k, -ORDINAL_TAU), ORDINAL_TAU + 2.0 * ORDINAL_TAU * b


def divergence_logits(context: np.ndarray, k: int) -> np.ndarray:
    """z_k = −β tanh(KL_k / s), KL_k = KL(N(c, I) ‖ N(μ_k, I)) = ½‖c − μ_k‖², β = 2, s = 2."""
    kl = 0.5 * nx.sq_dist(context, nx.references(k, context.shape[1]))
    return -DIVERGENCE_BETA * np.tanh(kl / DIVERGENCE_SCALE)


def gated_order(w: np.ndarray, context: np.ndarray) -> np.ndarray:
    """(1 − g) w + g · sort_into_order(w): ordered on C_safe, unchanged for c₀ ≤ −1, continuous."""
    g = nx.safe_gate(context)[:, None]
    return (1.0 - g) * w + g * nx.impose_order(w, nx.SAFETY_ORDER)


@context_operator(name="ordinal_safety", bounds=nx.softmax_box_bounds(*ordinal_box()),  # ≈ (0.0321, 0.8700)
                  safety=CONTEXT_SAFETY)
def ordinal_safety(context, teachers=K):
    """Ordinal safety comparison (Family A, §V.B): w = softmax_k(τ tanh((W c)_k) + 2τ g(c) b_k), τ = ½.

    W is a fixed [K, D] mixing matrix (domain scores), b_k the safety rank
    (2 for teacher 0, 1 for teacher 2, 0 otherwise), g(c) = clip(1 + c₀, 0, 1).
    On C_safe g = 1, and a rank step of 2τ outweighs any difference of the tanh
    terms (≤ 2τ), so w₀ ≥ w₂ ≥ w₁ (III.22).  Logits lie in [−τ, τ + 2τ b_k], so
    for K = 4 the weights lie in ≈ [0.0321, 0.8700].  Every piece is Lipschitz
    in c, and far-out contexts saturate the tanh instead of overflowing.
    `teachers` (default: the world's K = 4) sets K, which a context cannot carry.
    """
    return nx.softmax(ordinal_logits(nx.f64(context), teachers))


@context_operator(name="divergence_shift", bounds=nx.softmax_box_bounds([-DIVERGENCE_BETA] * K, [0.0] * K),
                  safety=CONTEXT_SAFETY)  # ≈ (0.0432, 0.7112)
def divergence_shift(context, teachers=K):
    """Distributional distance (Family C, §V.B): w = softmax_k(−β tanh(KL_k / s)), then ordered on C_safe.

    KL_k = KL(N(c, I) ‖ N(μ_k, I)) = ½‖c − μ_k‖² measures how far the context
    has shifted from teacher k's reference domain μ_k; β = 2, s = 2.  tanh keeps
    the logits in [−β, 0] however far out c is, so for K = 4 the weights lie in
    [1/(1+3e^β), 1/(1+3e^−β)] ≈ [0.0432, 0.7112].  Safety: the result is blended
    with its own values sorted into the order [0, 2, 1] by the gate
    g(c) = clip(1 + c₀, 0, 1) — sorted on all of C_safe, continuous at c₀ = 0,
    and a convex mix of two permutations of the same normalized, bounded vector.
    """
    c = nx.f64(context)
    return gated_order(nx.softmax(divergence_logits(c, teachers)), c)


@context_operator(name="uniform_context", bounds=(0.25, 0.25), lipschitz=0.0, safety=CONTEXT_SAFETY)
def uniform_context(context, teachers=K):
    """Uniform KD: w_k = 1/K for every context.  Constant, so every axiom holds; ties satisfy any order."""
    return np.full((np.asarray(context).shape[0], teachers), 1.0 / teachers)
