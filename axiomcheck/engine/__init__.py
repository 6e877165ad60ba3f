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

from ..axioms import AXIOMS
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
    """
    op = resolve(op_or_name)
    world = world_for(op.world, {"teachers": teachers, "vocab": vocab, "context_dim": context_dim, "tasks": tasks,
                                 "features": features, "history": history})
    settings = Settings(seed=seed, max_examples=max_examples, sweep_size=sweep_size, tolerance=tolerance,
                        timeout=timeout, shrink=shrink, isolate=isolate)
    if axioms is not None:
        unknown = [a for a in axioms if a not in AXIOMS]
        if unknown:
            raise KeyError(f"unknown axiom id(s) {unknown}; see axiomcheck.AXIOMS")
    return check_operator(op, world, settings, axioms)


__all__ = ["DEFAULT_MAX_EXAMPLES", "DEFAULT_SWEEP_SIZE", "DEFAULT_TIMEOUT", "Guard", "OperatorMisbehaved", "Settings",
           "Verifier", "verify"]
