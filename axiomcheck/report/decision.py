"""Evidence → `Result`: the one place a status, a message and a paper reference are decided.

Every result axiomcheck reports is built here: the engine's sampled checks
(`engine.assemble` reads each check's evidence and calls `decide`), the checks
of the ensemble G, the weight guard's `runtime.*` results and the training-time
checks (`dynamics.*`, which judge their own measurements and call `stated`).
For one check id, what was seen is given in slots, and the first that holds
decides, in this order:

1. `fatal`: nothing could be checked at all → `error`, "could not be checked: <fatal>";
2. `failure`: a violation was found → `fail`, with its counterexample (an
   `error` seen beside it is noted in the message);
3. `error`: this check could not be run or judged → `error`;
4. `skip`: the check does not apply → `skipped`, with the reason;
5. otherwise → `pass`, with `passed`: what was measured.

A time budget that cut the check short (`cut`) is said after the message; a check
it never ran that would have passed is `skipped` with that reason instead.  A
check that counts its samples (`needs_samples`) never passes on none.

The paper reference always comes from the catalogue (`axiomcheck.axioms`), so an
id no catalogue row names cannot become a result.

>>> decide("context.positivity", failure="w_k must be > 0, got -1", error="it also raised").message
'w_k must be > 0, got -1 (also: it also raised)'
>>> decide("ensemble.convexity", skip="per-token weights", passed="holds").status
'skipped'
>>> stated("runtime.bounds", "pass", "held").paper_ref
'III.3'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..axioms import lookup
from .repro import Reproduction
from .results import Result

#: The message of a check that would pass on no evidence at all (`decide(..., needs_samples=True)`).
NO_SAMPLES = "cannot be judged: no sampled input reached this check"
#: Which slot of `decide` a status given by the check itself fills (`stated`).
SLOTS = {"fail": "failure", "error": "error", "skipped": "skip", "pass": "passed"}


def decide(axiom: str, *, fatal: str | None = None, failure: str | None = None, error: str | None = None,
           skip: str | None = None, passed: str | Callable[[], str] | None = None, cut: str | None = None,
           needs_samples: bool = False, counterexample: dict[str, Any] | None = None,
           arrays: dict[str, Any] | None = None, estimate: Any = None, reproduce: str | Reproduction | None = None,
           seed: int | None = None, samples: int = 0) -> Result:
    """The `Result` of check `axiom` from what was seen (see the module's order of precedence).

    `passed` may be a function, called only when the check passes.  `cut` says what a time
    budget took from the check: one it never ran ("not run ...") that would have passed is
    `skipped` with that reason, any other result says it after its message, so a check cut
    short never passes silently.  With `needs_samples`, a check that would pass on 0
    `samples` is an `error` instead: nothing seen is not "holds".  `counterexample` and
    `arrays` belong to a failure and are kept with one only; `estimate`, `reproduce`, `seed`
    and `samples` are kept whatever the status.  `reproduce` is how to run the check again: a
    `Reproduction` record (kept as the result's `reproduction`, its line rendered from it) or a line.
    """
    status, message = _status(axiom, fatal, failure, error, skip, passed)
    if cut and cut.startswith("not run") and status == "pass":
        status, message = "skipped", cut
    else:
        if needs_samples and status == "pass" and samples == 0:
            status, message = "error", NO_SAMPLES
        if cut:
            message = f"{message}; {cut}"
    found = status == "fail"
    record = reproduce if isinstance(reproduce, Reproduction) else None
    return Result(axiom=axiom, paper_ref=lookup(axiom).paper_ref, status=status, message=message,
                  counterexample=counterexample if found else None, arrays=arrays if found else None,
                  estimate=estimate, reproduce=None if record is not None else reproduce, reproduction=record,
                  seed=seed, samples=int(samples))


def _status(axiom: str, fatal: str | None, failure: str | None, error: str | None, skip: str | None,
            passed: str | Callable[[], str] | None) -> tuple[str, str]:
    """The status and message the first slot that holds gives."""
    if fatal:
        return "error", f"could not be checked: {fatal}"
    if failure:
        return "fail", failure + (f" (also: {error})" if error else "")
    if error:
        return "error", error
    if skip:
        return "skipped", skip
    if passed is None:
        raise ValueError(f"{axiom}: a check that passed must say what it measured (passed=...)")
    return "pass", passed() if callable(passed) else passed


def stated(axiom: str, status: str, message: str, **fields: Any) -> Result:
    """The `Result` of a check that judged its own measurements: `status` names the slot of `decide`
    that `message` fills; `fields` are the other keywords of `decide`."""
    if status not in SLOTS:
        raise ValueError(f"status must be one of {tuple(SLOTS)}, got {status!r}")
    return decide(axiom, **{SLOTS[status]: message}, **fields)
