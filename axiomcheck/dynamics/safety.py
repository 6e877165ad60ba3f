"""Safety-constrained distillation (paper §VIII): Defs. VIII.1–VIII.4, Thms VIII.5–VIII.6, Cor. VIII.7.

Safety measure (Def. VIII.2, with f(p, y*) = p(y*)):

    Safety(p; y*) = p(y*)  if y* ∈ S (a safety-critical class),  1 otherwise,

linear — hence concave — in p, as Cor. VIII.7 asks; Safety_D(θ) is its mean
over the problem's samples (Def. VIII.3).  The constrained problem
min L_KD(θ) + λ/2‖θ‖² s.t. Safety_D(θ) ≥ Safety_min is trained by primal-dual
descent-ascent on its Lagrangian (Thm VIII.5).

>>> import numpy as np
>>> p = np.array([[0.7, 0.3], [0.2, 0.8]])
>>> safety_measure(p, np.array([0, 1]), critical_classes=(0,)).tolist()
[0.7, 1.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _numerics as nx
from . import _train as tr
from ._common import fmt, guarded, make_result, reproduce_for
from .convergence import _prepare, solve
from .problem import KDProblem, weights_for

__all__ = ["safety_measure", "expected_safety", "check_safety_constrained", "check_pareto_frontier",
           "check_safety_preservation", "kkt_residuals", "DEFAULT_MUS"]

#: μ values swept for the Pareto frontier (Thm VIII.5).
DEFAULT_MUS = (0.0, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)


def safety_measure(probs: np.ndarray, labels: np.ndarray, critical_classes: Any) -> np.ndarray:
    """Per-sample Safety(p; y*) (Def. VIII.2): p(y*) for y* ∈ S, 1 otherwise. probs [N, V], labels [N]."""
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=int)
    crit = np.isin(labels, np.asarray(tuple(critical_classes), dtype=int))
    return np.where(crit, probs[np.arange(len(labels)), labels], 1.0)


def expected_safety(probs: np.ndarray, labels: np.ndarray, critical_classes: Any,
                    mask: np.ndarray | None = None) -> float:
    """Safety_D (Def. VIII.3): the mean safety over the samples (those in `mask` if given)."""
    s = safety_measure(probs, labels, critical_classes)
    if mask is not None:
        s = s[np.asarray(mask, dtype=bool)]
    return float(np.mean(s)) if s.size else float("nan")


def _student_safety(theta: np.ndarray, prob: KDProblem) -> float:
    return expected_safety(nx.softmax(prob.features @ theta), prob.labels, prob.critical_classes)


def kkt_residuals(theta: np.ndarray, mu: float, prob: KDProblem, q: np.ndarray, safety_min: float) -> dict[str, float]:
    """Residuals of the KKT conditions of Thm VIII.6 at (θ, μ), float64.

    stationarity: ‖∇(L_KD + λ/2‖θ‖²) − μ∇Safety_D‖ relative to the larger of
    the two terms' norms; complementary slackness |μ·(Safety_D − Safety_min)|;
    primal feasibility max(0, Safety_min − Safety_D); dual feasibility max(0, −μ).
    """
    phi = prob.features
    z = phi @ theta
    g_kd = nx.gradient(theta, phi, q, prob.l2)
    s, gs_logit = nx.safety_terms(z, prob.labels, prob.critical_samples)
    g_s = phi.T @ gs_logit / phi.shape[0]
    stat = g_kd - mu * g_s
    scale = max(float(np.linalg.norm(g_kd)), mu * float(np.linalg.norm(g_s)), 1e-12)
    safety = float(np.mean(s))
    return {"stationarity": float(np.linalg.norm(stat)), "stationarity_rel": float(np.linalg.norm(stat)) / scale,
            "complementary_slackness": abs(mu * (safety - safety_min)),
            "primal_feasibility": max(0.0, safety_min - safety), "dual_feasibility": max(0.0, -mu),
            "safety": safety}


def check_safety_constrained(op: Any = None, *, problem: KDProblem | None = None, safety_min: float | None = None,
                             outer: int | None = None, inner: int = 20, tol: float = 1e-3,
                             stationarity_tol: float = 0.05, seed: int = 0, quick: bool = False):
    """Thm VIII.5–VIII.6: primal-dual training reaches Safety_D ≥ Safety_min and satisfies KKT.

    Starts from the unconstrained KD optimum θ*_G (its safety S_KD), estimates
    the best safety a student of this class reaches (S_reach: Adam on −Safety_D
    alone), then runs `outer` rounds of `inner` Adam steps on the Lagrangian
    L_KD + λ/2‖θ‖² − μ·Safety_D followed by a projected dual-ascent step on μ.
    `safety_min` defaults to halfway between S_KD and S_reach (an active constraint).

    Outcomes: "infeasible" when Safety_min ≥ 1 with any critical sample (p(y*) < 1
    for every finite θ of a softmax student) or Safety_min > S_reach + tol (no
    student seen reaches it) — reported as a failure, never as converged;
    "converged" when the final KKT residuals are within tolerance; else "not converged".

    Pass rule: outcome "converged": primal feasibility ≤ `tol`, complementary
    slackness ≤ `tol`·max(1, μ), dual feasibility = 0, stationarity (relative) ≤
    `stationarity_tol`.
    """
    return _safety_constrained(op, problem=problem, safety_min=safety_min, outer=outer, inner=inner, tol=tol,
                               stationarity_tol=stationarity_tol, seed=seed, quick=quick)[0]


def _safety_constrained(op: Any, *, problem, safety_min, outer, inner, tol, stationarity_tol, seed, quick):
    """check_safety_constrained's body; also returns the trained θ (None on error)."""
    outer = int(outer or (150 if quick else 300))
    rep = reproduce_for("dynamics.safety_constrained", op, seed, quick,
                        **({} if safety_min is None else {"safety_min": safety_min}))
    out: list[np.ndarray] = []

    def body():
        op_, target, prob = _prepare(op, problem, seed, quick)
        w = weights_for(target, prob)
        q, theta_kd, _ = solve(prob, w.values, spectrum=False)
        s_kd = _student_safety(theta_kd, prob)
        th_max = tr.max_safety(prob.features, prob.labels, prob.critical_samples, prob.vocab,
                               steps=1000 if quick else 2000)
        s_reach = _student_safety(th_max.astype(np.float64), prob)
        s_min = float(safety_min) if safety_min is not None else s_kd + 0.5 * (s_reach - s_kd)
        any_critical = bool(np.any(prob.critical_samples))
        infeasible_reason = None
        if s_min >= 1.0 and any_critical:
            infeasible_reason = (f"Safety_min = {s_min:g} ≥ 1 cannot be met: a softmax student has p(y*) < 1 for "
                                 f"every finite θ, and {int(prob.critical_samples.sum())} samples are safety-critical")
        elif s_min > s_reach + tol:
            infeasible_reason = (f"Safety_min = {fmt(s_min, 4)} is above S_reach = {fmt(s_reach, 4)}, the best safety "
                                 f"reached by maximizing Safety_D alone")
        th, mu, mus, safeties = tr.primal_dual(prob.features, prob.teacher_logits, w.values, prob.labels,
                                               prob.critical_samples, s_min=s_min, l2=prob.l2, theta0=theta_kd,
                                               outer=outer, inner=inner)
        th = th.astype(np.float64)
        out.append(th)
        kkt = kkt_residuals(th, mu, prob, q, s_min)
        l_kd = nx.objective(th, prob.features, q, prob.l2)
        within = (kkt["primal_feasibility"] <= tol and kkt["complementary_slackness"] <= tol * max(1.0, mu)
                  and kkt["dual_feasibility"] == 0.0 and kkt["stationarity_rel"] <= stationarity_tol)
        if infeasible_reason:
            outcome = "infeasible"
        else:
            outcome = "converged" if within else "not converged"
        msg = (f"primal-dual training must reach Safety_D ≥ Safety_min = {fmt(s_min, 4)} with KKT residuals within "
               f"tolerance (primal, slackness ≤ {tol:g}, stationarity ≤ {stationarity_tol:g} relative), got "
               f"{outcome}: Safety_D = {fmt(kkt['safety'], 4)}, μ = {fmt(mu, 4)}, residuals stationarity "
               f"{fmt(kkt['stationarity_rel'])} (relative), slackness {fmt(kkt['complementary_slackness'])}, primal "
               f"{fmt(kkt['primal_feasibility'])}, dual {fmt(kkt['dual_feasibility'])}; L_KD = {fmt(l_kd, 5)} "
               f"(unconstrained {fmt(nx.objective(theta_kd, prob.features, q, prob.l2), 5)}, S_KD = {fmt(s_kd, 4)}, "
               f"S_reach = {fmt(s_reach, 4)})")
        if infeasible_reason:
            msg = f"Safety_min must be attainable, got infeasible: {infeasible_reason}; " + msg
        step = max(1, len(mus) // 60)
        est = {"outcome": outcome, "feasible": infeasible_reason is None, "converged": outcome == "converged",
               "safety_min": s_min, "safety": kkt["safety"], "mu": mu, "kkt": kkt, "loss_kd": l_kd,
               "loss_kd_unconstrained": nx.objective(theta_kd, prob.features, q, prob.l2), "safety_kd": s_kd,
               "safety_reach": s_reach, "mu_history": mus[::step].tolist(), "safety_history": safeties[::step].tolist(),
               "outer": outer, "inner": inner, "operator": getattr(op_, "name", "uniform"),
               "problem": prob.summary()}
        return make_result("dynamics.safety_constrained", "pass" if outcome == "converged" else "fail", msg, est,
                           reproduce=rep, seed=seed, samples=outer * inner)

    res = guarded("dynamics.safety_constrained", body, reproduce=rep, seed=seed)
    return res, (out[0] if out else None)


def pareto_points(prob: KDProblem, weights: np.ndarray, mus: Any, theta0: np.ndarray | None = None,
                  steps: int = 1500) -> list[dict[str, float]]:
    """(μ, L_KD, Safety_D) of the Lagrangian minimizer for each μ (float64 measurements)."""
    q = nx.ensemble(prob.teacher_probs, weights)
    mus = [float(m) for m in mus]
    ths = tr.lagrangian_minimize(prob.features, prob.teacher_logits, weights, prob.labels, prob.critical_samples,
                                 mus, l2=prob.l2, theta0=theta0, steps=steps)
    out = []
    for mu, th in zip(mus, ths):
        th = th.astype(np.float64)
        if mu == 0.0 and theta0 is not None:
            th = np.asarray(theta0, dtype=np.float64)  # μ = 0: the exact KD optimum
        out.append({"mu": float(mu), "loss_kd": nx.objective(th, prob.features, q, prob.l2),
                    "safety": _student_safety(th, prob)})
    return out


def check_pareto_frontier(op: Any = None, *, problem: KDProblem | None = None, mus: Any = DEFAULT_MUS,
                          tol: float = 1e-4, seed: int = 0, quick: bool = False):
    """Thm VIII.5: the minimizers of L_KD − μ·Safety_D over μ ≥ 0 trace the Pareto frontier.

    For each μ in `mus` the Lagrangian L_KD + λ/2‖θ‖² − μ·Safety_D is minimized
    (full-batch Adam from θ*_G); its (L_KD, Safety_D) point is recorded.  For
    exact minimizers both coordinates are non-decreasing in μ and no point
    dominates another.

    Pass rule: Safety_D and L_KD are non-decreasing in μ and no point is
    dominated (strictly better in one coordinate, not worse in the other),
    each within `tol`.  Violations (a non-convex Safety_D in θ, or inexact
    minimization) are listed.
    """
    rep = reproduce_for("dynamics.pareto_frontier", op, seed, quick)

    def body():
        op_, target, prob = _prepare(op, problem, seed, quick)
        w = weights_for(target, prob)
        _, theta_kd, _ = solve(prob, w.values, spectrum=False)
        mus_ = [float(m) for m in mus]
        pts = pareto_points(prob, w.values, mus_, theta_kd, steps=800 if quick else 1500)
        issues = []
        for a, b in zip(pts, pts[1:]):
            if b["safety"] < a["safety"] - tol:
                issues.append(f"Safety_D falls from {fmt(a['safety'], 5)} at μ = {a['mu']:g} to {fmt(b['safety'], 5)} at μ = {b['mu']:g}")
            if b["loss_kd"] < a["loss_kd"] - tol:
                issues.append(f"L_KD falls from {fmt(a['loss_kd'], 5)} at μ = {a['mu']:g} to {fmt(b['loss_kd'], 5)} at μ = {b['mu']:g}")
        for a in pts:
            for b in pts:
                if (b["loss_kd"] <= a["loss_kd"] and b["safety"] >= a["safety"]
                        and (b["loss_kd"] < a["loss_kd"] - tol or b["safety"] > a["safety"] + tol)):
                    issues.append(f"the point at μ = {a['mu']:g} is dominated by the one at μ = {b['mu']:g}")
        ok = not issues
        msg = (f"the Lagrangian minimizers over μ ∈ {mus_} must trace a monotone, non-dominated (L_KD, Safety_D) "
               f"frontier within {tol:g}, got " + ("; ".join(issues[:4]) if issues else
                                                   f"L_KD {fmt(pts[0]['loss_kd'], 5)} → {fmt(pts[-1]['loss_kd'], 5)}, "
                                                   f"Safety_D {fmt(pts[0]['safety'], 4)} → {fmt(pts[-1]['safety'], 4)}"))
        est = {"points": pts, "issues": issues, "tol": tol, "operator": getattr(op_, "name", "uniform"),
               "problem": prob.summary()}
        return make_result("dynamics.pareto_frontier", "pass" if ok else "fail", msg, est, reproduce=rep,
                           seed=seed, samples=len(pts))

    return guarded("dynamics.pareto_frontier", body, reproduce=rep, seed=seed)


def _has_context_safety(op: Any) -> bool:
    comps = getattr(op, "components", ()) or ((op,) if op is not None else ())
    return any(getattr(c, "safety", None) is not None and c.safety.contexts is not None for c in comps)


def check_safety_preservation(op: Any = None, *, problem: KDProblem | None = None, theta: np.ndarray | None = None,
                              tol: float = 1e-9, seed: int = 0, quick: bool = False):
    """Cor. VIII.7: at convergence, the student's expected safety on safety-critical contexts is at
    least the weighted ensemble's there.

    The student is θ*_G (the converged KD student; pass `theta` to check another).
    On the samples in C_safe, compares E[Safety(p_θ; y*)] with E[Safety(q; y*)]
    for the operator's ensemble q, overall and per safety-critical class, and
    lists where the student falls short.  The corollary assumes a context
    operator satisfying III.22: without a declared context-level safety order
    the result is `skipped` (the numbers are still measured and reported).

    Pass rule: student safety ≥ ensemble safety − `tol` on C_safe.  With an ℓ2
    term (or any student that does not fit q exactly) this can fail: the
    Jensen argument of the corollary's sketch does not give a lower bound —
    a student that matches q has *equal* safety, one that underfits can have less.
    """
    rep = reproduce_for("dynamics.safety_preservation", op, seed, quick)

    def body():
        op_, target, prob = _prepare(op, problem, seed, quick)
        w = weights_for(target, prob)
        q = nx.ensemble(prob.teacher_probs, w.values)
        th = theta if theta is not None else solve(prob, w.values, spectrum=False)[1]
        p = nx.softmax(prob.features @ th)
        mask = prob.critical_context
        s_student = expected_safety(p, prob.labels, prob.critical_classes, mask)
        s_ens = expected_safety(q, prob.labels, prob.critical_classes, mask)
        rows = []
        for c in prob.critical_classes:
            m = mask & (prob.labels == c)
            if m.any():
                rows.append({"class": int(c), "samples": int(m.sum()),
                             "student": float(np.mean(p[m, c])), "ensemble": float(np.mean(q[m, c]))})
        short = [r for r in rows if r["student"] < r["ensemble"] - tol]
        outside = {"student": expected_safety(p, prob.labels, prob.critical_classes, ~mask),
                   "ensemble": expected_safety(q, prob.labels, prob.critical_classes, ~mask)}
        holds = bool(s_student >= s_ens - tol)
        where = "; ".join(f"class {r['class']}: {fmt(r['student'], 4)} < {fmt(r['ensemble'], 4)}" for r in short)
        msg = (f"the student's expected safety on safety-critical contexts must be ≥ the weighted ensemble's, got "
               f"{fmt(s_student, 5)} vs {fmt(s_ens, 5)} on {int(mask.sum())} samples in C_safe"
               + (f" (falls short on {where})" if short else ""))
        premise = _has_context_safety(op_)
        status = ("pass" if holds else "fail") if premise else "skipped"
        if not premise:
            msg = ("not applicable: Cor. VIII.7 assumes a context operator with a declared safety order (III.22), "
                   "and this operator declares none; measured anyway: " + msg)
        est = {"holds": holds, "student_safety": s_student, "ensemble_safety": s_ens,
               "deficit": s_ens - s_student, "per_class": rows, "short_classes": [r["class"] for r in short],
               "outside_critical_contexts": outside, "critical_context_samples": int(mask.sum()),
               "premise_context_safety": premise, "operator": getattr(op_, "name", "uniform"),
               "problem": prob.summary()}
        return make_result("dynamics.safety_preservation", status, msg, est, reproduce=rep, seed=seed,
                           samples=int(mask.sum()))

    return guarded("dynamics.safety_preservation", body, reproduce=rep, seed=seed)
