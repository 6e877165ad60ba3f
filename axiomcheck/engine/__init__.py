"""The verification engine: a vectorized sweep, then a Hypothesis search, over guarded calls.

`verify(op)` draws seeded batches from every sweep family of the operator's
scale, calls the operator once per batch (through `axiomcheck.calling`'s guard:
copies in and out, a time limit, optional process isolation), and checks every
property of the catalogue on whole arrays (`axiomcheck.checks`).  A Hypothesis
search over small batches then steers toward the worst violation, and each
failed value check is shrunk to a small counterexample.  What was seen is kept
as typed evidence (`axiomcheck.evidence`) and turned into results in one place
(`engine.assemble`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..axioms import AXIOMS
from ..budget import DEFAULT_BATCH_BYTES, ProgressHook
from ..calling import Guard, OperatorMisbehaved
from ..operator import Operator
from ..registry import resolve
from ..results import Report
from ..worlds import world_for
from .settings import DEFAULT_MAX_EXAMPLES, DEFAULT_SWEEP_SIZE, DEFAULT_TIMEOUT, Settings
from .verifier import Verifier, check_operator


def verify(
    op_or_name: Operator | str,
    *,
    teachers: int | None = None,
    vocab: int | None = None,
    context_dim: int | None = None,
    tasks: int | None = None,
    features: int | None = None,
    history: int | None = None,
    seed: int = 0,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    sweep_size: int = DEFAULT_SWEEP_SIZE,
    tolerance: float | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    axioms: Sequence[str] | None = None,
    shrink: bool = True,
    isolate: bool = False,
    max_time: float | None = None,
    batch_bytes: int = DEFAULT_BATCH_BYTES,
    replay: str | Path | None = None,
    progress: ProgressHook | None = None,
) -> Report:
    """Check one operator against every check of its scale; always returns a full `Report`.

    `op_or_name` is an `Operator`, a registered name, `module:attr` or `path/file.py:attr`.

    `teachers`, `vocab`, `context_dim` and `tasks` set the world sampled in
    (declared bounds and safety orders are read for that K); `features` and
    `history` size the `features` and `history` keyword inputs an operator may
    name; a size not given is the one the operator declares (`world=` on its
    decorator), else the `World` default (K = 4, V = 16, D = 3, M = 3, F = 8,
    H = 2).  A learned operator is checked once per declared parameter set.  The same `seed`
    gives the same report.  `max_examples` is the Hypothesis search budget per
    operator (0 turns the search off); `sweep_size` the number of samples drawn
    per sweep family; `shrink` whether failed value checks are shrunk to a small
    counterexample.  `tolerance` overrides the dtype-aware default; `timeout` is
    the per-call limit in seconds; `isolate=True` runs the operator in a worker
    process, killed on a timeout, so a crash or hang is reported and the run goes
    on; `axioms` restricts the run to some ids.

    `max_time` bounds the whole run in seconds: a check it cuts short says how
    much it got of what it asked (and one it never reached is `skipped`), never
    a silent pass.  `batch_bytes` is the byte budget of one batch, which sizes
    the sweep at a large vocabulary.  `replay` is a counterexample saved as
    .npz with the reports: the one check it names is run on that input alone,
    with the world, seed and tolerance it was found with (`axiomcheck.replay`).
    `progress(phase, done, total)` is called as the run advances.
    """
    op = resolve(op_or_name)
    if replay is not None:
        from ..replay import replay as replay_file

        return replay_file(op, replay, timeout=timeout, isolate=isolate)
    world = world_for(op.world, {"teachers": teachers, "vocab": vocab, "context_dim": context_dim, "tasks": tasks,
                                 "features": features, "history": history})
    settings = Settings(seed=seed, max_examples=max_examples, sweep_size=sweep_size, tolerance=tolerance,
                        timeout=timeout, shrink=shrink, isolate=isolate, max_time=max_time,
                        batch_bytes=batch_bytes)
    if axioms is not None:
        unknown = [a for a in axioms if a not in AXIOMS]
        if unknown:
            raise KeyError(f"unknown axiom id(s) {unknown}; see axiomcheck.AXIOMS")
    return check_operator(op, world, settings, axioms, progress=progress)


__all__ = ["DEFAULT_MAX_EXAMPLES", "DEFAULT_SWEEP_SIZE", "DEFAULT_TIMEOUT", "Guard", "OperatorMisbehaved", "Settings",
           "Verifier", "verify"]
