"""Replaying a saved counterexample (`axiomcheck.saved`) to the same status.

`replay(op, path)` — or `verify(op, replay=path)`, or `axiomcheck verify NAME
--replay FILE.npz` — runs that one check on the saved input alone, with no
sweep and no search: a value check, determinism or the K = 1 family on the
saved sample, batch independence on the saved batch, regularity by bisecting
the saved segment again.  An operator that still violates the check gives the
same status; a fixed one passes.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from .domains import Family, World
from .engine.settings import Settings
from .engine.verifier import Verifier
from .errors import SpecError
from .operator import Operator
from .params import param_sets
from .results import Report
from .saved import load


class _Replayer(Verifier):
    """A verifier of one check whose only input is the saved one."""

    single_teacher = False

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
        start, end = self._args("start"), self._args("end")
        a = self.catalogue[0]
        if a.property == "regularity" and start is not None and end is not None:
            from .checks import CHECKS

            CHECKS["regularity"].measure(self.subject, self.evidence, start, end)  # type: ignore[attr-defined]
            return
        super().checks()


def replay(op: Operator, path: str | Path, *, timeout: float | None = None, isolate: bool = False) -> Report:
    """Run the check saved in `path` on `op`, on the saved input alone; a `Report` with that one result.

    The world, seed, tolerance and parameter set come from the file; `timeout`
    and `isolate` are this run's.
    """
    from .engine.settings import DEFAULT_TIMEOUT

    meta, arrays = load(path)
    axiom = meta.get("axiom")
    from .axioms import AXIOMS

    if axiom not in AXIOMS or AXIOMS[axiom].scale != op.scale:
        raise SpecError(f"--replay {path}: the file replays {axiom!r}, which is not a check of the {op.scale}-scale "
                        f"operator {op.name!r}")
    world = World(**{k: int(v) for k, v in meta["world"].items() if k in {f.name for f in dataclasses.fields(World)}})
    seed = int(meta.get("seed") or 0)
    params: Any = None
    label = meta.get("params")
    if label is not None:
        sets = dict(param_sets(op, seed))
        if label not in sets:
            raise SpecError(f"--replay {path}: the counterexample was found {label}, which {op.name!r} does not "
                            f"declare (it declares {', '.join(sets) or 'none'})")
        params = sets[label]
    settings = Settings(seed=seed, max_examples=0, sweep_size=2, tolerance=meta.get("tolerance"), shrink=False,
                        timeout=DEFAULT_TIMEOUT if timeout is None else timeout, isolate=isolate)
    from .checks.base import NO_PARAMS

    report = _Replayer(op, world, settings, axiom, NO_PARAMS if label is None else params, arrays).run()
    name = Path(path).name
    results = tuple(dataclasses.replace(r, message=f"replay of {name}: {r.message}") for r in report.results)
    return dataclasses.replace(report, results=results)
