"""Sampled failures as certificates: a counterexample replayed on the real operator refutes the property.

"refuted" only ever comes with a concrete input that violates the property
when evaluated: the sampled engine's counterexample is run again through the
operator (in its framework, with its parameter set) and judged by the same
predicate; only a violation there makes the certificate "refuted".  A sampled
failure that cannot be replayed that way (a summarized large input, a jump,
which no finite evaluation proves) still keeps the certificate from "proved".
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..calling.frameworks import adapt
from ..calling.sandbox import accepts_teachers
from ..checks import properties as P
from ..report.certificate import Certificate
from ..sampling.domain_inputs import WithInputs
from ..sampling.domains import DOMAINS
from ..spec.scales import SCALES
from .evaluate import NO_PARAMS
from .space import Space


def with_sampled(cert: Certificate, result: Any, op: Any, dom: Space, world: Any, sets: list[tuple[str, Any]],
                 tolerance: float | None, prop: str) -> Certificate:
    if getattr(result, "status", None) != "fail":
        return cert
    ce = getattr(result, "counterexample", None)
    confirmed = None
    if isinstance(ce, dict):
        try:
            confirmed = _confirm(ce, op, dom, world, sets, tolerance, prop)
        except Exception:  # noqa: BLE001 - a replay that cannot run confirms nothing
            confirmed = None
    if confirmed is not None:
        return dataclasses.replace(cert, status="refuted", counterexample=confirmed,
                                   reason="the sampled check's counterexample violates the property when evaluated"
                                   + ("" if cert.status != "proved" else
                                      " (it lies outside the certified domain, where the property is proved)"))
    if cert.status == "proved":
        msg = getattr(result, "message", "")
        return dataclasses.replace(cert, status="unknown",
                                   reason=f"proved on the domain, but the sampled check failed ({msg}) at an input "
                                          f"that could not be replayed as a concrete violation")
    return cert


def _call(op: Any, dom: Space, arrays: dict[str, np.ndarray], params: Any, world: Any) -> np.ndarray:
    fn = adapt(op.fn, op.framework)
    kw: dict[str, Any] = {n: arrays[n] for n in dom.keywords}
    if accepts_teachers(op.fn):
        kw["teachers"] = world.teachers
    if params is not NO_PARAMS:
        kw["params"] = params
    with np.errstate(all="ignore"):
        w = np.asarray(fn(*[arrays[n] for n in dom.positional], **kw))
    return DOMAINS[op.scale].canonical(w)


def _inputs(raw: Any, names: list[str]) -> dict[str, np.ndarray] | None:
    if not isinstance(raw, dict) or any(n not in raw or not isinstance(raw[n], list) for n in names):
        return None
    out = {}
    for n in names:
        a = np.asarray(raw[n])
        out[n] = a.astype(np.int64) if n in ("labels", "step") else a.astype(np.float64)
    return out


def _confirm(ce: dict, op: Any, dom: Space, world: Any, sets: list[tuple[str, Any]], tolerance: float | None,
             prop: str) -> dict[str, Any] | None:
    names = list(dom.positional) + list(dom.keywords)
    arrays = _inputs(ce.get("input"), names)
    if arrays is None:
        return None
    label = ce.get("params")
    chosen = [(lab, p) for lab, p in sets if not label or lab == label] or sets
    for lab, params in chosen:
        W = _call(op, dom, arrays, params, world)
        tol = tolerance if tolerance is not None else P.tolerance_for(W.dtype, getattr(world, SCALES[op.scale].sums_over))
        bad = _violated(prop, op, W, arrays, tol, world, ce, dom, params)
        if bad:
            out = {"input": {k: v.tolist() for k, v in arrays.items()}, "weights": W[0].tolist(),
                   "where": "the sampled engine's counterexample, evaluated again"}
            if lab:
                out["params"] = lab
            if "other_input" in ce:
                out["other_input"] = ce["other_input"]
            return out
    return None


def _violated(prop: str, op: Any, W: np.ndarray, arrays: dict[str, np.ndarray], tol: float, world: Any,
              ce: dict, dom: Space, params: Any) -> bool:
    if prop == "finite":
        return bool(P.finite(W).any)
    if prop == "positivity":
        return bool(P.positive(W).any)
    if prop == "nonnegativity":
        return bool(P.nonnegative(W).any)
    if prop == "normalization":
        return bool(P.normalized(W, tol).any)
    if prop == "bounds":
        b = op.bounds
        if b is None:
            hook = getattr(op.fn, "derived_bounds", None)
            b = dict(hook(world.teachers)).get("bounds") if callable(hook) else None
        if b is None:
            return bool(P.bounded(W, np.finfo(np.float64).tiny, np.inf, 0.0).any)
        return bool(P.bounded(W, b[0], b[1], tol).any)
    if prop == "safety":
        specs = [(c.scale, c.safety) for c in op.components if c.safety is not None] \
            if SCALES[op.scale].safety_set == "components" \
            else ([(op.scale, op.safety)] if op.safety is not None else [])
        B, R, _ = W.shape
        for _, s in specs:
            if s.tokens is not None:
                rows = np.ones((B, 1), bool) if R == 1 else \
                    np.broadcast_to(np.isin(np.arange(R) % world.vocab, s.tokens), (B, R)).copy()
            else:
                sel = np.asarray(s.contexts(arrays["context"])).reshape(-1).astype(bool)
                rows = np.repeat(sel[:, None], R, axis=1)
            if P.ordered(W, list(s.ordered_pairs()), rows, tol).any:
                return True
        return False
    if prop == "regularity" and op.lipschitz is not None:
        other = _inputs(ce.get("other_input"), list(dom.positional) + list(dom.keywords))
        if other is None:
            return False
        W2 = _call(op, dom, other, params, world)
        base = DOMAINS[op.scale]
        d = WithInputs(base, tuple(dom.keywords)) if dom.keywords and not SCALES[op.scale].composition else base
        names = list(d.arg_names)
        dist = float(d.distance(tuple(arrays[n] for n in names), tuple(other[n] for n in names))[0])
        change = float(P.max_abs_diff(W, W2)[0])
        return dist > 0 and change > op.lipschitz * dist
    return False
