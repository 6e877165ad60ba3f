"""Certified verdicts beside the sampled ones: the one call of the certifier, and the rules that join them.

`certified(report, ...)` runs after the sampled checks.  It calls the certifier
once (`certifier()`, the only place the interval engine is imported, so a run
that does not ask for certificates never loads it), then puts each certificate
on the `Result` it speaks about.  The sampled `status` is never changed: a
certificate is a second verdict, not a replacement.  Where the two meet, one
rule each, decided here and nowhere else (`reconcile`):

* a sampled failure beside a `proved` certificate cannot both be right: the
  proof is withdrawn (`unknown`, `WITHDRAWN`), and the failure stands; so is a
  proof beside a sampled `error` (the operator raised, hung or could not be
  judged there: `WITHDRAWN_ERROR`);
* a sampled failure beside an `unknown` certificate becomes `refuted` with the
  sampled counterexample, when that input lies in the certificate's domain
  (every real-valued input inside a stated box); otherwise it stays `unknown`
  and its reason says why the violation was not used;
* a certificate the certifier could not give (it raised, or returned something
  that is not a certificate) is `unknown` with the reason, never a crash that
  loses the sampled report; an operator every sampled check errored on (it
  hung, or could not be called at all) is not handed to the certifier
  (`UNEVALUATED`).

Then the report gets its paper link (`axiomcheck.report.assumptions.summarize`).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..axioms import AXIOMS
from ..report.results import Report, Result
from ..spec import boxes

WITHDRAWN = "the sampled engine found a violation: the certificate was withdrawn"
WITHDRAWN_ERROR = "the sampled engine could not judge the operator (see its error): the certificate was withdrawn"
UNEVALUATED = "not certified: the sampled checks could not evaluate the operator (see their errors)"
FOUND_BY_SAMPLING = "found by the sampled checks"
#: The properties a certificate can speak about (the others are about how the operator behaves as code).
CERTIFIED_PROPERTIES = ("finite", "positivity", "nonnegativity", "bounds", "normalization", "safety", "regularity")
DEFAULT_GAP = 0.1


@dataclasses.dataclass(frozen=True)
class Request:
    """What a run asks the certifier for.

    Args:
        domain: input boxes over the operator's own (`axiomcheck.spec.boxes`; a box given here replaces
            the operator's box for the same input).
        gap: refinement stops when the certified bound is within this relative gap of the sampled one.
        max_time: the certifier's time budget in seconds (None: none).
    """

    domain: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    gap: float = DEFAULT_GAP
    max_time: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "domain", dict(boxes.declaration(self.domain)))
        if isinstance(self.gap, bool) or not isinstance(self.gap, (int, float)) or not (
                self.gap > 0 and math.isfinite(self.gap)):
            raise ValueError(f"certify_gap must be a finite number > 0, got {self.gap!r}")
        if self.max_time is not None and not (isinstance(self.max_time, (int, float)) and self.max_time > 0
                                              and math.isfinite(self.max_time)):
            raise ValueError(f"certify_time must be a finite number of seconds > 0, or None, got {self.max_time!r}")


def certifier() -> Callable[..., Mapping[str, Any]]:
    """The certifier's entry point, imported here and only when a run asks for certificates."""
    from ..certifier.certifier import certify_operator

    return certify_operator


def certified(report: Report, op: Any, world: Any, request: Request, tolerance: float | None = None) -> Report:
    """`report` with a certificate on each result the certifier speaks about, and its paper link."""
    from ..report.assumptions import summarize
    from ..report.certificate import Certificate

    domain = boxes.merged(op.domain, request.domain)
    ids = [r.axiom for r in report.results]
    start = time.perf_counter()
    certs: dict[str, Any] = {}
    failure = UNEVALUATED if report.results and all(r.status == "error" for r in report.results) else None
    try:
        if failure is None:  # an operator that hung or could not be called is not called again
            got = certifier()(op, world, axioms=ids, domain=domain, gap=request.gap, max_time=request.max_time,
                              tolerance=tolerance, sampled={r.axiom: r for r in report.results})
            certs = _read(got, Certificate)
    except Exception as exc:  # noqa: BLE001 - the sampled report must survive a failing certifier
        failure = f"the certifier failed: {type(exc).__name__}: {exc}"
    elapsed = time.perf_counter() - start
    results = []
    for r in report.results:
        c = certs.get(r.axiom)
        if failure and AXIOMS[r.axiom].property in CERTIFIED_PROPERTIES:
            c = Certificate(status="unknown", domain=boxes.describe(domain), reason=failure)
        results.append(dataclasses.replace(r, certificate=reconcile(r, c, domain)))
    out = dataclasses.replace(report, results=tuple(results), elapsed_s=report.elapsed_s + elapsed)
    return dataclasses.replace(out, assumptions=summarize(out))


