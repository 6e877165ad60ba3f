"""The verification engine: a vectorized sweep, then a Hypothesis search, over guarded calls.

`verify(op)` draws seeded batches from every sweep family of the operator's
scale, calls the operator once per batch (through `axiomcheck.calling.sandbox`'s sandbox:
copies in and out, a time limit, optional process isolation), and checks every
property of the catalogue on whole arrays (`axiomcheck.checks`).  A Hypothesis
search over small batches then steers toward the worst violation, and each
failed value check is shrunk to a small counterexample.  What was seen is kept
as typed evidence (`axiomcheck.checks.evidence`) and turned into results in one place
(`engine.assemble`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..axioms import AXIOMS
from ..calling.sandbox import OperatorMisbehaved, Sandbox
from ..library.lookup import resolve
from ..report.replay_case import read_case
from ..report.results import Report
from ..sampling.budget import DEFAULT_BATCH_BYTES, ProgressHook
from ..spec import worlds
from ..spec.operator import Operator
from .replayer import replay as replay_case
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
    certify: bool = False,
    domain: Mapping[str, Sequence[float]] | None = None,
    certify_gap: float | None = None,
    certify_time: float | None = None,
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
    with the world, seed and tolerance it was found with (`axiomcheck.report.replay_case`,
    `engine.replayer`).
    `progress(phase, done, total)` is called as the run advances.

    `certify=True` adds certified verdicts (`certify()` says more): after the
    sampled checks, each check the certifier can speak about gets a
    `Certificate` on its `Result`, proved or refuted on a stated input domain,
    and the report says which of the paper's assumptions that proves
    (`Report.assumptions`).  `domain` gives input boxes over the ones the
    operator declares (`{"context": (-10, 10)}`), `certify_gap` the relative gap
    at which the certifier stops refining (default 0.1), `certify_time` its time
    budget in seconds.  They apply only with `certify=True`.
    """
    given = worlds.picked(locals())  # one keyword per `World` size (tests/test_worlds.py checks the signature)
    op = resolve(op_or_name)
    request = _certify_request(op, certify, domain, certify_gap, certify_time)
    if replay is not None:
        if request is not None:
            raise ValueError("certify=True does not combine with replay=: a replay runs one saved input again")
        return replay_case(op, read_case(op, replay), timeout=timeout, isolate=isolate)
    world = worlds.world_for(op.world, given)
    settings = Settings(seed=seed, max_examples=max_examples, sweep_size=sweep_size, tolerance=tolerance,
                        timeout=timeout, shrink=shrink, isolate=isolate, max_time=max_time,
                        batch_bytes=batch_bytes)
    if axioms is not None:
        unknown = [a for a in axioms if a not in AXIOMS]
        if unknown:
            raise KeyError(f"unknown axiom id(s) {unknown}; see axiomcheck.AXIOMS")
    report = check_operator(op, world, settings, axioms, progress=progress)
    if request is not None:
        from .certified import certified

        report = certified(report, op, world, request, tolerance)
    return report


def certify(op_or_name: Operator | str, **kwargs: Any) -> Report:
    """`verify(op, certify=True, ...)`: the sampled checks, then certified verdicts beside them.

    Each check the certifier can speak about (finite, positivity, bounds,
    normalization, safety on a box, regularity) gets a `Certificate` on its
    `Result`: `proved` on the whole stated input domain, `refuted` with a
    concrete input that violates it, or `unknown` with the reason.  The sampled
    `status` stays what it was: a sampled failure is a failure whatever the
    certifier says, and a proof beside it is withdrawn.  Regularity shows the
    sampled lower bound beside the certified upper bound of the Lipschitz
    constant, `L ∈ [sampled, certified]`.  `Report.assumptions` says which of
    the paper's assumptions on the weights (A1 bounds, A2 Lipschitz) are
    proved and which results that makes apply.

    Args:
        op_or_name: what `verify` takes: an `Operator`, a registered name or a
            `module:attr` reference.
        **kwargs: every keyword of `verify`; `domain={"context": (-10, 10)}` gives
            input boxes over the operator's own (`domain=` on its decorator),
            `certify_gap` (default 0.1) and `certify_time` bound the certifier's
            refinement.
    """
    kwargs.pop("certify", None)
    return verify(op_or_name, certify=True, **kwargs)


def _certify_request(op: Operator, certify: bool, domain: Any, gap: float | None, max_time: float | None) -> Any:
    """The `certified.Request` of a call (None without certify=True); a bad value is refused before any check runs."""
    if not certify:
        given = [k for k, v in (("domain", domain), ("certify_gap", gap), ("certify_time", max_time)) if v is not None]
        if given:
            raise ValueError(f"{', '.join(given)} {'applies' if len(given) == 1 else 'apply'} to certified checks: pass certify=True (or call ac.certify)")
        return None
    from ..spec import boxes
    from .certified import DEFAULT_GAP, Request

    request = Request(domain=domain or {}, gap=DEFAULT_GAP if gap is None else gap, max_time=max_time)
    extra = boxes.unused(request.domain, op.takes())
    if extra:
        raise ValueError(f"domain bounds input(s) {extra} that {op.name!r} ({op.scale} scale) does not take; "
                         f"it takes {', '.join(op.takes())}")
    return request


__all__ = ["DEFAULT_MAX_EXAMPLES", "DEFAULT_SWEEP_SIZE", "DEFAULT_TIMEOUT", "OperatorMisbehaved", "Sandbox", "Settings",
           "Verifier", "certify", "verify"]
