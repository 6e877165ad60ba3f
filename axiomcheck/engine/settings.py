"""How hard and how exactly to look: the `Settings` of one verification run."""

from __future__ import annotations

import dataclasses
import math

DEFAULT_MAX_EXAMPLES = 100
DEFAULT_SWEEP_SIZE = 256
DEFAULT_TIMEOUT = 10.0


@dataclasses.dataclass(frozen=True)
class Settings:
    """How hard and how exactly to look. Every field has a sensible default.

    Args:
        seed: seed of the sweep and the search; the same seed gives the same report.
        max_examples: the Hypothesis search budget (0: no search).
        sweep_size: samples drawn per sweep family.
        tolerance: absolute tolerance of the sum and bound checks (None: dtype-aware).
        timeout: the per-call limit in seconds (None: wait for ever).
        shrink: whether failed value checks are shrunk to a small counterexample.
        regularity_pairs: how many segments the regularity bisection measures.
        isolate: run the operator in a worker process, killed on a timeout or crash.
    """

    seed: int = 0
    max_examples: int = DEFAULT_MAX_EXAMPLES
    sweep_size: int = DEFAULT_SWEEP_SIZE
    tolerance: float | None = None
    timeout: float | None = DEFAULT_TIMEOUT
    shrink: bool = True
    regularity_pairs: int = 256
    isolate: bool = False

    def __post_init__(self) -> None:
        if self.max_examples < 0 or self.sweep_size < 2:
            raise ValueError(f"max_examples must be ≥ 0 and sweep_size ≥ 2, got {self.max_examples}, {self.sweep_size}")
        if self.tolerance is not None and not (self.tolerance >= 0 and math.isfinite(self.tolerance)):
            raise ValueError(f"tolerance must be a finite number ≥ 0, got {self.tolerance!r}")
        if self.timeout is not None and not (self.timeout > 0 and math.isfinite(self.timeout)):
            raise ValueError(f"timeout must be a finite number of seconds > 0, or None, got {self.timeout!r}")
