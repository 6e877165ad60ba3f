"""Reproduce strings: the one place that spells a check's replay as a command or a Python call."""

from __future__ import annotations

from typing import Any

from .domains import World
from .operator import Operator


def target_name(op: Operator) -> str | None:
    """How to name `op` on the command line: its registry name, else `module:attr`, else None."""
    from .operator import _REGISTRY

    if _REGISTRY.get(op.name) is op:
        return op.name
    mod = getattr(op.fn, "__module__", None)
    qual = getattr(op.fn, "__qualname__", "")
    if mod and mod != "__main__" and qual and "<" not in qual:
        return f"{mod}:{qual}"
    return None


def reproduce_command(op: Operator, world: World, settings: Any, axiom: str) -> str:
    """A one-line command that replays `axiom` (a Python call when the operator has no importable name)."""
    target = target_name(op)
    if target is None:
        return (f"ac.verify(op, seed={settings.seed}, max_examples={settings.max_examples}, "
                f"teachers={world.teachers}, vocab={world.vocab}, context_dim={world.context_dim}, "
                f"tasks={world.tasks}, axioms=[{axiom!r}])  # op: the Operator {op.name!r} (no importable name)")
    return (f"axiomcheck verify {target} --seed {settings.seed} --max-examples {settings.max_examples} "
            f"--teachers {world.teachers} --vocab {world.vocab} --context-dim {world.context_dim} "
            f"--tasks {world.tasks} --axioms {axiom}")
