"""How hard and how exactly to look: the `Settings` of one verification run."""

from __future__ import annotations

import dataclasses
import math

from ..sampling.budget import DEFAULT_BATCH_BYTES, timeout_problem

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
        timeout: the per-call limit in seconds, at most `budget.MAX_TIMEOUT` (one day); None: wait for ever.
        shrink: whether failed value checks are shrunk to a small counterexample.
        regularity_pairs: how many segments the regularity bisection measures.
        isolate: run the operator in a worker process, killed on a timeout or crash.
        batch_bytes: the byte budget of one batch (inputs and weights, as float64); at a large
            vocabulary it sets the samples per sweep family (see `axiomcheck.sampling.budget`).
        max_time: a time budget in seconds for the whole run (None: none); a check it cuts
            short says how much it got in its result.
    """

    seed: int = 0
    max_examples: int = DEFAULT_MAX_EXAMPLES
    sweep_size: int = DEFAULT_SWEEP_SIZE
    tolerance: float | None = None
    timeout: float | None = DEFAULT_TIMEOUT
    shrink: bool = True
    regularity_pairs: int = 256
    isolate: bool = False
    batch_bytes: int = DEFAULT_BATCH_BYTES
    max_time: float | None = None

    def __post_init__(self) -> None:
        if self.max_examples < 0 or self.sweep_size < 2:
            raise ValueError(f"max_examples must be ≥ 0 and sweep_size ≥ 2, got {self.max_examples}, {self.sweep_size}")
        if self.tolerance is not None and not (self.tolerance >= 0 and math.isfinite(self.tolerance)):
            raise ValueError(f"tolerance must be a finite number ≥ 0, got {self.tolerance!r}")
        if self.timeout is not None and timeout_problem(self.timeout) is not None:
            raise ValueError(f"timeout {timeout_problem(self.timeout)} (or None: no limit)")
        if self.max_time is not None and not (self.max_time > 0 and math.isfinite(self.max_time)):
            raise ValueError(f"max_time must be a finite number of seconds > 0, or None, got {self.max_time!r}")
        if not (isinstance(self.batch_bytes, int) and self.batch_bytes > 0):
            raise ValueError(f"batch_bytes must be an integer > 0, got {self.batch_bytes!r}")
