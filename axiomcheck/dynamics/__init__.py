"""Training-time checks of the paper's guarantees (§§VI–VIII) for any weighting operator.

Each `check_*` function trains a linear softmax student on a KD problem with the
JAX kernels and returns an `axiomcheck.Result` (plain data: a `dynamics.*` id,
the paper reference, pass / fail / error / skipped, a "must be X, got Y"
message, the measured numbers in `estimate`, and a command that reruns it).
Its pass rule is stated in its docstring.

    from axiomcheck.dynamics import run_checks, check_convergence
    results = run_checks("entropy_exp", quick=True)     # every check, as dicts
    r = check_convergence(my_operator)                   # one check, a Result

`run_demo(out_dir)` runs the checks and the real-data (digits) experiment and
writes `dynamics.json` and a self-contained `dynamics.html`.  Command line:
`python -m axiomcheck.dynamics --operator NAME_OR_module:attr --out reports/`.
optax (primal-dual and teacher training), scikit-learn (the digits) and
matplotlib (figures) are imported only by the parts that need them.
"""

from ._common import CHECKS
from .checks import CHECK_NAMES, run_check_results, run_checks
from .controls import CONTROL_NAMES, contrarian_operator, hard_task_operator, negative_controls
from .convergence import check_convergence, check_estimation_noise, check_uniform_special_case
from .demo import run_demo
from .digits import run_digits
from .digits_data import DigitsConfig
from .digits_operators import make_operators
from .digits_world import build_world
from .problem import (
    KDProblem,
    Weights,
    WeightsError,
    realizable_problem,
    resolve_operator,
    synthetic_world,
    uniform_like,
    weights_for,
)
from .safety import (
    check_pareto_frontier,
    check_safety_constrained,
    check_safety_preservation,
    expected_safety,
    kkt_residuals,
    safety_measure,
)
from .stability import (
    agreement_map,
    check_contraction,
    check_gradient_variance,
    check_perturbation_robustness,
    damped_map,
)
from .toy import appendix_a, appendix_a_table

__all__ = [
    "CHECKS",
    "CHECK_NAMES",
    "CONTROL_NAMES",
    "DigitsConfig",
    "KDProblem",
    "Weights",
    "WeightsError",
    "agreement_map",
    "appendix_a",
    "appendix_a_table",
    "build_world",
    "check_contraction",
    "check_convergence",
    "check_estimation_noise",
    "check_gradient_variance",
    "check_pareto_frontier",
    "check_perturbation_robustness",
    "check_safety_constrained",
    "check_safety_preservation",
    "check_uniform_special_case",
    "contrarian_operator",
    "damped_map",
    "expected_safety",
    "hard_task_operator",
    "kkt_residuals",
    "make_operators",
    "negative_controls",
    "realizable_problem",
    "resolve_operator",
    "run_check_results",
    "run_checks",
    "run_demo",
    "run_digits",
    "safety_measure",
    "synthetic_world",
    "uniform_like",
    "weights_for",
]
