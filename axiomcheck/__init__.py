"""axiomcheck: check that teacher-weighting operators for multi-teacher knowledge
distillation satisfy the axioms of adaptive weighting, and keep them so in CI.

The public surface is re-exported here; everything else is an implementation detail.
"""

from typing import Any

from .axioms import AXIOMS, Axiom, explain
from .certify.region import region
from .compose import compose, derived_bounds
from .domains import World
from .engine import Settings, verify
from .ensemble import verify_ensemble
from .errors import SpecError
from .operator import (
    Operator,
    Safety,
    context_operator,
    importance_operator,
    task_operator,
    token_operator,
)
from .registry import get, operators, register, unregister
from .results import Report, Result

__version__ = "0.1.0"


def print_report(report: Report, stream: Any = None, *, fancy: bool | None = None) -> None:
    """Show a `Report` from `verify()` as a table (rich on a terminal, plain text elsewhere).

    Args:
        report: the `Report` to show.
        stream: where to write (default: standard output).
        fancy: force rich (True) or plain text (False); by default decided from the stream.
    """
    from .output.text import print_report as show

    show(report, stream, fancy=fancy)


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
    "region",
    "register",
    "importance_operator",
    "task_operator",
    "token_operator",
    "unregister",
    "verify",
    "verify_ensemble",
]
