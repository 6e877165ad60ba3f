"""The suite model: a `Suite` of resolved `SuiteItem`s, as the loader builds them."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

from ..errors import SpecError, TargetError
from ..spec.operator import Operator


def compose_targets(ops: Sequence[Operator]) -> Operator:
    """`ac.compose(*ops)`; a `TargetError` when composition is not available."""
    try:
        from ..spec.compose import compose
    except ImportError as exc:
        raise TargetError(f"composition needs axiomcheck.spec.compose, which cannot be imported: {exc}") from None
    try:
        return compose(*ops)
    except SpecError as exc:
        raise TargetError(f"cannot compose {[op.name for op in ops]}: {exc}") from None


@dataclasses.dataclass(frozen=True)
class SuiteItem:
    """One operator of a suite, resolved, with its world, axioms and expectations."""

    id: str
    operator: Operator
    source: str | tuple[str, ...]  # the reference as written, or the composed references
    world: dict[str, int]
    axioms: tuple[str, ...]
    expect: dict[str, str]  # every axiom of `axioms` -> "pass" | "fail" | "error" | "skipped"
    seed: int | None = None  # None: not set by the suite (the run's defaults apply)
    max_examples: int | None = None
    tolerance: float | None = None
    timeout: float | None = None
    isolate: bool | None = None  # None: not set (the command line decides; default off)
    certify: bool | None = None  # None: not set (the command line decides; default off)
    certify_gap: float | None = None
    certify_time: float | None = None
    domain: dict[str, tuple[float, float]] = dataclasses.field(default_factory=dict)  # boxes for certified checks
    description: str = ""
    spec_overrides: dict[str, Any] = dataclasses.field(default_factory=dict)
    line: int | None = None

    @property
    def is_plain(self) -> bool:
        """Reproducible with `axiomcheck verify SOURCE` alone (no overrides, no composition)."""
        return (isinstance(self.source, str) and not self.spec_overrides and self.tolerance is None
                and self.timeout is None and ".py:" not in self.source)


@dataclasses.dataclass(frozen=True)
class Suite:
    name: str
    path: str
    items: tuple[SuiteItem, ...]
    description: str = ""

    def select(self, ids: Iterable[str]) -> Suite:
        wanted = set(ids)
        return dataclasses.replace(self, items=tuple(i for i in self.items if i.id in wanted))


