"""axiomcheck: check that teacher-weighting operators for multi-teacher knowledge
distillation satisfy the axioms of adaptive weighting, and keep them so in CI.

The public surface is re-exported here; everything else is an implementation detail.
"""

from typing import TYPE_CHECKING, Any

from .axioms import AXIOMS, Axiom, explain
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


def __getattr__(name: str) -> Any:
    """`axiomcheck.certify`, imported when first used (`verify()` without certificates never loads it)."""
    if name == "certify":
        import importlib

        return importlib.import_module(".certify", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:  # what a type checker sees: the call (at run time the package, made callable, is the call)
    from .engine import certify as certify


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
    "certify",
    "compose",
    "derived_bounds",
    "context_operator",
    "explain",
    "get",
    "operators",
    "print_report",
    "register",
    "importance_operator",
    "task_operator",
    "token_operator",
    "unregister",
    "verify",
    "verify_ensemble",
]
