"""`certify_operator`: what can be proved about an operator on a stated domain, one certificate per check."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..axioms import for_scale
from ..checks import properties as P
from ..report.certificate import Certificate
from ..sampling.domain_inputs import WithInputs
from ..sampling.domains import DOMAINS, World
from ..spec.params import param_sets
from ..spec.scales import SCALES
from . import bnb
from . import provers as C
from .evaluate import NO_PARAMS
from .sampled import with_sampled
from .space import NoBox, build

#: The properties a certificate can be given for (the catalogue's property names).
CERTIFIED_PROPERTIES = ("finite", "normalization", "positivity", "nonnegativity", "bounds", "safety", "regularity")
#: The time budget of one operator when `max_time` is not given, in seconds.
DEFAULT_TIME = 10.0
#: Share of the budget the value checks (everything but the Lipschitz bound) may use together; each takes
#: its part of what is left of it, and the Lipschitz search gets whatever they leave.
VALUE_SHARE = 0.5


def _metric(op: Any, dom: Any) -> str:
    names = tuple(n for n in dom.keywords)
    base = DOMAINS[op.scale]
    if names and not SCALES[op.scale].composition:
        return WithInputs(base, names).metric
    return SCALES[op.scale].metric


def _tolerance(tolerance: float | None, op: Any, world: World, dtype: np.dtype) -> float:
    if tolerance is not None:
        return float(tolerance)
    return P.tolerance_for(dtype, getattr(world, SCALES[op.scale].sums_over))


def _bounds_of(op: Any, world: World) -> tuple[tuple[float, float] | None, str]:
    if op.bounds is not None:
        return tuple(op.bounds), "declared"
    hook = getattr(op.fn, "derived_bounds", None)
    if callable(hook):
        try:
            b = dict(hook(world.teachers)).get("bounds")
        except Exception:  # noqa: BLE001 - a courtesy of compose(); without it only w_min > 0 is checked
            b = None
        if b:
            return (float(b[0]), float(b[1])), "derived"
    return None, "declared"


def _specs(op: Any) -> list[tuple[str, Any]]:
    if SCALES[op.scale].safety_set == "components":
        return [(c.scale, c.safety) for c in op.components if c.safety is not None]
    return [(op.scale, op.safety)] if op.safety is not None else []


def _sampled_blocker(sampled: Mapping[str, Any] | None, scale: str) -> str | None:
    """Why no certificate can stand, from the sampled checks the certificates rely on."""
    if not sampled:
        return None
    for check in ("deterministic", "batch_independent", "shape"):
        r = sampled.get(f"{scale}.{check}")
        if r is not None and getattr(r, "status", "pass") in ("fail", "error"):
            return f"the sampled {scale}.{check} check did not pass ({r.status}): {getattr(r, 'message', '')}"
    return None


def certify_operator(op: Any, world: World, *, axioms: Sequence[str] | None = None,
                     domain: Mapping[str, Any] | None = None, gap: float = 0.1, max_time: float | None = None,
                     tolerance: float | None = None, sampled: Mapping[str, Any] | None = None,
                     seed: int = 0) -> dict[str, Certificate]:
    """Certificates for an operator's checks: what is proved on a stated input domain, next to the sampled verdicts.

    Args:
        op: the `Operator` (any scale, any framework; a composition certifies its components together).
        world: the sizes (K, V, D, M, F, H) the domain is built in, as for `verify()`.
        axioms: catalogue ids to certify (default: every one this certifier covers for the scale).
        domain: boxes overriding the defaults, by input name: `{"context": (-5, 5)}` (one range for every
            entry) or `(lo_array, hi_array)` per entry; sizes in sizes.  Defaults: context and features
            [-10, 10], losses and history [0, 1e6], sizes [1, 1e9] (certified in log sizes), step [0, 1e9]
            (held fixed in the metric), teacher_logits [-30, 30]; probs and student on the simplex; labels
            enumerated.  An operator record with a `domain` mapping contributes first; the call wins.
        gap: the relative gap at which the Lipschitz search stops (certified / lower bound − 1).
        max_time: the time budget in seconds for this operator (default 10 s): the value checks share
            half of it equally (one that finishes early leaves its time to the next), the Lipschitz
            search has what is left; a search stops before a round that would overrun the budget.
        tolerance: the absolute tolerance of normalization, bounds and the safety order (default: the
            sampled engine's, 8 ulps of the returned dtype times K).
        sampled: the sampled results by id (`Result` objects), when `verify()` ran first: a failure whose
            input violates the property when replayed makes the certificate "refuted"; one that cannot be
            replayed keeps it from "proved"; the sampled Lipschitz lower bound prunes the search; a failed
            determinism or batch-independence check makes every certificate "unknown".
        seed: the seed of drawn parameter sets (as `verify(seed=...)`).

    Returns:
        `{axiom id: Certificate}` for the ids covered: `<scale>.finite`, `.normalization`, `.positivity`
        (`importance.nonnegativity`), the bounds id, the regularity/continuity id and the safety id.  Each
        states its domain (`domain` text, `domain_data`); `status` is "proved" (holds on the whole domain),
        "refuted" (with a concrete `counterexample` that violates it when evaluated) or "unknown" (with
        `reason` and the enclosure reached in `bound`).  Regularity carries `lipschitz_upper` (inf when no
        finite bound was found), `metric` and `gap`.
    """
    t_start = time.perf_counter()
    budget = DEFAULT_TIME if max_time is None else float(max_time)
    ids = [a for a in for_scale(op.scale) if a.property in CERTIFIED_PROPERTIES and (axioms is None or a.id in axioms)]
    if SCALES[op.scale].task_importance:
        ids = [a for a in ids if a.property != "positivity"]
    if not _specs(op):  # no safety ordering declared: the check does not apply (the sampled one is skipped)
        ids = [a for a in ids if a.property != "safety"]
    try:
        dom = build(op, world, domain)
    except NoBox as exc:  # an input with no default box and none declared: nothing can be stated on it
        return {a.id: Certificate(status="unknown", domain=exc.domain, reason=str(exc)) for a in ids}
    sets = param_sets(op, seed) if op.params is not None else [("", NO_PARAMS)]
    blocker = _sampled_blocker(sampled, op.scale)
    out: dict[str, Certificate] = {}
    cache: dict = {}
    ordered = sorted(ids, key=lambda a: a.property == "regularity")  # value checks first
    n_values = sum(a.property != "regularity" for a in ids)
    for axiom in ordered:
        if blocker is not None:
            out[axiom.id] = Certificate(status="unknown", domain=dom.text(), domain_data=dom.data(), reason=blocker)
            continue
        used = time.perf_counter() - t_start
        left = max(budget - used, 0.0)
        if axiom.property == "regularity":
            share = left
        else:
            share = max(budget * VALUE_SHARE - used, 0.0) / max(n_values, 1)
            n_values -= 1
        parts = []
        for label, params in sets:
            job = _job(op, dom, world, params, tolerance, gap, share / len(sets), sampled, axiom.id, cache)
            cert = C.timed(lambda job=job, prop=axiom.property: _run(prop, job, op, world))
            if label:
                cert = dataclasses.replace(cert, reason=(f"{label}: " + cert.reason) if cert.reason else None)
            parts.append(cert)
        cert = C.merge(parts) if len(parts) > 1 else parts[0]
        cert = dataclasses.replace(cert, elapsed_s=sum(p.elapsed_s for p in parts))
        if not cert.domain:
            cert = dataclasses.replace(cert, domain=dom.text(), domain_data=dom.data())
        if sampled is not None and axiom.id in sampled:
            cert = with_sampled(cert, sampled[axiom.id], op, dom, world, sets, tolerance, axiom.property)
        out[axiom.id] = cert
    return {a.id: out[a.id] for a in ids}


def _job(op: Any, dom: Any, world: World, params: Any, tolerance: float | None, gap: float, budget: float,
         sampled: Mapping[str, Any] | None, axiom_id: str, cache: dict) -> C.Job:
    job = C.Job(op, dom, params, 0.0, bnb.Deadline(budget), gap, 0.0, _metric(op, dom), cache=cache)
    tol = tolerance
    if tol is None:
        dtype = np.dtype(np.float64)
        try:
            dtype = job.evaluate(bnb.roots(dom)).W.dtype  # the returned dtype sets the default tolerance
        except Exception:  # noqa: BLE001 - the dtype probe is a courtesy; float64's tolerance otherwise
            pass
        tol = _tolerance(None, op, world, dtype)
    job.tol = float(tol)
    if sampled is not None and axiom_id in sampled:
        est = getattr(sampled[axiom_id], "estimate", None)
        value = getattr(est, "lipschitz_lower_bound", None) if est is not None and not isinstance(est, dict) \
            else (est or {}).get("lipschitz_lower_bound")
        job.lipschitz_lower = float(value) if value is not None and np.isfinite(value) else 0.0
    return job


def _run(prop: str, job: C.Job, op: Any, world: World) -> Certificate:
    if prop == "finite":
        return C.finite(job)
    if prop == "positivity":
        return C.positivity(job)
    if prop == "nonnegativity":
        return C.nonnegativity(job)
    if prop == "normalization":
        return C.normalization(job)
    if prop == "bounds":
        declared, origin = _bounds_of(op, world)
        return C.bounds(job, declared, origin)
    if prop == "safety":
        specs = _specs(op)
        if not specs:
            return Certificate(status="unknown", domain=job.dom.text(), domain_data=job.dom.data(),
                               reason="no safety ordering declared")
        return C.safety(job, specs)
    if prop == "regularity":
        return C.regularity(job, op.lipschitz)
    raise ValueError(f"no certifier for the property {prop!r}")
