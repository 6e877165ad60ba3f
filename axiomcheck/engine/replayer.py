"""Running a saved counterexample's check again, on the saved input alone.

`replay(op, case)` runs the one check a `replay.SavedCase` names (read from the .npz
by `axiomcheck.report.replay_case.read_case`) with no sweep and no search: a value check,
determinism or the K = 1 family on the saved sample, batch independence on the
saved batch, regularity by bisecting the saved segment again.  `verify(op,
replay=path)` and `axiomcheck verify NAME --replay FILE.npz` call it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..checks.base import NO_PARAMS
from ..checks.registry import PROPERTY_CHECKS
from ..errors import SpecError
from ..report.replay_case import SavedCase
from ..report.results import Report
from ..sampling.domains import Family
from ..spec.operator import Operator
from ..spec.worlds import World
from .settings import DEFAULT_TIMEOUT, Settings
from .verifier import Verifier


class Replayer(Verifier):
    """A verifier of one check whose only input is the saved one."""

    feeding = False

    def __init__(self, op: Operator, world: World, settings: Settings, axiom: str, params: Any,
                 arrays: dict[str, np.ndarray]):
        super().__init__(op, world, settings, [axiom], params=params)
        self.arrays = arrays

    def _args(self, prefix: str) -> tuple[np.ndarray, ...] | None:
        names = self.subject.domain.arg_names
        if not all(f"{prefix}/{n}" in self.arrays for n in names):
            return None
        return tuple(self.arrays[f"{prefix}/{n}"] for n in names)

    def families(self) -> list[Any]:
        batch = self._args("batch")
        if batch is not None:  # in 16-sample families, so the mixed batch is this batch again
            n = batch[0].shape[0]
            return [Family("replay", tuple(a[i:i + 16] for a in batch)) for i in range(0, n, 16)]
        one = self._args("start") or self._args("input")
        if one is None:
            raise SpecError(f"the saved counterexample has no arrays for the inputs {self.subject.domain.arg_names} "
                            f"of {self.subject.op.name!r} (it holds {sorted(self.arrays)})")
        return [Family("replay", one)]

    def checks(self) -> None:
        """The check's replay of its own saved inputs (`Check.replay`: a regularity segment), else the
        check run on the saved input as the one sweep batch."""
        check = PROPERTY_CHECKS[self.catalogue[0].property]
        if not check.replay(self.subject, self.evidence, self._args):
            super().checks()


def replay(op: Operator, case: SavedCase, *, timeout: float | None = None, isolate: bool = False) -> Report:
    """A `Report` with the one result of `case`'s check on `op`, run on the saved input alone.

    The world, seed, tolerance and parameter set are the case's; `timeout` and
    `isolate` are this run's.
    """
    settings = Settings(seed=case.seed, max_examples=0, sweep_size=2, tolerance=case.tolerance, shrink=False,
                        timeout=DEFAULT_TIMEOUT if timeout is None else timeout, isolate=isolate)
    params = NO_PARAMS if case.params_label is None else case.params
    report = Replayer(op, case.world, settings, case.axiom, params, case.arrays).run()
    results = tuple(dataclasses.replace(r, message=f"replay of {case.name}: {r.message}") for r in report.results)
    return dataclasses.replace(report, results=results)
