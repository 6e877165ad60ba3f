"""Shared plumbing of the training-time checks (private): result records, fits, noise, bounds.

Every check returns an `axiomcheck.report.results.Result` (plain data) whose `axiom`
is a `dynamics.*` id from `CHECKS`, with the paper reference, a status
(pass / fail / error / skipped), a message in the shape "must be X, got Y",
the measured numbers in `estimate`, and how to rerun it (a `Reproduction` record, its
`reproduce` line rendered from it).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..axioms import for_scale
from ..report.decision import stated
from ..report.repro import Reproduction, for_dynamics
from ..report.results import Result
from .problem import Weights, WeightsError

__all__ = ["CHECKS", "EXPECTED_FAILURES", "make_result", "error_result", "loglog_fit", "through_origin_fit", "noise_box",
           "perturb", "project_box_simplex", "zero_sum_direction", "reproduce_for", "op_label",
           "guarded", "fmt"]

#: check id -> (paper reference, one-line claim): the `dynamics.*` rows of the catalogue `axiomcheck.AXIOMS`
CHECKS: dict[str, tuple[str, str]] = {a.id: (a.paper_ref, a.statement) for a in for_scale("dynamics")}


#: checks the demo runs where their premise does not hold: there a failure is the expected outcome (and why)
EXPECTED_FAILURES: dict[str, str] = {
    "dynamics.safety_preservation": "Cor. VIII.7 is reported where its premise does not hold",
}


def op_label(op: Any) -> str:
    if isinstance(op, str):
        return op
    return getattr(op, "name", None) or ("uniform" if op is None else repr(op))


def _registered(op: Any) -> bool:
    if op is None:
        return True
    name = op if isinstance(op, str) else getattr(op, "name", None)
    if not isinstance(name, str):
        return False
    if ":" in name:
        return True
    from ..library.lookup import get

    try:
        return get(name) is op or isinstance(op, str)
    except KeyError:
        return False


def reproduce_for(check: str, op: Any, seed: int, quick: bool = False, **options: Any) -> Reproduction:
    """How to rerun one check: a Python one-liner (a registered operator), or the call to make (any other).

    `options` are the check's keyword arguments that differ from their defaults (`noise_on`, ...).
    """
    return for_dynamics(check, op_label(op) if op is not None else None, seed, registered=_registered(op),
                        options={**({"quick": True} if quick else {}), **options})


def make_result(check: str, status: str, message: str, estimate: dict[str, Any] | None = None, *,
                reproduce: str | Reproduction | None = None, seed: int | None = None, samples: int = 0) -> Result:
    """The `Result` of a training-time check that judged its measurements as `status` (`decision.stated`)."""
    return stated(check, status, message, estimate=estimate, reproduce=reproduce, seed=seed, samples=samples)


def error_result(check: str, exc: BaseException, *, reproduce: str | Reproduction | None = None,
                 seed: int | None = None) -> Result:
    return make_result(check, "error", f"the operator must produce usable weights on the problem, got: {exc}",
                       reproduce=reproduce, seed=seed)


def guarded(check: str, fn: Callable[[], Result], *, reproduce: str | Reproduction | None,
            seed: int | None) -> Result:
    """Run a check body; an operator that misbehaves becomes an `error` result, not a crash."""
    try:
        return fn()
    except WeightsError as exc:
        return error_result(check, exc, reproduce=reproduce, seed=seed)


def loglog_fit(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Least-squares line through (log x, log y): slope, intercept, R²; points with y ≤ 0 are dropped."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    ok = (x > 0) & (y > 0) & np.isfinite(y)
    if ok.sum() < 2:
        return {"slope": float("nan"), "intercept": float("nan"), "r2": float("nan"), "points": int(ok.sum())}
    lx, ly = np.log(x[ok]), np.log(y[ok])
    slope, icpt = np.polyfit(lx, ly, 1)
    res = ly - (slope * lx + icpt)
    tot = np.sum((ly - ly.mean()) ** 2)
    r2 = 1.0 - float(np.sum(res ** 2) / tot) if tot > 0 else 1.0
    return {"slope": float(slope), "intercept": float(icpt), "r2": r2, "points": int(ok.sum())}


def through_origin_fit(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """y ≈ C x by least squares through the origin; R² = 1 − Σ(y − Cx)² / Σy² (uncentered)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    sxx = float(np.sum(x * x))
    c = float(np.sum(x * y) / sxx) if sxx > 0 else float("nan")
    syy = float(np.sum(y * y))
    r2 = 1.0 - float(np.sum((y - c * x) ** 2)) / syy if syy > 0 else float("nan")
    return {"C": c, "r2": r2}


