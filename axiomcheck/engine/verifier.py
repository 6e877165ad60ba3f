"""The verifier: runs the selected checks in order and hands the evidence to `assemble`.

When no sweep batch can be evaluated because of a shape error, `diagnose` looks
for the world size the operator seems to need, and that becomes the run's error.

It only orchestrates: the sweep evaluates seeded family batches; the value checks
read every batch; determinism, batch independence, K = 1, regularity and Pareto
make calls of their own; the Hypothesis search looks further; each failed value
check is shrunk to a small counterexample.  Calls go through the subject's
guards, findings go into `Evidence`, and nothing here edits a finding afterwards.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import repro
from ..axioms import for_scale
from ..calling import OperatorMisbehaved
from ..checks import CHECKS, Evaluated, Pointwise, SingleTeacher, Subject
from ..checks.base import NO_PARAMS
from ..domains import World
from ..evidence import Evidence
from ..inputs import keyword_inputs
from ..operator import Operator
from ..params import param_sets
from ..results import Report
from ..scales import SCALES
from . import diagnose, search
from .assemble import result, spec_of
from .settings import Settings


def derived_of(op: Operator, world: World) -> dict[str, Any]:
    """What a composition can promise (its derived bounds), when it says."""
    hook = getattr(op.fn, "derived_bounds", None)
    if callable(hook):
        try:
            return dict(hook(world.teachers))
        except Exception:  # noqa: BLE001 - a courtesy of compose(); the checks stand without it
            return {}
    return {}


class Verifier:
    """Every applicable check of the catalogue for one operator in one world."""

    def __init__(self, op: Operator, world: World, settings: Settings, axioms: Sequence[str] | None = None,
                 params: Any = NO_PARAMS):
        self.settings = settings
        self.catalogue = [a for a in for_scale(op.scale) if axioms is None or a.id in axioms]
        self.derived = derived_of(op, world)
        self.subject = Subject(op=op, world=world, scale=SCALES[op.scale], seed=settings.seed,
                               tolerance=settings.tolerance, timeout=settings.timeout, isolate=settings.isolate,
                               ids={a.property: a.id for a in self.catalogue}, bounds=op.bounds,
                               regularity_pairs=settings.regularity_pairs,
                               keywords=keyword_inputs(op.fn, op.scale), params=params)
        if op.bounds is None and self.derived.get("bounds"):
            self.subject.bounds = tuple(self.derived["bounds"])
            self.subject.bounds_origin = "derived from the components' declared bounds"
        self.evidence = Evidence([a.id for a in self.catalogue])
        self.evaluated: list[Evaluated] = []

    def sweep(self) -> None:
        """Evaluate every sweep family batch (the value checks read them afterwards)."""
        s, ev = self.subject, self.evidence
        rng = np.random.default_rng(self.settings.seed)
        first_error: str | None = None
        first: tuple[OperatorMisbehaved, str] | None = None
        for fam in s.domain.sweep(rng, s.world, self.settings.sweep_size):
            where = f"sweep family {fam.name!r}"
            try:
                w = s.call(fam.args)
            except OperatorMisbehaved as exc:
                msg = s.misbehaved(exc, fam.args, where)
                first_error = first_error or msg
                first = first or (exc, fam.name)
                if exc.kind in ("shape", "dtype"):
                    ev.fail(s.id("shape"), msg)
                else:
                    ev.fail_all(msg)
                if s.op_dead:
                    break
                continue
            s.dtype = w.dtype if s.dtype is None else s.dtype
            ev.count(s.id("shape"), fam.size)
            self.evaluated.append(Evaluated(fam, w, s.domain.canonical(w)))
        if not self.evaluated:
            ev.fatal = first_error or "could not be evaluated on any sweep batch"
            need = diagnose.needed_world(s, *first) if first is not None else None
            if need is not None:  # one clear lead instead of the same broadcast error on every check
                ev.fatal = f"{need.advice}; with {need.field}={need.current}: {first_error}"
                ev.fatal_brief = need.brief

    def checks(self) -> None:
        """Every selected check that applies, in catalogue order; then the K = 1 family."""
        s = self.subject
        for a in self.catalogue:
            check = CHECKS[a.property]
            if check.applies(s) is None and not (s.op_dead and not isinstance(check, Pointwise)):
                check.run(s, self.evidence, self.evaluated)
        k1 = SingleTeacher()
        if k1.applies(s) is None and not s.op_dead:
            k1.run(s, self.evidence, self.evaluated)

    def shrink_failures(self) -> None:
        ev = self.evidence
        for a in self.catalogue:
            if isinstance(CHECKS[a.property], Pointwise) and ev.found(a.id) and not self.subject.op_dead:
                small = search.shrink(self.subject, a.id, self.settings.max_examples)
                if small is not None and small.replaces(ev[a.id].finding):
                    ev[a.id].finding = small

    def run(self) -> Report:
        start = time.perf_counter()
        s, ev = self.subject, self.evidence
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore", RuntimeWarning)
                self.sweep()
                if not ev.fatal:
                    self.checks()
                    if self.settings.max_examples and not s.op_dead:
                        search.explore(s, ev, self.settings.max_examples)
                    if self.settings.shrink:
                        self.shrink_failures()
                if s.op_dead:
                    ev.fail_all(f"not run: the operator {s.op_dead}")
        finally:
            s.close()
        lead = self.catalogue[0].id if self.catalogue else None
        results = [result(s, ev, a.id, repro.for_verify(s.op, s.world, self.settings, a.id), lead)
                   for a in self.catalogue]
        return Report(operator=s.op.name, scale=s.op.scale, results=tuple(results), seed=self.settings.seed,
                      world=dataclasses.asdict(s.world), spec=spec_of(s.op, s), derived=self.derived,
                      elapsed_s=time.perf_counter() - start)


def check_operator(op: Operator, world: World, settings: Settings, axioms: Sequence[str] | None = None) -> Report:
    """`Verifier(...).run()`, once per declared parameter set of a learned operator, merged into one report.

    Per check the worst status over the sets wins (error, then fail, then pass,
    then skipped), and its message and counterexample name the set it came from.
    """
    sets = param_sets(op, settings.seed)
    if not sets:
        return Verifier(op, world, settings, axioms).run()
    reports = [(label, Verifier(op, world, settings, axioms, params=value).run()) for label, value in sets]
    rank = {"error": 0, "fail": 1, "pass": 2, "skipped": 3}
    merged = []
    for i in range(len(reports[0][1].results)):
        # the worst status; among passes, the largest measured Lipschitz estimate (the weakest set)
        label, worst = min(((lab, rep.results[i]) for lab, rep in reports),
                           key=lambda lr: (rank[lr[1].status], -_lipschitz(lr[1])))
        if worst.status in ("fail", "error"):
            ce = dict(worst.counterexample or {}, params=label) if worst.counterexample is not None else None
            merged.append(dataclasses.replace(worst, message=f"with {label}: {worst.message}", counterexample=ce))
        else:
            merged.append(dataclasses.replace(
                worst, message=f"{worst.message} (for each of {len(sets)} parameter sets)",
                samples=sum(rep.results[i].samples for _, rep in reports)))
    head = reports[0][1]
    return dataclasses.replace(head, results=tuple(merged), elapsed_s=sum(r.elapsed_s for _, r in reports))


def _lipschitz(r: Any) -> float:
    est = r.estimate
    value = getattr(est, "lipschitz_lower_bound", None) if est is not None else None
    return float(value) if isinstance(value, (int, float)) else 0.0
