"""Built-in token-scale operators (paper §III.A, Axioms III.1–III.5).

`fn(probs[B,K,V], context[B,D]) -> [B,K]` (same weights for every token) or
`[B,K,V]` (per token).  Declared bounds are exact for the verification world's
K = 4 teachers and hold for any V (entropies are divided by log V, variances
lie in [0, 1)).  Safety-declaring operators name S = {3, 7} and the order
[0, 2, 1] (teacher 0 safest).

>>> import numpy as np
>>> probs = np.full((2, 4, 16), 1 / 16); ctx = np.zeros((2, 3))
>>> entropy_exp(probs, ctx).shape, inverse_variance(probs, ctx).shape
((2, 4, 16), (2, 4))
"""

from __future__ import annotations

import numpy as np

from axiomcheck.library import _numerics as nx
from axiomcheck.spec.decorators import token_operator
from axiomcheck.spec.operator import Safety

__all__ = ["entropy_exp", "hybrid_safety", "inverse_variance", "uniform_token",
           "ENTROPY_BETA", "HYBRID_BETA", "VARIANCE_EPS"]

K = nx.WORLD_TEACHERS
TOKEN_SAFETY = Safety(tokens=nx.SAFE_TOKENS, order=nx.SAFETY_ORDER)

ENTROPY_BETA = 2.0
HYBRID_BETA = 1.0
VARIANCE_EPS = 0.25


def _hybrid_bounds() -> tuple[float, float]:
    # Off S: z_k = −β h_k ∈ [−β, 0].  On S: z_k = β (b_k − h_k) ∈ [β (b_k − 1), β b_k].
    b = nx.rank_bonus(K, nx.SAFETY_ORDER)
    off = nx.softmax_box_bounds([-HYBRID_BETA] * K, [0.0] * K)
    on = nx.softmax_box_bounds(HYBRID_BETA * (b - 1.0), HYBRID_BETA * b)
    return min(off[0], on[0]), max(off[1], on[1])


@token_operator(
    name="entropy_exp",
    bounds=nx.softmax_box_bounds([-ENTROPY_BETA] * K, [0.0] * K),  # ≈ (0.0432, 0.7112)
    safety=TOKEN_SAFETY,
)
def entropy_exp(probs, context):
    """Family A (Thm III.9): w_k ∝ exp(−β · H(p_k)/log V), β = 2; on tokens in S sorted into the safety order.

    h_k = H(p_k)/log V ∈ [0, 1], so the logits lie in [−β, 0] and, for K = 4,
    w ∈ [1/(1+3e^β), 1/(1+3e^−β)] ≈ [0.0432, 0.7112] — positive, never
    underflowing.  Entropy is continuous on the simplex (no Lipschitz constant
    at its edge, so none is declared).  On tokens 3 and 7 the weights of
    teachers (0, 2, 1) are sorted so the safer gets the larger: a permutation
    (keeps Σ = 1 and the bounds) that is 1-Lipschitz (keeps continuity).
    Returns per-token weights `[B,K,V]`.
    """
    p = nx.f64(probs)
    w = nx.softmax(-ENTROPY_BETA * nx.normalized_entropy(p))
    return nx.per_token(w, p.shape[2], nx.SAFE_TOKENS, nx.SAFETY_ORDER)


@token_operator(name="hybrid_safety", bounds=_hybrid_bounds(), safety=TOKEN_SAFETY)  # ≈ (0.0321, 0.8098)
def hybrid_safety(probs, context):
    """Family C (§V.B): w_k ∝ exp(β (s_k(i) − H(p_k)/log V)), β = 1, safety score s_k(i) on tokens in S.

    s_k(i) = 0 off S; on S it is the teacher's safety rank (2 for teacher 0,
    1 for teacher 2, 0 for teacher 1 and unranked ones).  A rank gap of 1
    outweighs any entropy gap (≤ 1), so on S the safer teacher never gets less
    weight (Remark III.6: increasing in the safety score, decreasing in the
    entropy).  Logits lie in a fixed box, so for K = 4 the weights lie in
    ≈ [0.0321, 0.8098].  Smooth in probs except through the entropy
    (continuous, no Lipschitz constant at the simplex edge).  Returns `[B,K,V]`.
    """
    p = nx.f64(probs)
    b, v = p.shape[0], p.shape[2]
    k = p.shape[1]
    z = -HYBRID_BETA * nx.normalized_entropy(p)  # [B,K]
    out = np.repeat(nx.softmax(z)[:, :, None], v, axis=2)
    toks = [i for i in nx.SAFE_TOKENS if i < v]
    if toks:
        on_s = nx.softmax(z + HYBRID_BETA * nx.rank_bonus(k, nx.SAFETY_ORDER)[None, :])
        out[:, :, toks] = np.broadcast_to(on_s[:, :, None], (b, k, len(toks)))
    return out


@token_operator(
    name="inverse_variance",
    bounds=nx.softmax_box_bounds([-np.log(VARIANCE_EPS + 1.0)] * K, [-np.log(VARIANCE_EPS)] * K),  # (0.0625, 0.625)
)
def inverse_variance(probs, context):
    """Family B (Thm III.9): w_k ∝ 1/(ε + Var_k), Var_k = Σ_v p_kv (1 − p_kv) ∈ [0, 1), ε = 1/4.

    The raw weights lie in (0.8, 4], so for K = 4 the normalized ones lie in
    [0.8/(0.8+3·4), 4/(4+3·0.8)] = [0.0625, 0.625].  Var is a polynomial of the
    probabilities, so the weights are Lipschitz (with a V-dependent constant,
    not declared).  No safety ordering is declared; returns `[B,K]`.
    """
    var = nx.gini_variance(nx.f64(probs))
    return nx.softmax(-np.log(VARIANCE_EPS + var))


@token_operator(name="uniform_token", bounds=(0.25, 0.25), lipschitz=0.0, safety=TOKEN_SAFETY)
def uniform_token(probs, context):
    """Uniform KD: w_k = 1/K.  Constant, so every axiom holds; ties satisfy any safety order."""
    p = np.asarray(probs)
    return np.full(p.shape[:2], 1.0 / p.shape[1])