def noise_box(op: Any, weights: Weights, teachers: int) -> tuple[float, float, str]:
    """The A1 box [w_min, w_max] perturbed weights must stay in, and where it comes from.

    The operator's declared bounds when they leave room (w_min < w_max); for a
    composition without declared bounds, the bounds derived from its
    components; otherwise the observed range widened to [lo/2, min(1, 2·hi)].
    """
    bounds = getattr(op, "bounds", None)
    if bounds is not None and bounds[1] - bounds[0] > 1e-12:
        return float(bounds[0]), float(bounds[1]), "declared bounds"
    if op is not None and getattr(op, "scale", None) == "unified" and bounds is None:
        from ..spec.unified_bounds import derived_bounds

        d = derived_bounds(op.components, teachers).get("bounds")
        if d and d[1] - d[0] > 1e-12:
            return float(d[0]), float(d[1]), "bounds derived from the components"
    lo, hi = weights.lo, weights.hi
    return lo / 2.0, min(1.0, 2.0 * hi), "observed range widened to [lo/2, min(1, 2·hi)]"


def project_box_simplex(v: np.ndarray, lo: float, hi: float, iters: int = 100) -> np.ndarray:
    """Euclidean projection of each column v[:, …] (axis 0 = teachers) onto {w : Σ_k w_k = 1, lo ≤ w_k ≤ hi}.

    The projection is clip(v − τ, lo, hi) with the shift τ that makes the sum 1;
    τ is found by bisection (the sum is monotone in τ).  Needs lo·K ≤ 1 ≤ hi·K.
    """
    v = np.asarray(v, dtype=np.float64)
    k = v.shape[0]
    if lo * k > 1 + 1e-12 or hi * k < 1 - 1e-12:
        raise ValueError(f"the box [{lo}, {hi}] must admit weights summing to 1 over K = {k}, got none")
    a = np.min(v, axis=0, keepdims=True) - hi  # at τ = a every entry clips to hi: sum ≥ 1
    b = np.max(v, axis=0, keepdims=True) - lo  # at τ = b every entry clips to lo: sum ≤ 1
    for _ in range(iters):
        mid = 0.5 * (a + b)
        s = np.clip(v - mid, lo, hi).sum(axis=0, keepdims=True)
        a = np.where(s > 1.0, mid, a)
        b = np.where(s > 1.0, b, mid)
    return np.clip(v - 0.5 * (a + b), lo, hi)


def perturb(w: np.ndarray, direction: np.ndarray, delta: float, lo: float, hi: float) -> np.ndarray:
    """w + δ·ε projected back onto the normalized A1 box {Σ_k w_k = 1, lo ≤ w_k ≤ hi} (teachers on axis 0)."""
    return project_box_simplex(w + delta * direction, lo, hi)


def zero_sum_direction(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """ε ~ U[−1, 1] per entry, centered over teachers (axis 0) and scaled to ‖ε‖∞ = 1 per position."""
    e = rng.uniform(-1.0, 1.0, size=shape)
    e = e - e.mean(axis=0, keepdims=True)
    m = np.max(np.abs(e), axis=0, keepdims=True)
    return e / np.where(m > 0, m, 1.0)


def fmt(x: float, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "nan"
    return f"{x:.{digits}g}"
