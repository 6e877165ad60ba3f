"""Ports of published multi-task loss weightings as task importances λ[B,M] (the importance kind).

Dynamic Weight Average, uncertainty weighting and GradNorm produce the
coefficients λ_t of a scalarized multi-task loss Σ_t λ_t L_t — Axiom III.14's
task importances, not teacher weights.  Functions take
`fn(losses[B,M,K], sizes[B,M], *, history, step, params)` (each keyword only
where the scheme reads it) and return `[B,M]`.  Two of the three schemes
scale λ to sum to the number of tasks M by design; their repaired variants
divide by M (and fix what else breaks).  Verdicts are for M = 3 tasks and a
history of H = 2 steps.

>>> import numpy as np
>>> h = np.array([[[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]])   # constant losses
>>> dwa(None, None, history=h, step=np.array([5])).tolist()
[[1.0, 1.0, 1.0]]
"""

from __future__ import annotations

import numpy as np

from axiomcheck.library import _numerics as nx
from axiomcheck.library.port import Port

__all__ = ["PORTS", "GRADNORM_CHECKPOINTS", "UNCERTAINTY_CHECKPOINTS", "dwa", "dwa_repaired", "gradnorm",
           "gradnorm_repaired", "uncertainty_weighting", "uncertainty_weighting_repaired",
           "DWA_RATIO_CAP", "DWA_TEMPERATURE", "GRADNORM_RATIO_CAP", "LOSS_OFFSET"]

M = 3
#: DWA's temperature T (the paper's value)
DWA_TEMPERATURE = 2.0
#: δ added to both losses of a ratio in the repaired variants: (L + δ)/(L' + δ)
LOSS_OFFSET = 1e-6
#: the repaired variants cap a loss ratio at this value (and its inverse): a continuous clip.
#: DWA's ratio is a one-step change (near 1 in training); GradNorm's is relative to the start of training.
DWA_RATIO_CAP = 10.0
GRADNORM_RATIO_CAP = 1e3


def _history(history) -> np.ndarray:
    if history is None:
        raise ValueError("this scheme reads the loss history: it needs the `history` input")
    h = nx.f64(history)
    if h.ndim != 3 or h.shape[1] < 2:
        raise ValueError(f"history must be [B, H ≥ 2, M], got {list(h.shape)}")
    return h


def _log_ratio(new: np.ndarray, old: np.ndarray, cap: float) -> np.ndarray:
    """log((new + δ)/(old + δ)) clipped to ±log(cap): finite for losses 0 … 1e308, continuous everywhere."""
    lr = np.log(np.maximum(new, 0.0) + LOSS_OFFSET) - np.log(np.maximum(old, 0.0) + LOSS_OFFSET)
    return np.clip(lr, -np.log(cap), np.log(cap))


def dwa(losses, sizes, *, history, step):
    """Dynamic Weight Average (Liu, Johns, Davison 2019, "End-to-End Multi-Task Learning with Attention", CVPR).

    Equation: λ_t(n) = M exp(r_t(n−1)/T) / Σ_i exp(r_i(n−1)/T), r_t(n−1) =
    L_t(n−1)/L_t(n−2), T = 2, and λ_t = 1 for the first two steps (step < 2 here,
    counting from 0).  L(n−1) is `history[:, -1]`, L(n−2) `history[:, -2]`.
    Reads: `history`, `step`.
    Verdict: fails importance.normalization (Σλ = M by design: renormalize by M
    to conform), importance.finite, importance.nonnegativity,
    importance.continuity; importance.pareto_compatibility holds (λ ≥ 0, and
    scaling λ does not move the scalarized minimizer).  A task whose loss
    two steps back is 0 gives r = L/0 (inf, or 0/0 = NaN when both are 0), and
    the softmax turns it into NaN for every task of the sample; NaN rows fail
    every value check, and near (0, 0) the ratio takes any value, so there is no
    continuous extension.
    """
    h = _history(history)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = h[:, -1, :] / h[:, -2, :]
        lam = h.shape[2] * nx.softmax(r / DWA_TEMPERATURE)
    early = np.asarray(step).reshape(-1) < 2
    return np.where(early[:, None], 1.0, lam)


def dwa_repaired(losses, sizes, *, history, step):
    """DWA repaired: divided by M, with the loss ratio guarded and capped.

    Equation: λ_t = softmax_t(r~_t / T), r~_t = exp(clip(log((L_t(n−1) + δ)/(L_t(n−2) + δ)), ±log 10)),
    δ = 1e-6; λ_t = 1/M for step < 2.  The division by M restores Σλ = 1; r~ is
    finite and continuous for every pair of losses (0/0 becomes 1) and lies in
    [0.1, 10] (one step rarely changes a loss tenfold), so for M = 3
    λ_t ≥ e^{0.05}/(e^{0.05} + 2e^{5}) ≈ 3.5e-3 and λ is a composition of
    continuous maps.
    Reads: `history`, `step`.  Verdict: every check holds.
    """
    h = _history(history)
    r = np.exp(_log_ratio(h[:, -1, :], h[:, -2, :], DWA_RATIO_CAP))
    lam = nx.softmax(r / DWA_TEMPERATURE)
    early = np.asarray(step).reshape(-1) < 2
    return np.where(early[:, None], 1.0 / h.shape[2], lam)


