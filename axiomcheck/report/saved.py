"""Counterexample files: a large counterexample's arrays as .npz, with what is needed to replay it.

A counterexample too large to show (see `axiomcheck.report.summary`) keeps its full
arrays on its `Result` (`Result.arrays`).  `to_bytes` / `save` write them as
one `.npz` holding, besides the arrays, a JSON record of the check id, the
world, the seed, the tolerance and the parameter set it was found with; the
report writers put one file per failing check in `counterexamples/` beside the
reports.  `load` reads one back; `axiomcheck.report.replay_case` runs the check again.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SpecError
from .fsio import atomic_write
from .results import Report, Result

#: The key of the JSON metadata inside the .npz.
META = "__meta__"
FORMAT = "axiomcheck.counterexample"


def to_bytes(result: Result, *, operator: str, world: dict[str, Any], seed: int,
             tolerance: float | None = None, run_id: str | None = None) -> bytes:
    """The .npz of a result with arrays: the arrays, and the metadata to replay it (and the run it came from)."""
    if not result.arrays:
        raise ValueError(f"{result.axiom}: this result has no saved arrays (only large counterexamples keep them)")
    ce = result.counterexample or {}
    w = dict(world)
    if str(ce.get("where", "")).startswith("K = 1"):
        w["teachers"] = 1  # found in the K = 1 family
    meta = {"format": FORMAT, "version": 1, "operator": operator, "axiom": result.axiom, "status": result.status,
            "world": w, "seed": seed, "tolerance": tolerance, "params": ce.get("params"),
            "where": ce.get("where"), "message": result.message}
    if run_id is not None:
        meta["run_id"] = run_id
    buf = io.BytesIO()
    np.savez(buf, **{META: np.array(json.dumps(meta))}, **{k: np.asarray(v) for k, v in result.arrays.items()})
    return buf.getvalue()


def save(path: str | Path, result: Result, report: Report, tolerance: float | None = None) -> Path:
    """Write `result`'s counterexample (from `report`) as .npz at `path` (atomically); returns the path."""
    data = to_bytes(result, operator=report.operator, world=report.world, seed=report.seed, tolerance=tolerance)
    path = Path(path)
    atomic_write(path, data)
    return path


def load(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(metadata, arrays) of a saved counterexample; a `SpecError` when the file is not one."""
    if not zipfile.is_zipfile(Path(path)):
        raise SpecError(f"--replay {path}: not a .npz file (write one with `axiomcheck verify ... --output DIR`)")
    try:
        with np.load(Path(path), allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError) as exc:
        raise SpecError(f"--replay {path}: not a readable .npz file ({exc})") from None
    raw = arrays.pop(META, None)
    try:
        meta = json.loads(str(raw)) if raw is not None else {}
    except ValueError:
        meta = {}
    if meta.get("format") != FORMAT:
        raise SpecError(f"--replay {path}: not a counterexample written by axiomcheck (no {FORMAT!r} metadata)")
    return meta, arrays
