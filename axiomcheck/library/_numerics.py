"""Numerical building blocks shared by the built-in operators (private).

Everything here is vectorized over the batch, works in float64 and for any
number of teachers K ≥ 1.  The pieces are chosen so that the properties the
axioms ask for are easy to see:

* `softmax` is the log-sum-exp form: normalized, and strictly positive as long
  as the logits stay in a bounded box (then no exponent underflows);
* `softmax_box_bounds` gives the exact range of a softmax whose logits lie in
  a box — the honest `bounds=` for a declared K;
* `impose_order` sorts the weights of the ranked teachers into the safety
  order.  Sorting permutes values, so normalization and bounds are kept, and it
  is 1-Lipschitz in ‖·‖∞, so continuity is kept too.

>>> import numpy as np
>>> w = np.array([[0.1, 0.5, 0.3, 0.1]])
>>> impose_order(w, (0, 2, 1)).tolist()
[[0.5, 0.1, 0.3, 0.1]]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import _softmax as stable
from ..spec.worlds import World

#: The verification world's number of teachers (the default `World`'s); declared bounds are stated for it.
WORLD_TEACHERS = World().teachers
#: Safety-critical token ids S and the designated safety order (safest first).
SAFE_TOKENS = (3, 7)
SAFETY_ORDER = (0, 2, 1)


def f64(x: object) -> np.ndarray:
    """`x` as a float64 array (the built-ins compute and return float64)."""
    return np.asarray(x, dtype=np.float64)


def softmax(z: np.ndarray, axis: int = 1) -> np.ndarray:
    """`axiomcheck._softmax.softmax` over the teachers (axis 1 of the built-ins' `[B, K, ...]` arrays) by default."""
    return stable.softmax(z, axis)


def softmax_box_bounds(lo: Sequence[float], hi: Sequence[float]) -> tuple[float, float]:
    """Exact (min, max) of softmax weights when logit k ranges over [lo_k, hi_k].

    w_k grows with z_k and shrinks with every other z_j, so its extremes are at
    corners: min_k w_k = e^{lo_k} / (e^{lo_k} + Σ_{j≠k} e^{hi_j}) and
    max_k w_k = e^{hi_k} / (e^{hi_k} + Σ_{j≠k} e^{lo_j}).

    >>> lo, hi = softmax_box_bounds([-2.0] * 4, [0.0] * 4)
    >>> round(lo, 4), round(hi, 4)
    (0.0432, 0.7112)
    """
    lo_a, hi_a = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    e_lo, e_hi = np.exp(lo_a), np.exp(hi_a)
    w_min = e_lo / (e_lo + (e_hi.sum() - e_hi))
    w_max = e_hi / (e_hi + (e_lo.sum() - e_lo))
    return float(w_min.min()), float(w_max.max())


def normalized_entropy(probs: np.ndarray) -> np.ndarray:
    """H(p_k) / log V ∈ [0, 1] for each teacher, `[B,K,V] -> [B,K]` (0·log 0 = 0; V = 1 gives 0)."""
    p = np.clip(probs, 0.0, 1.0)
    plogp = np.where(p > 0.0, p * np.log(np.where(p > 0.0, p, 1.0)), 0.0)
    v = probs.shape[-1]
    if v <= 1:
        return np.zeros(probs.shape[:-1])
    return np.clip(-plogp.sum(axis=-1) / np.log(v), 0.0, 1.0)


def gini_variance(probs: np.ndarray) -> np.ndarray:
    """Σ_v p_v (1 − p_v) = 1 − Σ_v p_v² ∈ [0, 1): the total Bernoulli variance, `[B,K]`."""
    p = np.clip(probs, 0.0, 1.0)
    return np.clip(1.0 - (p * p).sum(axis=-1), 0.0, 1.0)


def squash(losses: np.ndarray) -> np.ndarray:
    """ℓ ↦ ℓ / (1 + ℓ) ∈ [0, 1): monotone, 1-Lipschitz, finite for ℓ = 0 and ℓ = 1e300."""
    ell = np.maximum(losses, 0.0)
    return ell / (1.0 + ell)


def safe_log_sizes(sizes: np.ndarray) -> np.ndarray:
    """log of task data sizes (sizes > 0 by contract; clipped at the smallest positive float)."""
    return np.log(np.maximum(sizes, np.finfo(np.float64).tiny))


def ranked(order: Sequence[int], k: int) -> list[int]:
    """The teachers of `order` that exist when there are `k` teachers."""
    return [t for t in order if t < k]


def impose_order(w: np.ndarray, order: Sequence[int], *, reverse: bool = False) -> np.ndarray:
    """Sort the weights of the teachers named in `order` (axis 1) so the safest gets the largest.

    Works on `[B,K]` and `[B,K,…]`.  Teachers not in `order` keep their weight.
    `reverse=True` sorts the wrong way round (used by a counterexample).
    """
    idx = ranked(order, w.shape[1])
    if len(idx) < 2:
        return w
    out = w.copy()
    vals = np.sort(w[:, idx], axis=1)  # ascending
    out[:, idx] = vals if reverse else vals[:, ::-1]
    return out


def per_token(w: np.ndarray, vocab: int, tokens: Sequence[int], order: Sequence[int], *,
              reverse: bool = False) -> np.ndarray:
    """Broadcast `[B,K]` weights to `[B,K,V]` and sort them into `order` on the tokens in S."""
    out = np.repeat(w[:, :, None], vocab, axis=2)
    toks = [i for i in tokens if i < vocab]
    if toks:
        out[:, :, toks] = impose_order(out[:, :, toks], order, reverse=reverse)
    return out


def rank_bonus(k: int, order: Sequence[int], *, reverse: bool = False) -> np.ndarray:
    """Safety scores `[K]`: len(order)−1 for the safest, …, 0 for the least safe and for unranked teachers."""
    b = np.zeros(k)
    idx = ranked(order, k)
    n = len(idx)
    for r, t in enumerate(idx):
        b[t] = (r if reverse else n - 1 - r)
    return b


def safe_gate(context: np.ndarray, slope: float = 1.0) -> np.ndarray:
    """clip(1 + slope·c₀, 0, 1), `[B]`: 1 on C_safe = {c₀ > 0} and at c₀ = 0, 0 for c₀ ≤ −1/slope.

    Ramping up *before* the boundary keeps the blended weights continuous at
    c₀ = 0 while the order already holds at every c₀ > 0.
    """
    return np.clip(1.0 + slope * context[:, 0], 0.0, 1.0)


def safe_context(context: np.ndarray) -> np.ndarray:
    """C_safe predicate used by the built-in context operators: c₀ > 0."""
    return np.asarray(context)[:, 0] > 0


def mixing(k: int, d: int) -> np.ndarray:
    """A fixed, well-spread `[K, D]` matrix (defined for any K, D; rows differ between teachers)."""
    kk = np.arange(k, dtype=np.float64)[:, None]
    dd = np.arange(d, dtype=np.float64)[None, :]
    return np.cos(1.3 * (kk + 1.0) * (dd + 1.0) + 0.7 * kk)


def project(context: np.ndarray, k: int) -> np.ndarray:
    """(W c)_k for the fixed `mixing(K, D)` matrix, `[B,D] -> [B,K]` (no BLAS: bitwise reproducible)."""
    w = mixing(k, context.shape[1])
    return (context[:, None, :] * w[None, :, :]).sum(axis=2)


def references(k: int, d: int) -> np.ndarray:
    """Per-teacher reference contexts μ_k `[K, D]` (the teachers' training domains)."""
    kk = np.arange(k, dtype=np.float64)[:, None]
    dd = np.arange(d, dtype=np.float64)[None, :]
    return 1.5 * np.cos(2.0 * np.pi * kk / max(k, 1) + 1.1 * dd)


def sq_dist(context: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """‖c − μ_k‖² `[B,K]`, scaled so huge contexts give a large finite value, never NaN."""
    diff = context[:, None, :] - mu[None, :, :]
    m = np.abs(diff).max(axis=2, initial=0.0)
    scale = np.where(m > 0.0, m, 1.0)
    r = (diff / scale[:, :, None]) ** 2
    return (m * m) * r.sum(axis=2)


def hard_best(score: np.ndarray, top: float = 0.6) -> np.ndarray:
    """`top` to the teacher with the lowest score (first on ties), (1 − top)/(K − 1) to the rest.

    Bounded, positive and normalized, but it jumps whenever the best teacher changes.
    """
    k = score.shape[-1]
    if k == 1:
        return np.ones_like(score)
    best = np.argmin(score, axis=-1)
    w = np.full(score.shape, (1.0 - top) / (k - 1))
    np.put_along_axis(w, best[..., None], top, axis=-1)
    return w
