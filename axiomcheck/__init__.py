"""axiomcheck: check that teacher-weighting operators for multi-teacher knowledge
distillation satisfy the axioms of adaptive weighting, and keep them so in CI.

The public surface is re-exported here; everything else is an implementation detail.
"""

from typing import Any

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


def print_report(report: Report, stream: Any = None, *, fancy: bool | None = None) -> None:
    """Show a `Report` from `verify()` as a table (rich on a terminal, plain text elsewhere).

    Args:
        report: the `Report` to show.
        stream: where to write (default: standard output).
        fancy: force rich (True) or plain text (False); by default decided from the stream.
    """
    from .output.text import print_report as show

    show(report, stream, fancy=fancy)


def torch_guard(op: Any, teachers: int | None = None, *, tolerance: float | None = None, device: Any = None,
                operator: str | None = None, compile: bool = False) -> Any:
    """The weight guard for a PyTorch training loop: checks, in every step, the weights the loss receives.

    Args:
        op: the operator whose weights are guarded: an `Operator` (its declared bounds, or for a
            composition the bounds derived from its components, and its token safety order), a
            registered operator's name, or a `axiomcheck.kernels.GuardSpec`.
        teachers: K, the number of teachers the weights hold (not needed with a `GuardSpec`).
        tolerance: the absolute tolerance (None: 8 ulps of the weights' dtype times K, as `verify` uses).
        device: where the state starts (the first `update` moves it to its weights' device).
        operator: the name the report gives (default: the operator's).
        compile: run the guard's work in each update as one `torch.compile`d function (fused), for an
            eager loop with large per-token weights; it compiles once per dtype and shape.

    Returns:
        A `TorchGuard`: `update(weights, step=None, positions=None)` in each training step
        (no host synchronisation; compiles with `torch.compile(fullgraph=True)`), then
        `results()` (the `runtime.*` `Result`s of the JAX guard), `report()` and `reset()`.

    Raises:
        ImportError: PyTorch is not installed (`pip install 'axiomcheck[torch]'`).
    """
    try:
        from .guard.torch_guard import torch_guard as make
    except ImportError as exc:
        if exc.name != "torch":
            raise
        raise ImportError("axiomcheck.torch_guard needs PyTorch, which is not installed: "
                          "pip install 'axiomcheck[torch]'") from exc
    return make(op, teachers, tolerance=tolerance, device=device, operator=operator, compile=compile)


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
    "importance_operator",
    "task_operator",
    "token_operator",
    "torch_guard",
    "unregister",
    "verify",
    "verify_ensemble",
]