def _one_task(x: np.ndarray, axis: int) -> np.ndarray | None:
    """λ = 1 `[B, 1]` when there is a single task (a checkpoint holds one entry per task of its world)."""
    a = np.asarray(x)
    return np.ones((a.shape[0], 1)) if a.shape[axis] == 1 else None


#: learned log-variances s_t = log σ_t²: at initialization (all 0) and after some training
UNCERTAINTY_CHECKPOINTS = ({"log_var": np.zeros(M)}, {"log_var": np.array([-0.7, 0.3, 1.2])})


def _log_var(losses, params) -> np.ndarray:
    s = nx.f64(params["log_var"]).reshape(-1)
    b, m = np.asarray(losses).shape[:2]
    if s.shape != (m,):
        raise ValueError(f"params['log_var'] must hold one log σ² per task ({m}), got {list(s.shape)}")
    return np.broadcast_to(s, (b, m))


def uncertainty_weighting(losses, sizes, *, params):
    """Uncertainty weighting (Kendall, Gal, Cipolla 2018, "Multi-Task Learning Using Uncertainty to Weigh
    Losses for Scene Geometry and Semantics", CVPR).

    Equation: L = Σ_t 1/(2σ_t²) L_t + log σ_t, so λ_t = 1/(2σ_t²) = ½ exp(−s_t)
    with the learned s_t = log σ_t² (the paper's regression form; its
    classification form drops the ½; the log σ_t term does not weight a loss).
    Reads: `params` = {"log_var": s} (the losses only for the batch shape).
    Verdict: fails importance.normalization (Σλ = ½ Σ_t e^{−s_t}, 1.5 at
    initialization; nothing makes it 1).  λ > 0, constant in the losses (so
    continuous), finite for finite checkpoints, and Pareto-compatible (a
    positive λ scaled to the simplex has a Pareto-optimal scalarized minimizer).  With a single task λ = 1.
    """
    single = _one_task(losses, 1)
    return single if single is not None else 0.5 * np.exp(-_log_var(losses, params))


def uncertainty_weighting_repaired(losses, sizes, *, params):
    """Uncertainty weighting repaired: λ_t = e^{−s_t} / Σ_i e^{−s_i} = softmax_t(−s) — divided by its sum.

    The ½ cancels; λ keeps the paper's ratios (a task with twice the variance gets
    half the weight), sums to 1 and is > 0.  Reads: `params`.  Verdict: every
    check holds.
    """
    single = _one_task(losses, 1)
    return single if single is not None else nx.softmax(-_log_var(losses, params))


#: GradNorm state at one step: current weights w (Σ = M), ‖∇_W L_t‖ at the shared layer, asymmetry α, step size.
#: The second checkpoint's step is large enough to push a weight below zero.
GRADNORM_CHECKPOINTS = (
    {"weights": np.array([1.2, 0.9, 0.9]), "grad_norms": np.array([1.0, 4.0, 0.25]), "alpha": np.float64(1.5),
     "lr": np.float64(0.05)},
    {"weights": np.array([1.2, 0.9, 0.9]), "grad_norms": np.array([1.0, 4.0, 0.25]), "alpha": np.float64(1.5),
     "lr": np.float64(0.5)},
)


def _gradnorm_state(history, params):
    h = _history(history)
    w = nx.f64(params["weights"]).reshape(-1)
    g = nx.f64(params["grad_norms"]).reshape(-1)
    if w.shape != (h.shape[2],) or g.shape != w.shape:
        raise ValueError(f"GradNorm params need one weight and one gradient norm per task ({h.shape[2]})")
    return h, w[None, :], g[None, :], float(np.asarray(params["alpha"])), float(np.asarray(params["lr"]))


