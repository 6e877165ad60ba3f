"""axiomcheck: check that teacher-weighting operators for multi-teacher knowledge
distillation satisfy the axioms of adaptive weighting, and keep them so in CI.

The public surface is re-exported here; everything else is an implementation detail.
"""

from .axioms import AXIOMS, Axiom, explain
from .compose import compose, derived_bounds
from .domains import World
from .engine import Settings, verify
from .ensemble import verify_ensemble
from .operator import (
    Operator,
    Safety,
    SpecError,
    context_operator,
    get,
    operators,
    register,
    task_operator,
    token_operator,
    unregister,
)
from .render import print_report
from .report import Report, Result

__version__ = "0.1.0"

__all__ = [
    "AXIOMS",
    "Axiom",
    "Operator",
    "Report",
    "Result",
    "Safety",
    "Settings",
    "SpecError",
    "World",
    "__version__",
    "compose",
    "derived_bounds",
    "context_operator",
    "explain",
    "get",
    "operators",
    "print_report",
    "register",
    "task_operator",
    "token_operator",
    "unregister",
    "verify",
    "verify_ensemble",
]
