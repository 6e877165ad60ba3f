"""`run_checks`: every training-time check on one operator, as plain data.

>>> from axiomcheck.dynamics.checks import CHECK_NAMES
>>> CHECK_NAMES[:3]
('convergence', 'uniform_special_case', 'estimation_noise')
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..report.results import Result
from ._common import CHECKS, error_result, make_result
from .convergence import (
    DEFAULT_L2,
    check_convergence,
    check_estimation_noise,
    check_uniform_special_case,
)
from .problem import KDProblem, WeightsError, realizable_problem, resolve_operator, uniform_like
from .safety import check_pareto_frontier, check_safety_constrained, check_safety_preservation
from .stability import check_contraction, check_gradient_variance, check_perturbation_robustness

__all__ = ["run_checks", "run_check_results", "CHECK_NAMES"]

#: Short names accepted by `run_checks(..., checks=[...])` and the command line's --check.
CHECK_NAMES = tuple(c.split(".", 1)[1] for c in CHECKS)
#: The checks that train with optax (the `dynamics` extra); checked before any of them runs.
NEEDS_OPTAX = ("safety_constrained", "pareto_frontier")


def run_check_results(op: Any, *, seed: int = 0, quick: bool = False, problem: KDProblem | None = None,
                      update_map: Callable[[np.ndarray], np.ndarray] | None = None,
                      checks: Sequence[str] | None = None,
                      progress: Callable[[str], None] | None = None) -> list[Result]:
    """Like `run_checks`, but returns the `Result` records themselves."""
    op = resolve_operator(op)
    wanted = list(checks) if checks is not None else list(CHECK_NAMES)
    unknown = [c for c in wanted if c not in CHECK_NAMES]
    if unknown:
        raise KeyError(f"unknown check(s) {unknown}; known: {list(CHECK_NAMES)}")
    if any(c in NEEDS_OPTAX for c in wanted):
        from ..calling.extras import require

        require("optax", extra="dynamics", purpose=f"the {', '.join(c for c in wanted if c in NEEDS_OPTAX)} check")
    say = progress or (lambda _m: None)
    try:
        prob = problem or realizable_problem(op, seed=seed, n=256 if quick else 512, l2=DEFAULT_L2)
    except WeightsError as exc:  # the operator cannot even set up the problem: every check is an error
        return [error_result("dynamics." + name, exc, seed=seed) for name in wanted]
    kw = {"problem": prob, "seed": seed, "quick": quick}
    runners: dict[str, Callable[[], Result]] = {
        "convergence": lambda: check_convergence(op, **kw),
        # Prop VI.6 is a property of the path: the uniform operator at this operator's scale(s) must give classical KD
        "uniform_special_case": lambda: check_uniform_special_case(uniform_like(op, prob.teachers), **kw),
        "estimation_noise": lambda: check_estimation_noise(op, **kw),
        "contraction": lambda: (check_contraction(update_map, teachers=prob.teachers, seed=seed) if update_map
                                else make_result("dynamics.contraction", "skipped",
                                                 "not applicable: Thm VII.1 is about a weight-update map T, and none "
                                                 "was given (pass update_map=T, e.g. "
                                                 "axiomcheck.dynamics.agreement_map(probs))")),
        "perturbation_robustness": lambda: check_perturbation_robustness(op, **kw),
        "gradient_variance": lambda: check_gradient_variance(op, **kw),
        "safety_constrained": lambda: check_safety_constrained(op, **kw),
        "pareto_frontier": lambda: check_pareto_frontier(op, **kw),
        "safety_preservation": lambda: check_safety_preservation(op, **kw),
    }
    out = []
    for name in wanted:
        say(name)
        out.append(runners[name]())
    return out


def run_checks(op: Any, *, seed: int = 0, quick: bool = False, problem: KDProblem | None = None,
               update_map: Callable[[np.ndarray], np.ndarray] | None = None, checks: Sequence[str] | None = None,
               progress: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Run the training-time checks of paper §§VI–VIII on `op`; one plain dict per check.

    `op`: an `Operator`, a registered name, or "module:attr".  `problem`: the KD
    problem to run on (default: the realizable problem of `op`, 512 samples, or
    256 with `quick`).  `update_map`: a weight-update map T for the contraction
    check (skipped without one).  `checks`: a subset of `CHECK_NAMES`.
    Each dict has `axiom` (a `dynamics.*` id), `paper_ref`, `status`
    (pass / fail / error / skipped), `message`, `estimate` and `reproduce`.
    """
    return [r.to_dict() for r in run_check_results(op, seed=seed, quick=quick, problem=problem,
                                                   update_map=update_map, checks=checks, progress=progress)]
