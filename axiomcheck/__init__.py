"""axiomcheck: check that teacher-weighting operators for multi-teacher knowledge
distillation satisfy the axioms of adaptive weighting, and keep them so in CI.

The public surface is re-exported here; everything else is an implementation detail.
Each public name is imported when it is first used (PEP 562), so `import axiomcheck`
— and the pytest plugin, which every pytest session of a project with axiomcheck
installed loads — costs almost nothing until something is checked.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

#: The module each public name lives in (a submodule of this package).
_HOMES = {
    "AXIOMS": "axioms", "Axiom": "axioms", "explain": "axioms",
    "compose": "spec.compose", "derived_bounds": "spec.compose",
    "World": "spec.worlds",
    "Settings": "engine", "certify": "engine", "verify": "engine",
    "verify_ensemble": "engine.ensemble",
    "SpecError": "errors",
    "Operator": "spec.operator", "Safety": "spec.operator", "context_operator": "spec.decorators",
    "importance_operator": "spec.decorators", "task_operator": "spec.decorators", "token_operator": "spec.decorators",
    "get": "library.lookup", "operators": "library.lookup", "register": "spec.registry", "unregister": "spec.registry",
    "Report": "report.results", "Result": "report.results", "Certificate": "report.certificate",
    "region": "certifier.region",
}


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
    "Certificate",
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
    "region",
    "register",
    "importance_operator",
    "task_operator",
    "token_operator",
    "torch_guard",
    "unregister",
    "verify",
    "verify_ensemble",
]


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use; a submodule read as an attribute
    (`axiomcheck.kernels`, `axiomcheck.dynamics`)."""
    home = _HOMES.get(name)
    if home is not None:
        value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
        globals()[name] = value
        return value
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # what a type checker sees: the names as if imported here
    from .axioms import AXIOMS, Axiom, explain
    from .certifier.region import region
    from .engine import Settings, certify, verify
    from .engine.ensemble import verify_ensemble
    from .errors import SpecError
    from .library.lookup import get, operators
    from .report.certificate import Certificate
    from .report.results import Report, Result
    from .spec.compose import compose, derived_bounds
    from .spec.decorators import (
        context_operator,
        importance_operator,
        task_operator,
        token_operator,
    )
    from .spec.operator import Operator, Safety
    from .spec.registry import register, unregister
    from .spec.worlds import World
