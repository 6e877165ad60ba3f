"""Evidence → `Result`s of the sampled checks: what the engine saw, in the slots of `decision.decide`.

`axiomcheck.report.decision` decides every status and message (the ensemble, the weight
guard and the training-time checks use it too); this module reads a check's
evidence, the operator and the run into its slots, asking the check only what its
contract (`checks.base.Check`) declares.  The order of precedence, for each check:
1. the operator could not be evaluated at all → `error` for every check: the first check says
   why (it raised on every batch, hung, seems to need another world size) and the others are
   "not run", pointing at it, so the error is read once per operator;
2. a declaration the check cannot check in this world (`Check.problem`: a safety order naming
   a teacher the world lacks) → `error`; the check does not apply (`Check.applies`) → `skipped`,
   with its reason;
3. a violation of a check it rests on (`Check.rests_on`: regularity of a non-deterministic or
   batch-dependent operator, batch independence of a non-deterministic one) → `error`
   ("cannot be judged"), whatever the estimate said — the comparisons it rests on are meaningless;
4. a violation found → `fail` (with any error noted beside it);
5. an error of this check, or of every check (raised, hung, wrote into its input) → `error`;
6. skipped by the check itself, or reached by no sampled input where the check says why
   (`Check.no_samples`) → `skipped`; otherwise `pass`, with what was measured
   (`Check.pass_message`) — a check that counted no sample at all is `error` ("cannot be
   judged"), never a pass on no evidence.
"""

from __future__ import annotations

import functools
from typing import Any

from ..axioms import AXIOMS
from ..checks.base import Check
from ..checks.evidence import Evidence
from ..checks.registry import PROPERTY_CHECKS
from ..checks.subject import Subject
from ..report import summary
from ..report.decision import decide
from ..report.repro import Reproduction
from ..report.results import Result
from ..spec.operator import Operator
from ..spec.params import describe as describe_params


def _judgeable(subject: Subject, ev: Evidence, check: Check) -> str | None:
    """Why `check` cannot be judged on this operator (a check it rests on found a violation), or None."""
    for prop in check.rests_on:
        cause = subject.id(prop)
        if cause is not None and ev.found(cause):
            what = PROPERTY_CHECKS[prop].failed_means
            return f"cannot be judged: the operator is {what} (see {cause}): {ev[cause].finding.message}"
    return None


def result(subject: Subject, ev: Evidence, axiom_id: str, reproduce: Reproduction, lead: str | None = None,
           cut: str | None = None) -> Result:
    """The result of one check: what the engine knows about it (its evidence, the operator, the run)
    in the slots of `decision.decide`, which decides the status and the message.

    `lead` is the check that reports a hang that stopped the whole run.  `cut` says what the
    time budget took from the check (`budget.Clock.cut_short`): a check that never ran is
    `skipped` with that reason, any other result says it beside its message, so a check cut
    short never passes silently.
    """
    a = AXIOMS[axiom_id]
    e = ev[axiom_id]
    record = functools.partial(decide, axiom_id, seed=subject.seed, samples=e.samples, estimate=e.estimate,
                               reproduce=reproduce, cut=cut, needs_samples=True)
    check = PROPERTY_CHECKS[a.property]
    if ev.fatal:
        # the first check carries the whole error; the others point at it, so it is read once per operator
        if subject.op_dead and lead is not None and axiom_id != lead:
            return record(error=f"not run: the operator {subject.op_dead} (see {lead})")
        if lead is not None and axiom_id != lead and not (e.error and not ev.fatal_brief):
            # (a check with an error of its own, the shape check on a wrong shape, keeps the whole message)
            brief = ev.fatal_brief or "could not be evaluated on any sweep batch"
            return record(error=f"not run: the operator {brief} (see {lead})")
        return record(fatal=f"the operator {ev.fatal}")
    problem = check.problem(subject)
    if problem:
        return record(error=problem)
    skip = check.applies(subject)
    if skip:
        return record(skip=skip)
    blocked = _judgeable(subject, ev, check)
    if blocked:
        return record(error=blocked)
    failure = ce = arrays = None
    if e.finding is not None:
        share = e.share.describe()
        failure = e.finding.message + (f"; {share}" if share else "")
        ce = dict(e.finding.counterexample)
        arrays = ce.pop(summary.ARRAYS, None)  # a large counterexample's arrays: beside it, never in JSON
    skip = e.skip or (check.no_samples if e.samples == 0 else None) or None
    aside = f"; {e.aside}" if e.aside else ""
    return record(failure=failure, counterexample=ce, arrays=arrays, error=e.error or ev.everywhere, skip=skip,
                  passed=lambda: check.pass_message(subject, e) + aside)


def spec_of(op: Operator, subject: Subject | None = None) -> dict[str, Any]:
    """What the operator declares, as plain data for the report (with its inputs' metric, given a subject)."""
    s: dict[str, Any] = {"bounds": list(op.bounds) if op.bounds else None, "lipschitz": op.lipschitz,
                         "metric": subject.metric if subject is not None else op.metric}
    if subject is not None and subject.keywords:
        s["inputs"] = list(subject.domain.arg_names)
    if op.params is not None:
        s["params"] = describe_params(op)
    if op.safety is not None:
        s["safety"] = {"tokens": list(op.safety.tokens) if op.safety.tokens else None,
                       "contexts": getattr(op.safety.contexts, "__name__", None) if op.safety.contexts else None,
                       "pairs": [list(p) for p in op.safety.ordered_pairs()]}
    if op.importance is not None:
        imp = op.importance
        s["importance"] = imp.name if isinstance(imp, Operator) else getattr(imp, "__name__", repr(imp))
    if op.components:
        s["components"] = [c.name for c in op.components]
    if op.world:
        s["world"] = op.declared_world
    if op.framework is not None:
        s["framework"] = op.framework
    return s
