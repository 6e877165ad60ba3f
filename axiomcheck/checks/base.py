"""What every check shares: the `Check` contract, a sweep batch, the message helpers.

A `Check` is one property (normalization, regularity, ...), like a chex
assertion.  The engine knows a check only through the contract below: what it
declares (`searched`, `calls_operator`, `feeds`, ...) and the hooks it answers
(`applies`, `problem`, `run`, `observe`, `pass_message`, ...); it never asks
which class a check is.  Messages have one shape, "<what> must be X, got Y, at
<input>".  The catalogue row of an axiom names its check by property
(`checks.registry.PROPERTY_CHECKS`); the subject a check reads is
`checks.subject.Subject`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ..calling.sandbox import OperatorMisbehaved
    from ..sampling.domains import Args, Family
    from .evidence import CheckEvidence, Evidence
    from .subject import Subject

#: `Subject.params` when the operator declares no parameters (None is a parameter set like any other).
NO_PARAMS: Any = object()


def fmt(x: float) -> str:
    return f"{x:.6g}"


def count(n: int, noun: str) -> str:
    """`n` and the noun, plural unless n is 1: '1 sampled input', '96 sampled inputs'."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def fmt_w(w: np.ndarray) -> str:
    return "[" + ", ".join(fmt(float(v)) for v in np.asarray(w).ravel()) + "]"


class Evaluated:
    """One sweep batch and the weights the operator returned for it.

    `samples` is the size of the batch the operator was called on; the streaming
    sweep (`engine.streaming`) keeps only a few of them in `family`.
    """

    observed = False  # True when the value checks already read the full batch (see engine.streaming)

    def __init__(self, family: Family, w: np.ndarray | None, W: np.ndarray | None, samples: int | None = None):
        self.family, self.w, self.W = family, w, W
        self.samples = family.size if samples is None else int(samples)


class Check:
    """One property checked for an operator: the contract between a check and the engine.

    What a check declares (class attributes, read by the engine as data):

    - `property`: the property catalogue rows name (`Axiom.property`); its evidence is kept under
      the id of the selected row.
    - `searched`: a value check, one that reads each returned weight vector (`observe`): it reads
      every sweep batch (as it is evaluated, when the byte budget binds), every Hypothesis search
      example (`severity` steers the search), and a failure is shrunk to a small counterexample.
    - `calls_operator`: `run` calls the operator itself (a value check only reads what was
      evaluated).  Such a check is what the time budget stops before it runs, and it does not run
      once the operator hung or crashed.
    - `feeds`: the properties a check with no catalogue row of its own adds evidence to (the
      K = 1 family feeds `finite` and `shape`); it runs after the catalogue's checks when one of
      them is selected.
    - `reads_weights`: `run` reads the weights the sweep returned (the streaming sweep keeps them).
    - `rests_on`: properties whose violation leaves this check's verdict meaningless (regularity
      compares weights, so it rests on determinism); a violation of one makes it "cannot be judged".
    - `failed_means`: what a violation of this check says the operator is, for the checks that
      rest on it ("non-deterministic").
    - `no_samples`: why the check is skipped when no sampled input reached it; empty: that is an
      error ("cannot be judged"), never a pass on no evidence.

    What it answers (methods): `applies` (or why it is skipped), `problem` (a declaration it cannot
    check in this world: an error), `run`, `observe` and `severity` (value checks), `owns` (the
    operator failures that are its own error rather than every check's), `skipped` (what it says
    when it does not apply), `replay` (a saved counterexample's own inputs), `pass_message`.
    """

    property: str = ""
    searched: bool = False
    calls_operator: bool = True
    feeds: tuple[str, ...] = ()
    reads_weights: bool = False
    rests_on: tuple[str, ...] = ()
    failed_means: str = ""
    no_samples: str = ""

    def applies(self, subject: Subject) -> str | None:
        """None when the check can run, else the reason it is skipped (reported as its verdict)."""
        return None

    def problem(self, subject: Subject) -> str | None:
        """Why what the operator declares for this check cannot be checked in this world (an error), or None."""
        return None

    def run(self, subject: Subject, ev: Evidence, evaluated: list[Evaluated]) -> None:
        """Add to the evidence: read the evaluated sweep batches, call the operator through `subject.call`."""
        raise NotImplementedError

    def observe(self, subject: Subject, ev: Evidence, args: Args, w: np.ndarray, W: np.ndarray, where: str,
                source: str) -> None:
        """A value check reads one evaluated batch (`W` in the canonical layout) from `source`
        ("sweep", "search" or "shrink")."""
        raise NotImplementedError

    def severity(self, subject: Subject, W: np.ndarray) -> float | None:
        """How far the worst finite row is past the limit, for `hypothesis.target` (None: not targeted)."""
        return None

    def owns(self, exc: OperatorMisbehaved) -> bool:
        """Whether an operator failure is this check's own error (a wrong shape is the shape check's),
        rather than an error of every check."""
        return False

    def skipped(self, subject: Subject, ev: Evidence, reason: str) -> None:
        """Record what a check that does not apply says beside other verdicts (nothing, by default:
        a check with a row of its own is reported `skipped` with `reason`)."""
        return None

    def replay(self, subject: Subject, ev: Evidence, saved: Callable[[str], Args | None]) -> bool:
        """Run on a saved counterexample's own inputs (`saved(prefix)`: the arrays saved under a prefix,
        or None), when the check has inputs of its own to replay; False to replay it on the saved
        input as a sweep batch."""
        return False

    def pass_message(self, subject: Subject, evidence: CheckEvidence) -> str:
        """What was measured, said when the check passes."""
        return f"holds on {count(evidence.samples, 'sampled input')}"
