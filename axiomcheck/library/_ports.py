"""Numerical pieces shared by the ports of published weighting schemes (private).

Everything is float64 and vectorized over the batch.  There are two kinds of
helper, kept apart on purpose:

* the raw quantities the papers write down — cross-entropy with the label,
  entropy in nats, KL(teacher ‖ student), a small ReLU network — computed the
  way the formulas read, so a cross-entropy that is infinite on paper is
  infinite here too (a port must not quietly repair its scheme);
* the repairs — mixing a distribution with the uniform one before its log is
  taken (`smoothed`), floor-and-renormalize (`floor_mix`) — which the repaired
  variants apply and whose effect on the bounds is exact (`floor_bounds`).

>>> import numpy as np
>>> w = np.array([[1.0, 0.0, 0.0, 0.0]])
>>> floor_mix(w, 0.01).round(4).tolist(), floor_bounds(4, 0.01)
([[0.97, 0.01, 0.01, 0.01]], (0.01, 0.97))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from axiomcheck.library import _numerics as nx


def as_labels(labels: Any, batch: int) -> np.ndarray:
    """`labels` as int64 `[B]` (a clear error if the engine did not pass them)."""
    if labels is None:
        raise ValueError("this scheme reads the ground-truth labels: it needs the `labels` input")
    y = np.asarray(labels).astype(np.int64).reshape(-1)
    if y.shape != (batch,):
        raise ValueError(f"labels must have shape [{batch}], got {list(y.shape)}")
    return y


def required(value: Any, name: str) -> np.ndarray:
    """A keyword input the scheme cannot do without, as float64."""
    if value is None:
        raise ValueError(f"this scheme reads `{name}`: it needs that input")
    return nx.f64(value)


def one_teacher(probs: Any) -> np.ndarray | None:
    """Weights `[B, 1]` of ones when there is a single teacher, else None.

    With K = 1 every normalized weighting gives the teacher weight 1, but a
    formula may divide by K − 1 or a checkpoint may have K outputs; the ports
    that would then fail for a reason that is no part of their scheme answer 1.
    """
    if probs is None:
        return None
    p = np.asarray(probs)
    return np.ones((p.shape[0], 1)) if p.ndim == 3 and p.shape[1] == 1 else None


def pick_label(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """x[b, k, labels[b]] for every teacher: `[B,K,V] -> [B,K]`."""
    idx = np.broadcast_to(labels[:, None, None], x.shape[:2] + (1,))
    return np.take_along_axis(x, idx, axis=2)[:, :, 0]


def logits_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """CE_k = logsumexp_v z_kv − z_k,y from logits, `[B,K]`.

    Stays finite for logits of ±1e4 (log-sum-exp form) and is +inf when the
    label's logit is −inf (its probability is exactly 0), as the formula says.
    """
    z = nx.f64(logits)
    m = z.max(axis=2, keepdims=True)
    with np.errstate(invalid="ignore", over="ignore"):
        lse = m[:, :, 0] + np.log(np.exp(z - m).sum(axis=2))
        return lse - pick_label(z, labels)


def smoothed(p: np.ndarray, gamma: float) -> np.ndarray:
    """(1 − γ) p + γ / V: every entry ≥ γ/V, so its log is ≥ log(γ/V) and Lipschitz in p."""
    v = p.shape[-1]
    return (1.0 - gamma) * p + gamma / v


def entropy_nats(probs: np.ndarray) -> np.ndarray:
    """H(p_k) = −Σ_v p log p in nats, `[B,K,V] -> [B,K]`, with 0 · log 0 = 0."""
    p = np.clip(nx.f64(probs), 0.0, 1.0)
    plogp = np.where(p > 0.0, p * np.log(np.where(p > 0.0, p, 1.0)), 0.0)
    return np.maximum(-plogp.sum(axis=-1), 0.0)


def kl_teacher_student(probs: np.ndarray, student: np.ndarray) -> np.ndarray:
    """KL(p_k ‖ q) = Σ_v p_kv (log p_kv − log q_v), `[B,K]`; +inf where q_v = 0 < p_kv."""
    p = np.clip(nx.f64(probs), 0.0, 1.0)
    q = np.clip(nx.f64(student), 0.0, 1.0)[:, None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(p > 0.0, p * (np.log(np.where(p > 0.0, p, 1.0)) - np.log(q)), 0.0)
    return np.maximum(term.sum(axis=-1), 0.0)


def floor_mix(w: np.ndarray, eps: float, axis: int = 1) -> np.ndarray:
    """w ← (1 − Kε) w + ε along `axis`: keeps Σ = 1, lifts every weight to ≥ ε, caps it at 1 − (K−1)ε."""
    k = w.shape[axis]
    return (1.0 - k * eps) * w + eps


def floor_bounds(k: int, eps: float) -> tuple[float, float]:
    """The exact range of `floor_mix` applied to weights on the simplex: [ε, 1 − (K − 1)ε]."""
    return eps, 1.0 - (k - 1) * eps


def dense(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """x W (+ b) for `x[B, n]`, `W[n, h]`, without BLAS (each row's result is independent of the batch)."""
    out = np.einsum("bi,ih->bh", x, weight)
    return out if bias is None else out + bias


def relu_mlp(x: np.ndarray, layers: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """A ReLU network: every layer but the last is `relu(x W + b)`; the last is linear (`b` optional)."""
    h = x
    for i, layer in enumerate(layers):
        bias = layer.get("b")
        h = dense(h, nx.f64(layer["W"]), None if bias is None else nx.f64(bias))
        if i < len(layers) - 1:
            h = np.maximum(h, 0.0)
    return h


def random_layers(seed: int, sizes: Sequence[int], scales: Sequence[float], *, bias: bool = True) -> list[dict]:
    """Seeded dense layers `sizes[0] -> sizes[1] -> …`, weights N(0, scale² / fan_in): a reproducible checkpoint."""
    rng = np.random.default_rng(seed)
    layers = []
    for n_in, n_out, scale in zip(sizes[:-1], sizes[1:], scales):
        layer = {"W": rng.standard_normal((n_in, n_out)) * (scale / np.sqrt(n_in))}
        if bias:
            layer["b"] = rng.standard_normal(n_out) * 0.1
        layers.append(layer)
    return layers