def gradnorm(losses, sizes, *, history, params):
    """GradNorm's weight update (Chen, Badrinarayanan, Lee, Rabinovich 2018, "GradNorm: Gradient Normalization
    for Adaptive Loss Balancing in Deep Multitask Networks", ICML).

    Equation: G_t = w_t ‖∇_W L_t‖, Ḡ = mean_t G_t, L~_t = L_t(n)/L_t(0),
    r_t = L~_t / mean_i L~_i, L_grad = Σ_t |G_t − Ḡ r_t^α| with the target Ḡ r_t^α
    held constant, so ∂L_grad/∂w_t = sign(G_t − Ḡ r_t^α) ‖∇_W L_t‖; one step
    w_t ← w_t − η ∂L_grad/∂w_t, then renormalized to Σ_t w_t = M.  The port takes
    L(n) = `history[:, -1]` and, for the loss at step 0, the oldest loss in the
    window, `history[:, 0]` (the engine's history is the last H steps, not the
    whole run); the weights, gradient norms, α and η are the checkpoint.
    Reads: `history`, `params`.
    Verdict: fails importance.normalization (Σλ = M: renormalize by M to
    conform), importance.continuity (the sign flips when G_t crosses its target:
    the update jumps by 2η‖∇_W L_t‖), importance.nonnegativity (no clamp: with
    params[1]'s step a weight goes below 0; a zero initial loss also gives NaN),
    importance.finite (L(0) = 0 makes L~ = L/0).  importance.pareto_compatibility
    holds on the samples with λ ≥ 0 (a negative λ is nonnegativity's failure).
    With a single task λ = 1 (the checkpoint holds one weight per task).
    """
    single = _one_task(_history(history), 2)
    if single is not None:
        return single
    h, w, g, alpha, lr = _gradnorm_state(history, params)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = h[:, -1, :] / h[:, 0, :]
        r = ratio / ratio.mean(axis=1, keepdims=True)
        big_g = w * g
        target = big_g.mean(axis=1, keepdims=True) * r ** alpha
        new = w - lr * np.sign(big_g - target) * g
        return h.shape[2] * new / new.sum(axis=1, keepdims=True)


def gradnorm_repaired(losses, sizes, *, history, params):
    """GradNorm repaired: a smoothed sign, guarded ratios, a floor, and Σλ = 1.

    Equation: log L~_t = log((L_t(n) + δ)/(L_t(0) + δ)) clipped to ±log 1000,
    log r_t = log L~_t − log mean_i L~_i (computed in log space), target
    Ḡ r_t^α; u_t = max(w_t − η ‖∇_W L_t‖ tanh((G_t − target)/(κ Ḡ)), ε w̄) with
    κ = 0.1, ε = 0.01, w̄ the mean weight; λ = u / Σu.  tanh is the gradient of a
    smoothed |·| (Huber-like), so the step no longer jumps; every ratio is finite;
    the floor keeps λ_t ≥ ε w̄ / Σu > 0; dividing by Σu (not by Σu / M) gives
    Σλ = 1.  Reads: `history`, `params`.  Verdict: every check holds.
    """
    single = _one_task(_history(history), 2)
    if single is not None:
        return single
    h, w, g, alpha, lr = _gradnorm_state(history, params)
    log_lt = _log_ratio(h[:, -1, :], h[:, 0, :], GRADNORM_RATIO_CAP)
    log_mean = np.log(np.exp(log_lt - log_lt.max(axis=1, keepdims=True)).mean(axis=1, keepdims=True))
    log_r = log_lt - log_lt.max(axis=1, keepdims=True) - log_mean
    big_g = w * g
    g_bar = big_g.mean(axis=1, keepdims=True)
    target = g_bar * np.exp(alpha * log_r)
    step = lr * g * np.tanh((big_g - target) / (0.1 * g_bar))
    u = np.maximum(w - step, 0.01 * w.mean(axis=1, keepdims=True))
    return u / u.sum(axis=1, keepdims=True)


PORTS: tuple[Port, ...] = (
    Port("dwa", "importance", dwa, "DWA", ("history", "step"),
         ("importance.normalization", "importance.nonnegativity", "importance.continuity",
          "importance.finite"),
         "Σλ = M (renormalize by M to conform); a zero loss two steps back gives L/0 and NaN"),
    Port("dwa_repaired", "importance", dwa_repaired, "DWA", ("history", "step"), repairs="dwa",
         declare={"world": {"history": 2}}),
    Port("uncertainty_weighting", "importance", uncertainty_weighting, "Uncertainty weighting", ("params",),
         ("importance.normalization",),
         "λ_t = 1/(2σ_t²) is never normalized (Σλ = 1.5 at initialization)",
         declare={"params": UNCERTAINTY_CHECKPOINTS, "world": {"tasks": M}}),
    Port("uncertainty_weighting_repaired", "importance", uncertainty_weighting_repaired, "Uncertainty weighting",
         ("params",), repairs="uncertainty_weighting",
         declare={"params": UNCERTAINTY_CHECKPOINTS, "world": {"tasks": M}}),
    Port("gradnorm", "importance", gradnorm, "GradNorm", ("history", "params"),
         ("importance.normalization", "importance.nonnegativity", "importance.continuity",
          "importance.finite"),
         "Σλ = M; the sign of the L1 gradient jumps; an unclamped step goes below 0; L(0) = 0 gives NaN",
         declare={"params": GRADNORM_CHECKPOINTS, "world": {"tasks": M, "history": 2}}),
    Port("gradnorm_repaired", "importance", gradnorm_repaired, "GradNorm", ("history", "params"),
         repairs="gradnorm", declare={"params": GRADNORM_CHECKPOINTS, "world": {"tasks": M, "history": 2}}),
)
