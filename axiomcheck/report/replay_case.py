"""Reading a saved counterexample (`axiomcheck.report.saved`) back as the case to replay.

`read_case(op, path)` reads the .npz written beside the reports and checks that
it fits `op`: the check it names is one of `op`'s scale, its parameter set is
one `op` declares.  The engine runs that one check again on the saved input
alone (`engine.replayer`; `verify(op, replay=path)`, `axiomcheck verify NAME
--replay FILE.npz`): an operator that still violates it gives the same status,
a fixed one passes.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from ..axioms import AXIOMS
from ..errors import SpecError
from ..spec.operator import Operator
from ..spec.params import param_sets
from ..spec.worlds import World, fields
from .saved import load


@dataclasses.dataclass(frozen=True)
class SavedCase:
    """One saved counterexample: the check, and the world, seed, tolerance and parameter set it was found with."""

    name: str  # the file's name, shown in the replayed result's message
    axiom: str
    world: World
    seed: int
    tolerance: float | None
    params_label: str | None
    params: Any
    arrays: dict[str, np.ndarray]


def read_case(op: Operator, path: str | Path) -> SavedCase:
    """The case saved in `path`, checked against `op` (a `SpecError` says what does not fit)."""
    meta, arrays = load(path)
    axiom = meta.get("axiom")
    if axiom not in AXIOMS or AXIOMS[axiom].scale != op.scale:
        raise SpecError(f"--replay {path}: the file replays {axiom!r}, which is not a check of the {op.scale}-scale "
                        f"operator {op.name!r}")
    world = World(**{k: int(v) for k, v in meta["world"].items() if k in fields()})
    seed = int(meta.get("seed") or 0)
    params: Any = None
    label = meta.get("params")
    if label is not None:
        sets = dict(param_sets(op, seed))
        if label not in sets:
            raise SpecError(f"--replay {path}: the counterexample was found {label}, which {op.name!r} does not "
                            f"declare (it declares {', '.join(sets) or 'none'})")
        params = sets[label]
    return SavedCase(name=Path(path).name, axiom=axiom, world=world, seed=seed, tolerance=meta.get("tolerance"),
                params_label=label, params=params, arrays=arrays)
