"""The verifier: runs the selected checks in order and hands the evidence to `assemble`.

When no sweep batch can be evaluated because of a shape error, `diagnose` looks
for the world size the operator seems to need, and that becomes the run's error.

It only orchestrates: the sweep evaluates seeded family batches; the value checks
(`Check.searched`) read every batch; the other checks run in catalogue order, then
the checks that feed them (`FEEDING_CHECKS`, the K = 1 family); the Hypothesis
search looks further; each failed value check is shrunk to a small counterexample.
It reads a check only through `checks.base.Check`'s contract, never by its class.
Calls go through the subject's sandboxes, findings go into `Evidence`, and nothing
here edits a finding afterwards.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..axioms import for_scale
from ..calling.sandbox import OperatorMisbehaved
from ..checks.base import NO_PARAMS, Check, Evaluated
from ..checks.evidence import Evidence
from ..checks.registry import FEEDING_CHECKS, PROPERTY_CHECKS, charge, check_catalogue
from ..checks.subject import Subject
from ..library.lookup import target_name
from ..report import repro
from ..report.results import Report
from ..sampling.budget import Clock, ProgressHook, plan_for
from ..sampling.domains import DOMAINS, World
from ..spec.inputs import keyword_inputs
from ..spec.operator import Operator, SpecError
from ..spec.params import param_sets
from ..spec.scales import SCALES
from . import diagnose, search, streaming
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


def _float32_values(w: np.ndarray) -> bool:
    """Whether float64 weights are all float32 values (a float32 result cast to float64): they then
    resolve their inputs no finer than float32 does, whatever their dtype says."""
    if w.dtype != np.float64:
        return False
    finite = w[np.isfinite(w)]
    return bool(finite.size) and bool((finite == finite.astype(np.float32)).all())


class Verifier:
    """Every applicable check of the catalogue for one operator in one world."""

    feeding = True  # whether the checks with no row of their own (the K = 1 family) run (not when replaying one input)

    def __init__(self, op: Operator, world: World, settings: Settings, axioms: Sequence[str] | None = None,
                 params: Any = NO_PARAMS, clock: Clock | None = None):
        self.settings = settings
        self.clock = clock or Clock(settings.max_time)
        if not for_scale(op.scale) or op.scale not in DOMAINS:  # never a pass on zero checks
            raise SpecError(f"the {op.scale} scale has no " + ("sampling Domain (axiomcheck.sampling.domains)"
                            if for_scale(op.scale) else "checks in the catalogue (axiomcheck.axioms)"))
        if DOMAINS[op.scale].scale != op.scale:
            domain = DOMAINS[op.scale]
            raise SpecError(f"the Domain registered for the {op.scale} scale ({type(domain).__name__}) declares "
                            f"scale = {domain.scale!r}; set scale = {op.scale!r} on it")
        self.catalogue = [a for a in for_scale(op.scale) if axioms is None or a.id in axioms]
        check_catalogue(self.catalogue)
        self.derived = derived_of(op, world)
        self.subject = Subject(op=op, world=world, scale=SCALES[op.scale], seed=settings.seed,
                               tolerance=settings.tolerance, timeout=settings.timeout, isolate=settings.isolate,
                               ids={a.property: a.id for a in self.catalogue}, bounds=op.bounds,
                               regularity_pairs=settings.regularity_pairs,
                               keywords=keyword_inputs(op.fn, op.scale), params=params)
        if op.bounds is None and self.derived.get("bounds"):
            self.subject.bounds = tuple(self.derived["bounds"])
            self.subject.bounds_origin = "derived"
        self.plan = plan_for(op.scale, world, self.subject.keywords, sweep_size=settings.sweep_size,
                             regularity_pairs=settings.regularity_pairs, batch_bytes=settings.batch_bytes)
        self.subject.regularity_pairs = self.plan.pairs
        self.subject.pair_chunk = self.plan.pair_chunk
        self.subject.mixed_limit = self.plan.mixed_limit
        self.evidence = Evidence([a.id for a in self.catalogue])
        self.evaluated: list[Evaluated] = []

    def families(self) -> list[Any]:
        """The sweep's family batches (sized by the byte budget)."""
        rng = np.random.default_rng(self.settings.seed)
        return self.subject.domain.sweep(rng, self.subject.world, self.plan.sweep_samples)

    def sweep(self) -> None:
        """Evaluate every sweep family batch (the value checks read them afterwards)."""
        s, ev = self.subject, self.evidence
        first_error: str | None = None
        first: tuple[OperatorMisbehaved, str] | None = None
        fams = self.families()
        total, done = sum(f.size for f in fams), 0
        for fam in fams:
            self.clock.tick("sweep", done, total)
            if self.evaluated and self.clock.expired():  # one batch at least, or nothing can be said
                break
            done += fam.size
            where = f"sweep family {fam.name!r}"
            try:
                w = s.call(fam.args)
            except OperatorMisbehaved as exc:
                msg = s.misbehaved(exc, fam.args, where)
                first_error = first_error or msg
                first = first or (exc, fam.name)
                charge(s, ev, exc, msg)
                if s.op_dead:
                    break
                continue
            s.dtype = w.dtype if s.dtype is None else s.dtype
            s.float32_valued = s.float32_valued and _float32_values(w)
            e = Evaluated(fam, w, s.domain.canonical(w))
            if self.plan.binding:  # the value checks read it now; a few samples stay (engine.streaming)
                e = streaming.observed(s, ev, e, self.plan.keep(len(fams)))
            self.evaluated.append(e)
        else:
            self.clock.tick("sweep", total, total)
        if not self.evaluated:
            ev.fatal = first_error or "could not be evaluated on any sweep batch"
            need = diagnose.needed_world(s, *first) if first is not None else None
            if need is not None:  # one clear lead instead of the same broadcast error on every check
                ev.fatal = f"{need.advice}; with {need.field}={need.current}: {first_error}"
                ev.fatal_brief = need.brief

    def checks(self) -> None:
        """Every selected check that applies, in catalogue order; then the checks that feed them.

        A check that calls the operator is what the time budget stops (`Check.calls_operator`);
        one with a row of its own that does not apply is reported skipped when the results are
        assembled, and a check that feeds others says why it did not run (`Check.skipped`).
        """
        s = self.subject
        for i, a in enumerate(self.catalogue):
            check = PROPERTY_CHECKS[a.property]
            self.clock.tick("checks", i, len(self.catalogue))
            if check.calls_operator and self.clock.expired():
                self.clock.not_run.add(a.property)
                continue
            why = check.applies(s)
            if why is not None:
                check.skipped(s, self.evidence, why)
            elif not (s.op_dead and check.calls_operator):
                check.run(s, self.evidence, self.evaluated)
        if self.feeding:
            for check in FEEDING_CHECKS:
                self.feed(check)
        self.clock.tick("checks", len(self.catalogue), len(self.catalogue))

    def feed(self, check: Check) -> None:
        """Run a check with no row of its own when a property it feeds is selected and the operator still runs."""
        s = self.subject
        if s.op_dead or not any(s.id(prop) is not None for prop in check.feeds):
            return
        why = check.applies(s)
        if why is not None:
            check.skipped(s, self.evidence, why)
        elif check.calls_operator and self.clock.expired():
            self.clock.not_run.add(check.property)
        else:
            check.run(s, self.evidence, self.evaluated)

    def shrink_failures(self) -> None:
        ev = self.evidence
        failed = [a for a in self.catalogue if PROPERTY_CHECKS[a.property].searched and ev.found(a.id)]
        for i, a in enumerate(failed):
            self.clock.tick("shrink", i, len(failed))
            if not self.subject.op_dead:
                if self.clock.expired():
                    break
                small = search.shrink(self.subject, a.id, self.settings.max_examples, clock=self.clock)
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
                        search.explore(s, ev, self.settings.max_examples, clock=self.clock)
                    if self.settings.shrink:
                        self.shrink_failures()
                if s.op_dead:
                    ev.fail_all(f"not run: the operator {s.op_dead}")
        finally:
            s.close()
        lead = self.catalogue[0].id if self.catalogue else None
        results = [result(s, ev, a.id, repro.for_verify(target_name(s.op), s.op.name, s.world, self.settings, a.id), lead,
                          cut=self.clock.cut_short(a.id, a.property, PROPERTY_CHECKS[a.property].searched))
                   for a in self.catalogue]
        return Report(operator=s.op.name, scale=s.op.scale, results=tuple(results), seed=self.settings.seed,
                      world=dataclasses.asdict(s.world), spec=spec_of(s.op, s), derived=self.derived,
                      elapsed_s=time.perf_counter() - start)


def check_operator(op: Operator, world: World, settings: Settings, axioms: Sequence[str] | None = None,
                   progress: ProgressHook | None = None) -> Report:
    """`Verifier(...).run()`, once per declared parameter set of a learned operator, merged into one report.

    Per check the worst status over the sets wins (error, then fail, then pass,
    then skipped), and its message and counterexample name the set it came from.
    """
    sets = param_sets(op, settings.seed)
    clock = Clock(settings.max_time, progress)  # one time budget for every parameter set
    if not sets:
        return Verifier(op, world, settings, axioms, clock=clock).run()
    reports = [(label, Verifier(op, world, settings, axioms, params=value, clock=clock).run())
               for label, value in sets]
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