def _read(got: Any, cert_type: type) -> dict[str, Any]:
    """The certifier's answer as id -> Certificate; a value that is not one becomes `unknown` saying so."""
    if not isinstance(got, Mapping):
        raise TypeError(f"the certifier returned {type(got).__name__}, not a mapping of id -> certificate")
    out = {}
    for axiom, c in got.items():
        if isinstance(c, cert_type):
            out[str(axiom)] = c
            continue
        try:
            out[str(axiom)] = cert_type.from_dict(c)  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001 - an unreadable certificate proves nothing
            out[str(axiom)] = cert_type(status="unknown", reason=f"the certifier returned an unreadable "
                                                                 f"certificate ({type(exc).__name__}: {exc})")
    return out


def reconcile(result: Result, cert: Any, domain: Mapping[str, boxes.Box]) -> Any:
    """The certificate `result` carries, given what the sampled checks found (the rules in the module doc)."""
    if cert is not None and result.status == "error" and cert.status == "proved":
        return dataclasses.replace(cert, status="unknown", reason=WITHDRAWN_ERROR, bound=None, lipschitz_upper=None,
                                   gap=None, counterexample=None)
    if cert is None or result.status != "fail":
        return cert
    ce = result.counterexample if isinstance(result.counterexample, Mapping) else None
    outside = placed(ce, _boxes(domain, cert.domain_data)) if ce else "the sampled violation has no counterexample"
    if cert.status == "proved":
        reason = WITHDRAWN + (f"; {outside}" if outside and outside.startswith("the sampled violation lies") else "")
        return dataclasses.replace(cert, status="unknown", reason=reason, bound=None, lipschitz_upper=None,
                                   gap=None, counterexample=None)
    if cert.status == "unknown":
        if outside is None:
            return dataclasses.replace(cert, status="refuted", counterexample=ce,
                                       reason=FOUND_BY_SAMPLING)
        return dataclasses.replace(cert, reason=f"{cert.reason}; {outside}" if cert.reason else outside)
    return cert


def _boxes(declared: Mapping[str, boxes.Box], domain_data: Any) -> dict[str, boxes.Box]:
    """The boxes a certificate holds on: the declared ones, and those its `domain_data` states as [lo, hi]."""
    out = dict(declared)
    for name, value in (domain_data or {}).items() if isinstance(domain_data, Mapping) else ():
        try:
            out[name] = boxes.box(name, value)
        except ValueError:
            continue  # a simplex, a set of labels, a text: not a box
    return out


def placed(counterexample: Mapping[str, Any], domain: Mapping[str, boxes.Box]) -> str | None:
    """None when every input of `counterexample` lies in `domain`, else why it does not (or cannot be told).

    Distributions (probs, student) are on the simplex and discrete inputs (labels,
    step) are enumerated or held, so only the real-valued inputs need a box.
    """
    inputs = [counterexample.get(k) for k in ("input", "other_input") if k in counterexample]
    if not inputs or not all(isinstance(i, Mapping) for i in inputs):
        return "the sampled counterexample does not hold its inputs (too large to keep)"
    real = boxes.box_inputs()
    for values in inputs:
        for name, value in values.items():
            if name not in real:
                continue
            if name not in domain:
                return f"the sampled violation could not be placed in this domain ({name} has no stated box)"
            lo, hi = domain[name]
            flat = list(_numbers(value))
            if not flat or not all(isinstance(x, float) and lo <= x <= hi for x in flat):
                worst = next((x for x in flat if not (isinstance(x, float) and lo <= x <= hi)), "nothing")
                return (f"the sampled violation lies outside this domain ({name} holds {worst}, "
                        f"not in [{lo:g}, {hi:g}])")
    return None


def _numbers(value: Any) -> Sequence[Any]:
    """Every leaf of a nested list as a float ("nan"/"inf" strings read back), or as it is when not a number."""
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _numbers(v)]
    if isinstance(value, bool):
        return [value]
    if isinstance(value, (int, float)):
        return [float(value)]
    if isinstance(value, str) and value in ("nan", "inf", "-inf"):
        return [float(value)]
    return [value]
