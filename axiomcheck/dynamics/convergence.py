"""Convergence checks (paper §VI): Thm VI.2, Prop VI.6, Remark VI.4.

Each check trains the linear softmax student of a `KDProblem` with the JAX
kernels and measures in float64 against a high-accuracy solve (damped Newton
to a gradient norm ~1e-11), and returns an `axiomcheck.report.results.Result`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..kernels import GuardSpec
from . import _numerics as nx
from . import _train as tr
from ._common import (
    fmt,
    guarded,
    loglog_fit,
    make_result,
    noise_box,
    perturb,
    reproduce_for,
    zero_sum_direction,
)
from .problem import (
    DEFAULT_L2,
    KDProblem,
    realizable_problem,
    resolve_operator,
    uniform_like,
    weights_for,
)

__all__ = ["check_convergence", "check_uniform_special_case", "check_estimation_noise", "DEFAULT_L2",
           "SLOPE_MAX", "solve"]

#: Pass rule of the convergence check: the fitted log-log slope of the gap must be at most this.
SLOPE_MAX = -0.8


def _prepare(op: Any, problem: KDProblem | None, seed: int, quick: bool):
    op = resolve_operator(op) if op is not None else None
    if problem is None:
        problem = realizable_problem(op, seed=seed, n=256 if quick else 512, l2=DEFAULT_L2)
    target = op if op is not None else uniform_like("context", problem.teachers)
    return op, target, problem


def solve(problem: KDProblem, weights: np.ndarray, theta0: np.ndarray | None = None, *, spectrum: bool = True):
    """(q, θ*, info) for weights on a problem: the ensemble target and the high-accuracy optimum.

    `spectrum` adds the extreme Hessian eigenvalues at θ* (μ and the smoothness) to info."""
    q = nx.ensemble(problem.teacher_probs, weights)
    theta, info = nx.newton_solve(problem.features, q, problem.l2, theta0, spectrum=spectrum)
    return q, theta, info


def _kl(theta: np.ndarray, problem: KDProblem, q: np.ndarray, hq: float) -> float:
    return float(np.mean(nx.cross_entropy(q, problem.features @ theta)) - hq)


def check_convergence(op: Any = None, *, problem: KDProblem | None = None, seeds: int | None = None,
                      steps: int | None = None, batch: int = 8, eta0: float | None = None,
                      schedule: str = "1/t", slope_max: float = SLOPE_MAX, fit_from: float = 0.02,
                      seed: int = 0, quick: bool = False):
    """Thm VI.2: SGD with η_t = η0/(1+t) on L_KD(θ; G) + λ/2‖θ‖² converges at rate O(1/t).

    Runs `seeds` independent minibatch SGD runs (θ_0 = 0, `batch` samples per
    step, `steps` steps) on `problem` (default: the realizable problem of `op`),
    measures the loss gap E[L_t] − L* (mean over seeds; L* from damped Newton in
    float64) and the KL from the ensemble target q to the student at ~40
    log-spaced checkpoints, and fits log(E[L_t] − L*) = a + s·log t over
    t ∈ [fit_from·steps, steps].

    η0 defaults to 1/μ, μ the strong-convexity modulus at θ* (smallest Hessian
    eigenvalue): the classical O(1/t) analysis of SGD needs η0·μ > 1/2, a
    condition Thm VI.2 leaves implicit; with η0·μ < 1/2 the rate is t^(−2η0μ).
    `schedule="constant"` keeps η_t = η0 (violates Robbins–Monro: Σ η_t² = ∞).

    Pass rule: the fit window spans at least a decade of steps, the fitted
    slope s ≤ `slope_max` (default −0.8, i.e. O(1/t) up to the noise of a finite
    number of seeds; steeper is allowed — O(1/t) is an upper bound) and the
    final gap is below the first one.  KL at the end is reported next to its floor KL(q‖p_θ*) > 0 that the ℓ2
    term leaves; it is not part of the rule.
    """
    return _convergence(op, problem=problem, seeds=seeds, steps=steps, batch=batch, eta0=eta0, schedule=schedule,
                        slope_max=slope_max, fit_from=fit_from, seed=seed, quick=quick)[0]


def _convergence(op: Any, *, problem, seeds, steps, batch, eta0, schedule, slope_max, fit_from, seed, quick,
                 guard: bool = False):
    """check_convergence's body; also returns the final iterates [seeds, F, V] (None on error) and,
    with `guard`, `(GuardSpec, GuardState)` of the weights every SGD step's kernel call received
    (the operator's declared spec; the runs' states keep their leading axis), else None."""
    seeds = int(seeds or (5 if quick else 8))
    steps = int(steps or (2000 if quick else 4000))
    if schedule not in ("1/t", "constant"):
        raise ValueError(f"schedule must be '1/t' or 'constant', got {schedule!r}")
    rep = reproduce_for("dynamics.convergence", op, seed, quick)
    finals: list[np.ndarray] = []
    seen: list[tuple[Any, Any]] = []

    def body():
        op_, target, prob = _prepare(op, problem, seed, quick)
        w = weights_for(target, prob)
        q, theta_star, info = solve(prob, w.values)
        hq = float(np.mean(nx.entropy(q)))
        l_star = info["loss"]
        mu = info["mu"]
        e0 = float(eta0) if eta0 is not None else 1.0 / mu
        ck = np.unique(np.geomspace(1, steps, 40).astype(int))
        runs = np.broadcast_to(w.values, (seeds,) + w.values.shape)
        spec = GuardSpec.from_operator(target, prob.teachers) if guard else None
        thetas = tr.sgd_checkpoints(prob.features, prob.teacher_logits, runs, seed * 1000 + np.arange(seeds),
                                    l2=prob.l2, eta0=e0, steps=steps, batch=batch, checkpoints=ck,
                                    constant=schedule == "constant", guard=spec)
        if spec is not None:
            thetas, state = thetas
            seen.append((spec, state))
        finals.append(thetas[:, -1].astype(np.float64))
        gaps = np.array([[nx.objective(thetas[r, c], prob.features, q, prob.l2) - l_star for c in range(len(ck))]
                         for r in range(seeds)])
        kls = np.array([[_kl(thetas[r, c], prob, q, hq) for c in range(len(ck))] for r in range(seeds)])
        mean_gap = gaps.mean(axis=0)
        sel = ck >= max(1, fit_from * steps)
        fit = loglog_fit(ck[sel], mean_gap[sel])
        kl_star = _kl(theta_star, prob, q, hq)
        finite = bool(np.all(np.isfinite(gaps)))
        span = float(steps / max(1, int(ck[sel][0])))
        ok = finite and span >= 10.0 and fit["slope"] <= slope_max and mean_gap[-1] < mean_gap[0]
        sched = "η_t = η0/(1+t)" if schedule == "1/t" else "constant η_t = η0 (not Robbins–Monro)"
        msg = (f"the fitted slope of log(E[L_t] − L*) against log t over t ∈ [{int(ck[sel][0])}, {steps}] must be "
               f"≤ {slope_max} (O(1/t)), got {fmt(fit['slope'])} (R² {fmt(fit['r2'])}) with {sched}, "
               f"η0 = {fmt(e0)} (η0·μ = {fmt(e0 * mu)}), {seeds} seeds; E[L_T] − L* = {fmt(mean_gap[-1])}, "
               f"KL(q‖p_θ) at the end {fmt(kls[:, -1].mean())} (floor at θ*: {fmt(kl_star)})")
        if not finite:
            msg = "the loss gap must stay finite, got a non-finite loss during training; " + msg
        if span < 10.0:
            msg = (f"the fit window must span at least a decade of steps to measure a rate, got t ∈ "
                   f"[{int(ck[sel][0])}, {steps}] ({span:.2g}×); " + msg)
        est = {
            "slope": fit["slope"], "intercept": fit["intercept"], "r2": fit["r2"], "slope_max": slope_max,
            "fit_window": [int(ck[sel][0]), steps], "fit_decades": float(np.log10(span)), "t": ck.tolist(), "gap_mean": mean_gap.tolist(),
            "gap_min": gaps.min(axis=0).tolist(), "gap_max": gaps.max(axis=0).tolist(),
            "kl_mean": kls.mean(axis=0).tolist(), "final_gap": float(mean_gap[-1]),
            "final_kl": float(kls[:, -1].mean()), "kl_at_optimum": kl_star, "loss_star": l_star,
            "eta0": e0, "mu": mu, "smoothness": info["lipschitz"], "eta0_mu": e0 * mu, "schedule": schedule,
            "seeds": seeds, "steps": steps, "batch": batch, "weights_range": [w.lo, w.hi],
            "per_token_weights": w.per_token, "problem": prob.summary(), "operator": getattr(op_, "name", "uniform"),
        }
        return make_result("dynamics.convergence", "pass" if ok else "fail", msg, est, reproduce=rep, seed=seed,
                           samples=seeds * steps * batch)

    res = guarded("dynamics.convergence", body, reproduce=rep, seed=seed)
    return res, (finals[0] if finals else None), (seen[0] if seen else None)


def check_uniform_special_case(op: Any = None, *, problem: KDProblem | None = None, tol: float = 1e-4,
                               temperatures: tuple[float, ...] = (1.0, 2.0, 4.0), seed: int = 0,
                               quick: bool = False):
    """Prop VI.6: with w_k = 1/K the adaptive path is classical (Hinton) KD.

    `op` defaults to the uniform operator composed at all three scales
    (token × task × context).  Its weights go through the same path as any
    operator (`weights_for` → the kernels' KD loss at temperature T with the T²
    factor → JAX gradient steps) and are compared with classical KD computed
    independently in float64: the cross-entropy T²·CE(p̄, softmax(z/T)) to the
    plain mean p̄ = 1/K Σ_k softmax(t_k/T) and its gradient at every temperature,
    and 50 full-batch gradient steps from θ = 0 at the first temperature.

    Pass rule: the largest relative difference (loss, gradient, trajectory) is ≤ `tol` (default 1e-4, float32 kernels).  A
    non-uniform operator fails it: its path is *not* classical KD.
    """
    rep = reproduce_for("dynamics.uniform_special_case", op, seed, quick)

    def body():
        op_ = resolve_operator(op) if op is not None else None
        prob = problem or realizable_problem(None, seed=seed, n=128 if quick else 256, l2=DEFAULT_L2)
        k = prob.teachers
        if op_ is None:
            from ..spec.compose import compose

            op_ = compose(uniform_like("token", k), uniform_like("task", k), uniform_like("context", k),
                          name="uniform(token×task×context)")
        w = weights_for(op_, prob)
        rng = np.random.default_rng(seed)
        thetas = [np.zeros((prob.features.shape[1], prob.vocab))] + [
            0.5 * rng.normal(size=(prob.features.shape[1], prob.vocab)) for _ in range(2)]
        worst: dict[str, float] = {"loss": 0.0, "grad": 0.0, "trajectory": 0.0}
        rows = []
        for temp in temperatures:
            pbar = nx.softmax(prob.teacher_logits / temp).mean(axis=0)  # classical KD target
            for th in thetas:
                z = prob.features @ th
                ref_loss = temp ** 2 * float(np.mean(nx.cross_entropy(pbar, z / temp)))
                ref_grad = temp * prob.features.T @ (nx.softmax(z / temp) - pbar) / prob.size
                val, g = tr.kd_value_and_grad(prob.features, prob.teacher_logits, w.values, th, temperature=temp)
                dl = abs(val - ref_loss) / max(abs(ref_loss), 1e-12)
                dg = float(np.max(np.abs(g - ref_grad)) / max(np.max(np.abs(ref_grad)), 1e-12))
                worst["loss"] = max(worst["loss"], dl)
                worst["grad"] = max(worst["grad"], dg)
            if temp != temperatures[0]:
                rows.append({"temperature": temp})
                continue
            lr = 1.0 / temp
            th_path = tr.gd_path(prob.features, prob.teacher_logits, w.values, steps=50, lr=lr, temperature=temp)
            th_ref = np.zeros_like(thetas[0])
            for _ in range(50):
                z = prob.features @ th_ref
                th_ref = th_ref - lr * temp * prob.features.T @ (nx.softmax(z / temp) - pbar) / prob.size
            dt = float(np.max(np.abs(th_path - th_ref)) / max(np.max(np.abs(th_ref)), 1e-12))
            worst["trajectory"] = max(worst["trajectory"], dt)
            rows.append({"temperature": temp, "trajectory_rel_diff": dt})
        dev = float(np.max(np.abs(w.values - 1.0 / k)))
        diff = max(worst.values())
        ok = diff <= tol
        msg = (f"the path with {op_.name}'s weights must equal classical KD (T²·CE to the mean of the teachers' "
               f"softmax(t/T)) within {tol:g} relative, got max relative difference {fmt(diff)} "
               f"(loss {fmt(worst['loss'])}, gradient {fmt(worst['grad'])}, 50 GD steps {fmt(worst['trajectory'])}) "
               f"at T ∈ {list(temperatures)}; max |w − 1/K| = {fmt(dev)}")
        est = {"max_rel_diff": diff, **{f"{k_}_rel_diff": v for k_, v in worst.items()}, "tolerance": tol,
               "max_weight_deviation_from_uniform": dev, "temperatures": list(temperatures), "per_temperature": rows,
               "operator": op_.name, "problem": prob.summary()}
        return make_result("dynamics.uniform_special_case", "pass" if ok else "fail", msg, est, reproduce=rep,
                           seed=seed, samples=prob.size * len(temperatures))

    return guarded("dynamics.uniform_special_case", body, reproduce=rep, seed=seed)


def _input_noise_weights(op, prob: KDProblem, delta: float, rng: np.random.Generator) -> np.ndarray:
    """Weights the operator computes from noisy inputs (teacher logits, contexts, task losses), δ-scaled."""
    noisy = prob.replace(
        teacher_logits=prob.teacher_logits + delta * rng.normal(size=prob.teacher_logits.shape),
        context=prob.context + delta * rng.normal(size=prob.context.shape),
        task_losses=prob.task_losses * np.exp(delta * rng.normal(size=prob.task_losses.shape)),
    )
    return weights_for(op, noisy).values


def check_estimation_noise(op: Any = None, *, problem: KDProblem | None = None, deltas: Any = None,
                           seeds: int | None = None, steps: int | None = None, batch: int = 8,
                           noise_on: str = "weights", exponent_min: float = 0.9, seed: int = 0,
                           quick: bool = False):
    """Remark VI.4: weight-estimation noise of size δ costs at most O(δ·L) in the final loss.

    `noise_on="weights"` (the remark's setting): a persistent error ε with
    ‖ε‖∞ = δ (zero-sum over teachers) is added to the operator's weights, which
    are then clipped into the A1 box and renormalized (the remark keeps the
    noisy weights within bounds); `noise_on="inputs"`: the operator is re-run
    on noisy inputs (teacher logits and contexts + δ·N(0,1), task losses × e^{δ·N(0,1)}),
    so the weight error is whatever its regularity (A2, constant L) makes of δ.

    For each δ the student is trained on the noisy objective and measured on the
    true one: the limit gap L_w(θ*_w̃) − L*_w (high-accuracy solve: where SGD
    converges to), and the gap of SGD with η_t = η0/(1+t) after `steps` steps
    (mean over `seeds`, reported).  Fit: log(limit gap) = a + e·log δ.

    Pass rule: the noisy weights stay in the A1 box (weights mode) and the gap
    vanishes at least linearly as δ → 0: fitted exponent e ≥ `exponent_min`
    (0.9).  A smooth operator gives e ≈ 2 (the gap is quadratic at a minimum);
    a discontinuous one (L = ∞) at a tie gives e ≈ 0 in inputs mode.
    """
    seeds = int(seeds or (2 if quick else 4))
    steps = int(steps or (2000 if quick else 4000))  # as check_convergence: the compiled loop is shared
    if noise_on not in ("weights", "inputs"):
        raise ValueError(f"noise_on must be 'weights' or 'inputs', got {noise_on!r}")
    rep = reproduce_for("dynamics.estimation_noise", op, seed, quick,
                        **({} if noise_on == "weights" else {"noise_on": noise_on}))

    def body():
        op_, target, prob = _prepare(op, problem, seed, quick)
        w = weights_for(target, prob)
        q, theta_star, info = solve(prob, w.values)
        l_star = info["loss"]
        lo, hi, box_src = noise_box(op_, w, prob.teachers)
        if deltas is None:
            if noise_on == "weights":
                span = max(1e-6, min(0.5 * (hi - lo), 0.2))
                ds = np.geomspace(span / 100.0, span / 2.0, 4 if quick else 6)
            else:
                ds = np.geomspace(1e-4, 1e-1, 4 if quick else 6)
        else:
            ds = np.asarray(deltas, dtype=np.float64)
        noisy, actual, outside = [], [], 0.0
        for d in ds:
            per_seed = []
            for s in range(seeds):
                r = np.random.default_rng([seed, s, 7])
                if noise_on == "weights":
                    eps = zero_sum_direction(w.values.shape, r)
                    wt = perturb(w.values, eps, float(d), lo, hi)
                    outside = max(outside, float(max(lo - wt.min(), wt.max() - hi, 0.0)))
                else:
                    wt = _input_noise_weights(target, prob, float(d), r)
                per_seed.append(wt)
            noisy.append(per_seed)
            actual.append(float(np.max([np.max(np.abs(x - w.values)) for x in per_seed])))
        limit_gaps = []
        for per_seed in noisy:
            g = []
            for wt in per_seed:
                _, th_t, _ = solve(prob, wt, theta_star, spectrum=False)
                g.append(nx.objective(th_t, prob.features, q, prob.l2) - l_star)
            limit_gaps.append(float(np.mean(g)))
        # SGD on the noisy objectives, measured on the true one (δ = 0 first as the reference)
        runs = np.stack([w.values] * seeds + [x for per_seed in noisy for x in per_seed])
        e0 = 1.0 / info["mu"]
        # common random numbers: the same minibatch sequence for every δ, so differences are the noise's
        run_seeds = np.tile(seed * 1000 + np.arange(seeds), len(ds) + 1)
        th_end = tr.sgd_checkpoints(prob.features, prob.teacher_logits, runs, run_seeds,
                                    l2=prob.l2, eta0=e0, steps=steps, batch=batch, checkpoints=[steps])[:, 0]
        sgd_gaps = np.array([nx.objective(t, prob.features, q, prob.l2) - l_star for t in th_end])
        sgd_ref = float(sgd_gaps[:seeds].mean())
        sgd_by_delta = sgd_gaps[seeds:].reshape(len(ds), seeds).mean(axis=1)
        fit = loglog_fit(ds, np.asarray(limit_gaps))
        within = noise_on == "inputs" or outside <= 1e-9
        moved = max(actual) > 0
        ok = within and moved and fit["slope"] >= exponent_min
        where = ("weights (clipped into the A1 box " + f"[{fmt(lo)}, {fmt(hi)}], {box_src})") if noise_on == "weights" \
            else "the operator's inputs"
        msg = (f"the final loss gap must vanish at least linearly in the noise δ on {where} (O(δ·L)), i.e. a fitted "
               f"exponent ≥ {exponent_min}, got {fmt(fit['slope'])}: limit gap {fmt(limit_gaps[0])} at δ = {fmt(ds[0])} "
               f"… {fmt(limit_gaps[-1])} at δ = {fmt(ds[-1])}; SGD after {steps} steps: {fmt(sgd_by_delta[0])} … "
               f"{fmt(sgd_by_delta[-1])} (noise-free {fmt(sgd_ref)})")
        if not within:
            msg = f"noisy weights must stay inside [{fmt(lo)}, {fmt(hi)}] (Remark VI.4), got {fmt(outside)} outside; " + msg
        if not moved:
            msg = (f"the noise must change the weights, got ‖w̃ − w‖∞ = 0: the A1 box [{fmt(lo)}, {fmt(hi)}] "
                   f"({box_src}) leaves no room; " + msg)
        est = {"noise_on": noise_on, "deltas": ds.tolist(), "weight_change": actual, "limit_gap": limit_gaps,
               "sgd_gap": sgd_by_delta.tolist(), "sgd_gap_noise_free": sgd_ref, "exponent": fit["slope"],
               "exponent_r2": fit["r2"], "exponent_min": exponent_min, "box": [lo, hi], "box_source": box_src,
               "outside_box": outside, "gap_per_delta": (np.asarray(limit_gaps) / ds).tolist(),
               "lipschitz_estimate": (np.asarray(actual) / ds).tolist() if noise_on == "inputs" else None,
               "seeds": seeds, "steps": steps, "operator": getattr(op_, "name", "uniform"), "problem": prob.summary()}
        return make_result("dynamics.estimation_noise", "pass" if ok else "fail", msg, est, reproduce=rep, seed=seed,
                           samples=len(runs) * steps * batch)

    return guarded("dynamics.estimation_noise", body, reproduce=rep, seed=seed)
