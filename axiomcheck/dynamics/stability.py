"""Stability checks (paper §VII): Thm VII.1 (contraction), Thm VII.2 (perturbation), Lemma VII.4 (variance).

>>> import numpy as np
>>> from axiomcheck.dynamics.stability import check_contraction
>>> r = check_contraction(lambda w: 0.5 * w + 0.5 * np.array([0.7, 0.2, 0.1]), np.full(3, 1 / 3))
>>> r.status, round(r.estimate["rho_fit"], 3)
('pass', 0.5)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..kernels import kd_loss_and_grad
from . import _numerics as nx
from ._common import (
    fmt,
    guarded,
    loglog_fit,
    make_result,
    noise_box,
    perturb,
    reproduce_for,
    through_origin_fit,
    zero_sum_direction,
)
from .convergence import _prepare, solve
from .problem import KDProblem, uniform_like, weights_for

__all__ = ["check_perturbation_robustness", "check_gradient_variance", "check_contraction",
           "damped_map", "agreement_map", "gradient_variance"]


# ----------------------------------------------------------------------------- Thm VII.2


def check_perturbation_robustness(op: Any = None, *, problem: KDProblem | None = None, deltas: Any = None,
                                  r2_min: float = 0.95, growth_max: float = 3.0, seed: int = 0,
                                  quick: bool = False):
    """Thm VII.2: ‖θ*_w − θ*_w̃‖ ≤ C·δ for weight configurations with ‖w − w̃‖∞ ≤ δ.

    w̃ = the projection of w + δ·ε onto the normalized A1 box (ε a fixed seeded
    zero-sum direction with ‖ε‖∞ = 1; the box is the operator's declared
    bounds, else derived/observed ones); θ*_w and θ*_w̃ are found to a gradient
    norm ~1e-11 by damped Newton in float64; δ is the measured ‖w − w̃‖∞ and the
    distance is taken after removing the shift shared by all classes (which
    softmax ignores; with λ > 0 the optimum carries none).
    Reported: the constant C of the least-squares line d = C·δ through the
    origin, its R², the largest d/δ, and the growth of d/δ from the largest to
    the smallest δ.

    Pass rule: every solve converged, R² ≥ `r2_min` (0.95: the relation is
    linear) and d/δ at the smallest δ is at most `growth_max` (3) times d/δ at
    the largest (no blow-up as δ → 0, i.e. Lipschitz at this resolution).
    """
    rep = reproduce_for("dynamics.perturbation_robustness", op, seed, quick)

    def body():
        op_, target, prob = _prepare(op, problem, seed, quick)
        w = weights_for(target, prob)
        _, theta_star, info = solve(prob, w.values)
        lo, hi, box_src = noise_box(op_, w, prob.teachers)
        if deltas is None:
            span = max(1e-6, min(0.5 * (hi - lo), 0.2))
            ds = np.geomspace(span / 100.0, span / 2.0, 5 if quick else 8)
        else:
            ds = np.asarray(deltas, dtype=np.float64)
        eps = zero_sum_direction(w.values.shape, np.random.default_rng([seed, 11]))
        actual, dist, conv = [], [], [info["converged"]]
        for d in ds:
            wt = perturb(w.values, eps, float(d), lo, hi)
            _, th, inf = solve(prob, wt, theta_star, spectrum=False)
            conv.append(inf["converged"])
            actual.append(float(np.max(np.abs(wt - w.values))))
            diff = th - theta_star
            diff = diff - diff.mean(axis=1, keepdims=True)  # softmax ignores a shift shared by all classes
            dist.append(float(np.sqrt(np.sum(diff ** 2))))
        actual_a, dist_a = np.asarray(actual), np.asarray(dist)
        moved = actual_a > 0
        fit = through_origin_fit(actual_a[moved], dist_a[moved])
        ratios = np.where(moved, dist_a / np.where(moved, actual_a, 1.0), np.nan)
        valid = ratios[moved]
        growth = float(valid[0] / valid[-1]) if valid.size >= 2 and valid[-1] > 0 else float("nan")
        ll = loglog_fit(actual_a, dist_a)
        ok = (all(conv) and valid.size >= 2 and fit["r2"] >= r2_min and growth <= growth_max)
        msg = (f"‖θ*_w − θ*_w̃‖ must grow linearly in δ = ‖w − w̃‖∞ (R² of d = C·δ ≥ {r2_min}, d/δ at the smallest δ "
               f"≤ {growth_max}× that at the largest), got C = {fmt(fit['C'])}, R² = {fmt(fit['r2'])}, growth "
               f"{fmt(growth)}, log-log slope {fmt(ll['slope'])} over δ ∈ [{fmt(actual_a.min())}, {fmt(actual_a.max())}] "
               f"(box [{fmt(lo)}, {fmt(hi)}], {box_src}; λ = {prob.l2:g}, μ = {fmt(info['mu'])})")
        if not all(conv):
            msg = f"every optimum must be attained, got {conv.count(False)} solve(s) not converged; " + msg
        if valid.size < 2:
            msg = f"the perturbation must move the weights, got ‖w − w̃‖∞ = 0 in the box [{fmt(lo)}, {fmt(hi)}]; " + msg
        est = {"C": fit["C"], "r2": fit["r2"], "C_max": float(np.nanmax(ratios)) if valid.size else None,
               "growth": growth, "loglog_slope": ll["slope"], "deltas": actual, "requested_deltas": ds.tolist(),
               "distances": dist, "ratios": ratios.tolist(), "converged": all(conv), "box": [lo, hi],
               "box_source": box_src, "mu": info["mu"], "l2": prob.l2, "r2_min": r2_min, "growth_max": growth_max,
               "operator": getattr(op_, "name", "uniform"), "problem": prob.summary()}
        return make_result("dynamics.perturbation_robustness", "pass" if ok else "fail", msg, est, reproduce=rep,
                           seed=seed, samples=len(ds))

    return guarded("dynamics.perturbation_robustness", body, reproduce=rep, seed=seed)


# ----------------------------------------------------------------------------- Lemma VII.4


def gradient_variance(problem: KDProblem, weights: np.ndarray, theta: np.ndarray) -> float:
    """Total variance E‖g_n − ḡ‖² of per-sample gradients of L_KD wrt θ (the kernels' logit gradient)."""
    import jax.numpy as jnp

    phi = problem.features
    n = phi.shape[0]
    _, g_logits = kd_loss_and_grad(jnp.asarray(phi @ theta, jnp.float32),
                                   jnp.asarray(problem.teacher_logits, jnp.float32),
                                   jnp.asarray(weights, jnp.float32))
    gz = np.asarray(g_logits, dtype=np.float64) * n  # per-sample ∂CE/∂z = p_θ − q
    sq = np.sum(phi * phi, axis=1) * np.sum(gz * gz, axis=1)  # ‖φ_n ⊗ G_n‖²
    mean = phi.T @ gz / n
    return float(np.mean(sq) - np.sum(mean * mean))


def check_gradient_variance(op: Any = None, *, problem: KDProblem | None = None,
                            points: tuple[str, ...] = ("zero", "optimum", "uniform_optimum"), seed: int = 0,
                            quick: bool = False):
    """Lemma VII.4: Var[∇_θ L_KD(θ; G)] ≤ (w_max/w_min)² σ²_base, σ²_base the variance under uniform weights.

    The variance is the total variance over samples of the per-sample gradient
    (one-sample SGD; a minibatch of b divides both sides by b), computed from
    the kernels' logit gradients.  σ²_base is measured at the same θ with
    w_k = 1/K.  θ ranges over `points`: "zero" (θ = 0, the start of training),
    "optimum" (θ*_G) and "uniform_optimum" (θ*_uniform).  w_min, w_max are the
    smallest and largest weights the operator gives on the problem.

    Pass rule: w_min > 0 (A1; else the bound is infinite and says nothing) and,
    at every θ, Var_G / σ²_base ≤ (w_max/w_min)².  The lemma as stated can
    fail: where σ²_base is small (the uniform ensemble fitted almost exactly)
    no finite ratio bounds Var_G; such a θ is reported as a violation.
    """
    rep = reproduce_for("dynamics.gradient_variance", op, seed, quick)

    def body():
        op_, target, prob = _prepare(op, problem, seed, quick)
        w = weights_for(target, prob)
        wu = weights_for(uniform_like("context", prob.teachers), prob)
        thetas: dict[str, np.ndarray] = {}
        for p in points:
            if p == "zero":
                thetas[p] = np.zeros((prob.features.shape[1], prob.vocab))
            elif p == "optimum":
                thetas[p] = solve(prob, w.values, spectrum=False)[1]
            elif p == "uniform_optimum":
                thetas[p] = solve(prob, wu.values, spectrum=False)[1]
            else:
                raise ValueError(f"points must be among 'zero', 'optimum', 'uniform_optimum', got {p!r}")
        rows = []
        for name, th in thetas.items():
            vg = gradient_variance(prob, w.values, th)
            vu = gradient_variance(prob, wu.values, th)
            rows.append({"theta": name, "variance": vg, "variance_uniform": vu,
                         "ratio": vg / vu if vu > 0 else float("inf")})
        bound = w.ratio ** 2
        worst = max(rows, key=lambda r: r["ratio"])
        a1 = w.lo > 0
        ok = a1 and all(r["ratio"] <= bound * (1 + 1e-6) + 1e-9 for r in rows)
        msg = (f"Var[∇L_KD(θ; G)] / σ²_base must be ≤ (w_max/w_min)² = ({fmt(w.hi)}/{fmt(w.lo)})² = {fmt(bound)}, "
               f"got {fmt(worst['ratio'])} at θ = {worst['theta']} "
               f"(" + ", ".join(f"{r['theta']}: {fmt(r['ratio'])}" for r in rows) + ")")
        if not a1:
            msg = (f"w_min must be > 0 (A1) for the bound to say anything, got w_min = {fmt(w.lo)} so "
                   f"(w_max/w_min)² = inf; " + msg)
        declared = getattr(op_, "bounds", None)
        est = {"bound": bound, "max_ratio": worst["ratio"], "worst_theta": worst["theta"], "rows": rows,
               "w_min": w.lo, "w_max": w.hi,
               "declared_bound": (declared[1] / declared[0]) ** 2 if declared else None,
               "operator": getattr(op_, "name", "uniform"), "problem": prob.summary()}
        return make_result("dynamics.gradient_variance", "pass" if ok else "fail", msg, est, reproduce=rep,
                           seed=seed, samples=prob.size * len(rows))

    return guarded("dynamics.gradient_variance", body, reproduce=rep, seed=seed)


# ----------------------------------------------------------------------------- Thm VII.1


def damped_map(feedback: Callable[[np.ndarray], np.ndarray], beta: float) -> Callable[[np.ndarray], np.ndarray]:
    """T(w) = (1 − β)·w + β·F(w): a damped weight update with step β ∈ (0, 1].

    Its contraction factor is at most (1 − β) + β·Lip(F) in ‖·‖∞, below 1 when Lip(F) < 1.
    """
    if not 0.0 < beta <= 1.0:
        raise ValueError(f"beta must be in (0, 1], got {beta!r}")

    def t(w: np.ndarray) -> np.ndarray:
        w = np.asarray(w, dtype=np.float64)
        return (1.0 - beta) * w + beta * np.asarray(feedback(w), dtype=np.float64)

    return t


def agreement_map(teacher_probs: np.ndarray, *, beta: float = 0.5, tau: float = 2.0,
                  floor: float = 0.05) -> Callable[[np.ndarray], np.ndarray]:
    """A feedback weight update: trust each teacher by its agreement with the current ensemble.

    F(w)_k = floor + (1 − K·floor)·softmax_k(−τ · mean_n KL(q_w,n ‖ p_k,n)) with
    q_w = Σ_k w_k p_k, and T = (1 − β)·w + β·F(w).  Small τ (gentle feedback)
    and small β give a contraction; large τ makes F steep and T may not contract.
    teacher_probs: [K, N, V].  Weights are K-vectors (positive, summing to 1).
    """
    p = np.asarray(teacher_probs, dtype=np.float64)
    k = p.shape[0]
    logp = np.log(np.maximum(p, 1e-300))

    def feedback(w: np.ndarray) -> np.ndarray:
        q = np.tensordot(w, p, axes=1)  # [N, V]
        kl = np.sum(q[None] * (np.log(np.maximum(q, 1e-300))[None] - logp), axis=2).mean(axis=1)  # [K]
        return floor + (1.0 - k * floor) * nx.softmax(-tau * kl)

    return damped_map(feedback, beta)


def check_contraction(update_map: Callable[[np.ndarray], np.ndarray], w0: Any = None, *, teachers: int | None = None,
                      starts: int = 3, iterations: int = 200, tol: float = 1e-10,
                      bounds: tuple[float, float] | None = None, seed: int = 0):
    """Thm VII.1: a contractive weight update T has a unique fixed point reached geometrically.

    Iterates w_{n+1} = T(w_n) from `w0` (default: uniform over `teachers`) and
    from `starts − 1` seeded Dirichlet starts of the same shape (teachers on
    axis 0), and measures d_n = ‖w_n − w_{n−1}‖∞.  The empirical contraction
    factor is estimated two ways: ρ_max = the largest ratio d_{n+1}/d_n (over
    steps where both are above round-off) and ρ_fit = exp(slope of log d_n
    against n).  Also reported: ‖T(w*) − w*‖∞, the spread of the limits over the
    starts, and whether w* is a weight vector (Σ = 1, > 0, within `bounds`).

    Pass rule: ρ_max < 1 and ρ_fit < 1 (geometric convergence), the last
    difference ≤ `tol`, every start reaches the same w* (spread ≤ 1e-6), and w*
    satisfies A1.  ρ ≥ 1 is reported as a failure even when the iterates stop
    moving (e.g. an expansion stopped by clipping).
    """
    rep = "check_contraction(T, w0)  # T is your callable; see docs/dynamics.md"
    if w0 is None:
        if teachers is None:
            raise ValueError("check_contraction needs w0 or teachers=K")
        w0 = np.full(int(teachers), 1.0 / int(teachers))
    w0 = np.asarray(w0, dtype=np.float64)
    rng = np.random.default_rng(seed)
    inits = [w0] + [np.moveaxis(rng.dirichlet(np.ones(w0.shape[0]), size=w0.shape[1:]), -1, 0)
                    for _ in range(max(0, starts - 1))]
    runs = []
    try:
        for init in inits:
            w = init
            diffs = []
            for _ in range(iterations):
                nw = np.asarray(update_map(w), dtype=np.float64)
                if nw.shape != w.shape or not np.all(np.isfinite(nw)):
                    raise ValueError(f"T must map a weight array of shape {w.shape} to a finite one of the same shape, "
                                     f"got shape {nw.shape}" + ("" if nw.shape != w.shape else " with non-finite values"))
                diffs.append(float(np.max(np.abs(nw - w))))
                w = nw
                if diffs[-1] == 0.0 or (len(diffs) > 5 and diffs[-1] < 1e-15):
                    break
            runs.append((w, np.asarray(diffs)))
    except Exception as exc:
        return make_result("dynamics.contraction", "error", f"the update map T must run on weights, got: {exc}",
                           reproduce=rep, seed=seed)
    floor = 1e-13
    rho_max, rho_fits, last = 0.0, [], []
    for _, d in runs:
        ok_idx = np.nonzero(d > floor)[0]
        if ok_idx.size >= 2:
            pairs = [(i, i + 1) for i in ok_idx[:-1] if d[i + 1] > floor]
            if pairs:
                rho_max = max(rho_max, max(d[j] / d[i] for i, j in pairs))
            fit = np.polyfit(ok_idx.astype(np.float64), np.log(d[ok_idx]), 1)
            rho_fits.append(float(np.exp(fit[0])))
        elif ok_idx.size == 1 and d.size > 1:
            rho_fits.append(0.0)  # converged in one step (a constant map)
        last.append(float(d[-1]) if d.size else 0.0)
    rho_fit = max(rho_fits) if rho_fits else 0.0
    limits = [w for w, _ in runs]
    spread = float(max(np.max(np.abs(x - limits[0])) for x in limits))
    w_star = limits[0]
    residual = float(np.max(np.abs(np.asarray(update_map(w_star)) - w_star)))
    sums = w_star.sum(axis=0)
    a1_problems = []
    if np.max(np.abs(sums - 1.0)) > 1e-6:
        a1_problems.append(f"Σ_k w*_k = {fmt(float(np.max(np.abs(sums - 1.0))) + 1.0)}")
    if w_star.min() <= 0:
        a1_problems.append(f"min w* = {fmt(float(w_star.min()))} ≤ 0")
    if bounds is not None and (w_star.min() < bounds[0] - 1e-9 or w_star.max() > bounds[1] + 1e-9):
        a1_problems.append(f"w* ∉ [{bounds[0]}, {bounds[1]}]")
    converged = max(last) <= tol
    contract = rho_max < 1.0 and rho_fit < 1.0
    ok = contract and converged and spread <= 1e-6 and not a1_problems
    msg = (f"the contraction factor of T must be < 1 with geometric convergence to a unique fixed point, got "
           f"ρ_max = {fmt(rho_max, 4)}, ρ_fit = {fmt(rho_fit, 4)}, last ‖w_n − w_n−1‖∞ = {fmt(max(last))} "
           f"(tol {tol:g}), spread of limits over {len(runs)} starts {fmt(spread)}, ‖T(w*) − w*‖∞ = {fmt(residual)}")
    if a1_problems:
        msg += "; the fixed point must satisfy A1, got " + ", ".join(a1_problems)
    est = {"rho_max": rho_max, "rho_fit": rho_fit, "converged": converged, "contracts": contract,
           "iterations": [int(d.size) for _, d in runs], "last_difference": max(last), "spread": spread,
           "fixed_point_residual": residual, "fixed_point": w_star.tolist() if w_star.size <= 64 else None,
           "differences": runs[0][1][:60].tolist(), "starts": len(runs)}
    return make_result("dynamics.contraction", "pass" if ok else "fail", msg, est, reproduce=rep, seed=seed,
                       samples=sum(int(d.size) for _, d in runs))
