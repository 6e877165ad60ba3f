"""Float64 reference math for the training-time checks (private).

The training loops run in JAX on the kernels (float32); the *measurements* —
the loss gap E[L_t] − L*, the KL to the ensemble, the optimum θ* itself — are
taken here in float64, so a gap of 1e-5 is not drowned by float32 rounding.

The student is a linear softmax model: logits = φ θ with φ [N, F] (the last
column is a constant 1, the bias) and θ [F, V].  The objective is

    L(θ) = 1/N Σ_n CE(q_n, softmax(φ_n θ)) + λ/2 ‖θ‖²,

strongly convex for λ > 0, minimized here by a damped Newton method to a
gradient norm of ~1e-11 (the high-accuracy solve that gives L* and θ*).

>>> import numpy as np
>>> phi = np.c_[np.eye(3), np.ones(3)]; q = np.full((3, 2), 0.5)
>>> theta, info = newton_solve(phi, q, 0.1)
>>> bool(info["converged"]), float(np.abs(theta).max()) < 1e-12
(True, True)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._softmax import log_softmax, softmax

__all__ = [
    "softmax",
    "log_softmax",
    "ensemble",
    "cross_entropy",
    "entropy",
    "objective",
    "gradient",
    "hessian",
    "newton_solve",
    "safety_terms",
]


def ensemble(teacher_probs: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """q [N, V] from teacher probabilities [K, N, V] and weights [K, N] or [K, N, V].

    The same ensemble G as `axiomcheck.kernels.ensemble`: the weighted mixture
    r(v) = Σ_k w_k(v) p_k(v), renormalized over the vocabulary, q = r / Σ_v r.
    For token-independent weights this is Σ_k w_k p_k / Σ_k w_k, the convex
    combination when Σ_k w_k = 1; per-token weights need the renormalization.
    """
    p = np.asarray(teacher_probs, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim == 2:
        w = w[:, :, None]
    r = np.sum(w * p, axis=0)
    return r / np.sum(r, axis=-1, keepdims=True)


def _xlogy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x * np.log(np.where(x > 0, y, 1.0)), 0.0)


def entropy(q: np.ndarray) -> np.ndarray:
    """H(q) per row (nats), 0·log 0 = 0."""
    q = np.asarray(q, dtype=np.float64)
    return -np.sum(_xlogy(q, q), axis=-1)


def cross_entropy(q: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """−Σ_v q_v log softmax(logits)_v per row."""
    ls = log_softmax(logits)
    return -np.sum(np.where(q > 0, q * ls, 0.0), axis=-1)


def objective(theta: np.ndarray, phi: np.ndarray, q: np.ndarray, l2: float) -> float:
    """L(θ) = mean CE(q, softmax(φθ)) + λ/2 ‖θ‖² (float64)."""
    theta = np.asarray(theta, dtype=np.float64)
    return float(np.mean(cross_entropy(q, phi @ theta)) + 0.5 * l2 * np.sum(theta * theta))


def gradient(theta: np.ndarray, phi: np.ndarray, q: np.ndarray, l2: float) -> np.ndarray:
    """∇L(θ) = φᵀ (softmax(φθ) − q) / N + λ θ, shape [F, V]."""
    p = softmax(phi @ theta)
    return phi.T @ (p - q) / phi.shape[0] + l2 * theta


def hessian(theta: np.ndarray, phi: np.ndarray, l2: float) -> np.ndarray:
    """∇²L(θ) as an [F·V, F·V] matrix (θ flattened row-major, index f·V + v).

    H = 1/N Σ_n (φ_n φ_nᵀ) ⊗ (diag p_n − p_n p_nᵀ) + λ I.
    """
    n, f = phi.shape
    p = softmax(phi @ theta)
    v = p.shape[1]
    h = np.zeros((f, v, f, v))
    for a in range(v):
        h[:, a, :, a] = (phi * p[:, a:a + 1]).T @ phi / n
    z = (phi[:, :, None] * p[:, None, :]).reshape(n, f * v)
    hm = h.reshape(f * v, f * v) - z.T @ z / n
    hm[np.diag_indices_from(hm)] += l2
    return hm


def newton_solve(phi: np.ndarray, q: np.ndarray, l2: float, theta0: np.ndarray | None = None, *,
                 tol: float = 1e-11, max_iter: int = 100, spectrum: bool = True) -> tuple[np.ndarray, dict[str, Any]]:
    """The minimizer θ* of L by damped Newton with backtracking (float64).

    Returns (θ*, info) with info = {converged, iterations, grad_norm, loss,
    mu (smallest Hessian eigenvalue at θ*: the strong-convexity modulus there),
    lipschitz (largest eigenvalue); both None unless `spectrum`}.  For λ > 0 the objective is strongly convex
    and Newton converges globally with a line search; `converged` is False only
    when the gradient norm stays above `tol` after `max_iter` steps.
    """
    phi = np.asarray(phi, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    f, v = phi.shape[1], q.shape[1]
    theta = np.zeros((f, v)) if theta0 is None else np.array(theta0, dtype=np.float64)
    loss = objective(theta, phi, q, l2)
    g = gradient(theta, phi, q, l2)
    it = 0
    for it in range(1, max_iter + 1):
        gn = float(np.sqrt(np.sum(g * g)))
        if gn <= tol:
            it -= 1
            break
        h = hessian(theta, phi, l2)
        if l2 > 0:
            step = -np.linalg.solve(h, g.ravel()).reshape(f, v)
        else:  # singular along the class-shift directions: the minimum-norm Newton step
            step = -np.linalg.lstsq(h, g.ravel(), rcond=1e-12)[0].reshape(f, v)
        slope = float(np.sum(g * step))
        if not slope < 0:  # not a descent direction (singular H): fall back to the gradient
            step, slope = -g, -gn * gn
        t = 1.0
        while True:
            cand = theta + t * step
            new = objective(cand, phi, q, l2)
            if new <= loss + 1e-4 * t * slope or t < 1e-12:
                break
            t *= 0.5
        if new > loss and abs(new - loss) > 1e-15 * max(1.0, abs(loss)):
            break  # no progress possible at float64 resolution
        theta, loss = cand, new
        g = gradient(theta, phi, q, l2)
    gn = float(np.sqrt(np.sum(g * g)))
    info = {"converged": bool(gn <= max(tol, 1e-9)), "iterations": it, "grad_norm": gn, "loss": loss,
            "mu": None, "lipschitz": None}
    if spectrum:
        eig = np.linalg.eigvalsh(hessian(theta, phi, l2))
        info["mu"], info["lipschitz"] = float(eig[0]), float(eig[-1])
    return theta, info


def safety_terms(logits: np.ndarray, labels: np.ndarray, critical: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample Safety(p; y*) (Def. VIII.2 with f = p(y*)) and its gradient wrt the logits.

    Safety = p(y*) when y* is a safety-critical class, 1 otherwise; its logit
    gradient is p(y*)(e_{y*} − p) on critical samples and 0 elsewhere.
    """
    p = softmax(logits)
    n = p.shape[0]
    py = p[np.arange(n), labels]
    s = np.where(critical, py, 1.0)
    grad = py[:, None] * (np.eye(p.shape[1])[labels] - p)
    grad = np.where(critical[:, None], grad, 0.0)
    return s, grad
