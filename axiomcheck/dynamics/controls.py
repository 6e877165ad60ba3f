"""Negative controls: settings that break a premise of a guarantee, where the check must fail.

Each control names the premise it breaks; `negative_controls()` runs them all
and records whether the check indeed failed.  The same constructions back the
failing half of `tests/test_dynamics.py`.

>>> import numpy as np
>>> w = contrarian_operator(1000.0).fn(np.array([[[0.9, 0.1], [0.2, 0.8]]]), np.zeros((1, 1)))
>>> w.shape, float(w[0, 0, 0]) < 1e-100
((1, 2, 2), True)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..report.repro import for_control
from ..report.results import Result
from ..spec.decorators import task_operator, token_operator
from ..spec.operator import Operator
from .convergence import check_convergence, check_estimation_noise, check_uniform_special_case
from .problem import KDProblem, realizable_problem, resolve_operator
from .safety import check_pareto_frontier, check_safety_constrained, check_safety_preservation
from .stability import check_contraction, check_gradient_variance, check_perturbation_robustness

__all__ = ["contrarian_operator", "hard_task_operator", "vanishing_operator", "tie_task_losses", "rotation_map", "expansion_map",
           "negative_controls", "CONTROL_NAMES"]


def contrarian_operator(beta: float) -> Operator:
    """Per-token weights w_kv ∝ exp(−β·p_kv): on each token, trust the teacher that gives it the least mass.

    Bounded for finite β, but w_min → 0 as β grows; then Σ_v Σ_k w_kv p_kv (the
    ensemble's normalizer) can approach 0 and the renormalized ensemble — hence
    the student's optimum — becomes very sensitive to the weights.
    """

    def contrarian(probs, context):
        z = -beta * np.asarray(probs, dtype=np.float64)
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    return token_operator(contrarian, name=f"contrarian_{beta:g}", register=False)


def hard_task_operator() -> Operator:
    """Hard selection (discontinuous, A2 fails): 0.6 to the teacher with the lowest loss on the task, the rest shared."""

    def hard(losses, sizes):
        ell = np.asarray(losses, dtype=np.float64)
        k = ell.shape[2]
        best = np.argmin(ell, axis=2)
        w = np.full(ell.shape, 0.4 / max(k - 1, 1))
        np.put_along_axis(w, best[..., None], 0.6, axis=2)
        return w

    return task_operator(hard, name="hard_task_selection", bounds=(0.4 / 3, 0.6), register=False)


def tie_task_losses(problem: KDProblem, a: int = 0, b: int = 1) -> KDProblem:
    """The same problem with teachers a and b tied for the best validation loss on every task."""
    ell = np.array(problem.task_losses, dtype=np.float64)
    best = ell.min(axis=1) * 0.9
    ell[:, a] = best
    ell[:, b] = best
    return problem.replace(task_losses=ell)


def rotation_map(w: np.ndarray) -> np.ndarray:
    """T(w) = w shifted by one teacher: an isometry (ρ = 1) whose iterates cycle."""
    return np.roll(np.asarray(w, dtype=np.float64), 1, axis=0)


def expansion_map(w: np.ndarray, factor: float = 2.0, lo: float = 0.05) -> np.ndarray:
    """T(w) = u + factor·(w − u) projected back to weights: expands distances (ρ = factor) until clipping stops it."""
    w = np.asarray(w, dtype=np.float64)
    u = np.full_like(w, 1.0 / w.shape[0])
    v = np.clip(u + factor * (w - u), lo, 1.0)
    return v / v.sum(axis=0, keepdims=True)


CONTROL_NAMES = ("constant_step", "small_step", "non_uniform_path", "rotation", "expansion", "contrarian_weights",
                 "vanishing_weights", "variance_counterexample", "discontinuous_noise", "infeasible_safety",
                 "negative_multiplier", "underfit_student")


def vanishing_operator(beta: float = 5000.0) -> Operator:
    """w_k ∝ exp(−β·H(p_k)/log V) with β so large that all but the most confident teacher underflow to 0."""

    def vanishing(probs, context):
        p = np.clip(np.asarray(probs, dtype=np.float64), 1e-300, 1.0)
        h = -(p * np.log(p)).sum(axis=2) / np.log(max(p.shape[2], 2))
        z = -beta * h
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    return token_operator(vanishing, name=f"vanishing_{beta:g}", register=False)


def negative_controls(op: Any = "entropy_exp", *, context_op: Any = "ordinal_safety", seed: int = 0,
                      quick: bool = True, n: int = 192, progress: Callable[[str], None] | None = None,
                      only: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Run every control (or those in `only`); each entry: name, the premise broken, the expected status
    ("fail"), the status obtained, whether that is as expected, and the result.

    `op` is the operator most controls run on; `context_op` one with a declared
    context safety order (for Cor. VIII.7, which assumes III.22); `n` the
    number of samples of the realizable problems."""
    say = progress or (lambda _m: None)
    op = resolve_operator(op)
    prob = realizable_problem(op, seed=seed, n=n)
    contrarian = contrarian_operator(1000.0)
    hard = hard_task_operator()
    vanishing = vanishing_operator()
    ctx_op = resolve_operator(context_op)
    runs: list[tuple[str, str, Callable[[], Result]]] = [
        ("constant_step", "Robbins–Monro step sizes (Σ η_t² < ∞): constant η_t = η0",
         lambda: check_convergence(op, problem=prob, schedule="constant", seed=seed, quick=quick)),
        ("small_step", "η0·μ > 1/2 (implicit in Thm VI.2(iii)): η0 = 0.1/μ gives rate t^(−0.2)",
         lambda: check_convergence(op, problem=prob, eta0=0.1 / prob.l2, seed=seed, quick=quick)),
        ("non_uniform_path", "uniform weights (Prop VI.6): the path run with entropy-based weights instead",
         lambda: check_uniform_special_case(op, problem=prob, seed=seed, quick=quick)),
        ("rotation", "a contractive update (ρ < 1): T rotates the teachers' weights (ρ = 1)",
         lambda: check_contraction(rotation_map, teachers=prob.teachers, seed=seed)),
        ("expansion", "a contractive update (ρ < 1): T doubles distances to uniform until clipped",
         lambda: check_contraction(expansion_map, np.array([0.3, 0.25, 0.25, 0.2]), seed=seed)),
        ("contrarian_weights", "bounded weights with w_min > 0 (A1): per-token weights with w_min → 0 (β = 1000; "
                               "λ = 1e-4)",
         lambda: check_perturbation_robustness(contrarian, problem=realizable_problem(contrarian, seed=seed, n=n,
                                                                                      l2=1e-4),
                                               seed=seed, quick=True)),
        ("vanishing_weights", "w_min > 0 (A1): weights that underflow to 0, so (w_max/w_min)² = ∞",
         lambda: check_gradient_variance(vanishing, problem=realizable_problem(vanishing, seed=seed, n=n), seed=seed)),
        ("variance_counterexample", "σ²_base > 0 away from the uniform fit: θ*_uniform of a problem the uniform "
                                    "ensemble nearly realizes (λ = 1e-6)",
         lambda: check_gradient_variance(op, problem=realizable_problem(None, seed=seed, n=n, l2=1e-6),
                                         points=("uniform_optimum",), seed=seed)),
        ("discontinuous_noise", "Lipschitz weights (A2): hard task selection at a tie, noise on its inputs",
         lambda: check_estimation_noise(hard, problem=tie_task_losses(realizable_problem(hard, seed=seed, n=n)),
                                        noise_on="inputs", seed=seed, quick=True)),
        ("infeasible_safety", "a feasible Safety_min (Slater): Safety_min = 1 with safety-critical samples",
         lambda: check_safety_constrained(op, problem=prob, safety_min=1.0, seed=seed, quick=quick)),
        ("negative_multiplier", "dual feasibility μ ≥ 0 (Thm VIII.5–VIII.6): the sweep includes μ < 0",
         lambda: check_pareto_frontier(op, problem=prob, mus=(-3.0, -1.0, 0.0, 1.0, 3.0), seed=seed, quick=True)),
        ("underfit_student", "a student that matches the ensemble (Thm VI.2(ii)): strong ℓ2 (λ = 0.3) keeps it "
                             "far from q",
         lambda: check_safety_preservation(ctx_op, problem=realizable_problem(ctx_op, seed=seed, n=n, l2=0.3),
                                           seed=seed)),
    ]
    out = []
    for name, premise, run in runs:
        if only is not None and name not in only:
            continue
        say(f"control: {name}")
        r = run()
        r = r.with_reproduction(for_control(op.name, name, seed))
        out.append({"name": name, "premise_broken": premise, "expected": "fail", "status": r.status,
                    "as_expected": r.status == "fail", "result": r.to_dict()})
    return out
