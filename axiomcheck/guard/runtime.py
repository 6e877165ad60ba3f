"""The weight guard's state as `Result`s (`runtime.*`), and a `Run` the report writers show.

`guard_results(state, spec)` reads a `GuardState` (of the JAX guard, leaves on any
device, or with a leading run axis from vmap: the runs are merged; or of the
PyTorch guard, brought to numpy by its `state()`) into four plain-data
`Result`s: `runtime.normalization`, `runtime.positivity`, `runtime.bounds` and
`runtime.safety`, each with a "must be X, got Y" message, a `RuntimeEstimate`
(counts, worst value, first violation, observed range per teacher) and, when it
failed, the first violating weight vector as the counterexample.  They come as a
`GuardResults` tuple, which a notebook shows as a table.
`training_run(reports)` puts such reports into a `Run`, so `output.files.write_all`
and the other writers show them (as "observed in training").

>>> from axiomcheck.kernels import GuardSpec, guard_init
>>> spec = GuardSpec(teachers=2)
>>> [r.status for r in guard_results(guard_init(spec), spec)]
['skipped', 'skipped', 'skipped', 'skipped']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..report.decision import stated
from ..report.displayable import Displayable
from ..report.results import ItemRun, Outcome, Report, Result, Run, SuiteRun
from .spec import PROPERTIES, GuardSpec
from .state import GuardState, merge_runs

if TYPE_CHECKING:
    from ..report.repro import Reproduction

__all__ = ["GuardResults", "guard_results", "guard_report", "training_run"]

#: The suite name under which `training_run` lists what was observed in training.
TRAINING_SUITE = "training"


def _g(x: float) -> str:
    return f"{x:.3g}"


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _host(state: GuardState) -> tuple[dict[str, np.ndarray], int]:
    """(the state's leaves as numpy arrays, leading run axes merged; the number of runs merged)."""
    runs = int(np.prod(np.shape(state.steps)))
    if np.ndim(state.steps) > 0:
        flat = GuardState(*(np.reshape(np.asarray(leaf), (-1,) + np.shape(leaf)[np.ndim(state.steps):])
                            for leaf in state))
        state = merge_runs(flat, np)
    return {name: np.asarray(leaf) for name, leaf in zip(GuardState._fields, state, strict=True)}, runs


def _where(s: dict[str, np.ndarray], p: int) -> str:
    tok = int(s["first_token"][p])
    return f"step {int(s['first_step'][p])}, position {int(s['first_position'][p])}" + \
        (f", token {tok}" if tok >= 0 else "")


def _range(s: dict[str, np.ndarray]) -> str:
    lo, hi = s["w_min"], s["w_max"]
    return "; ".join(f"w_{k} ∈ [{_g(float(a))}, {_g(float(b))}]" for k, (a, b) in enumerate(zip(lo, hi, strict=True)))


class GuardResults(tuple[Result, ...], Displayable):
    """The guard's `Result`s: a tuple like any other (indexing, equality, iteration), that Jupyter shows as
    a table of the guarded properties and the first violation of each that failed, and rich as the
    terminal table."""

    __slots__ = ()


def guard_results(state: GuardState, spec: GuardSpec, *, reproduce: str | Reproduction | None = None,
                  seed: int | None = None) -> GuardResults:
    """One `Result` per guarded property (`runtime.normalization`, `.positivity`, `.bounds`, `.safety`).

    pass: no weight vector of any step broke it; fail: some did (the message names the
    first, the estimate counts them); skipped: no step was seen, or nothing is declared
    to check (bounds, safety order). `reproduce` (a `Reproduction` record, or a line) and `seed`
    are copied into each result.
    """
    s, runs = _host(state)
    steps, tol = int(s["steps"]), float(s["tolerance"])
    finite_lo = s["w_min"][np.isfinite(s["w_min"])]
    finite_hi = s["w_max"][np.isfinite(s["w_max"])]
    lo_seen = float(finite_lo.min()) if finite_lo.size else float("nan")
    worst = {
        "normalization": float(s["max_norm_error"]),
        "positivity": lo_seen,
        "bounds": (max(spec.bounds[0] - lo_seen, float(finite_hi.max()) - spec.bounds[1], 0.0)
                   if spec.bounds is not None and finite_lo.size else None),
        "safety": float(s["min_safety_margin"]) if spec.has_safety else None,
    }
    declared = {"normalization": None, "positivity": None, "bounds": list(spec.bounds) if spec.bounds else None,
                "safety": ({"tokens": list(spec.safety_tokens), "pairs": [list(p) for p in spec.safety_pairs]}
                           if spec.has_safety else None)}
    out = []
    for p, prop in enumerate(PROPERTIES):
        axiom = f"runtime.{prop}"
        checked, bad = int(s["checked"][p]), int(s["violations"][p])
        detail = int(s["first_detail"][p])
        est: dict[str, Any] = {
            "observed_min": [float(x) if np.isfinite(x) else float("nan") for x in s["w_min"]],
            "observed_max": [float(x) if np.isfinite(x) else float("nan") for x in s["w_max"]],
            "steps": steps, "runs": runs, "checked": checked, "violations": bad, "nonfinite": int(s["nonfinite"]),
            "worst": worst[prop], "tolerance": tol, "declared": declared[prop],
            "first_step": int(s["first_step"][p]), "first_position": int(s["first_position"][p]),
            "first_token": int(s["first_token"][p]),
            "first_teacher": detail if prop in ("positivity", "bounds") and bad else None,
            "first_pair": list(spec.safety_pairs[detail]) if prop == "safety" and bad and detail >= 0 else None,
            "first_value": float(s["first_value"][p]) if bad else None,
        }
        status, msg = _verdict(prop, s, p, spec, steps, runs, checked, bad, tol, worst[prop])
        ce = None
        if bad:
            ce = {"step": est["first_step"], "position": est["first_position"],
                  "weights": [float(x) for x in s["first_weights"][p]]}
            if est["first_token"] >= 0:
                ce["token"] = est["first_token"]
        out.append(stated(axiom, status, msg, counterexample=ce, estimate=est, reproduce=reproduce, seed=seed,
                          samples=checked))
    return GuardResults(out)


def _verdict(prop: str, s: dict[str, np.ndarray], p: int, spec: GuardSpec, steps: int, runs: int, checked: int,
             bad: int, tol: float, worst: float | None) -> tuple[str, str]:
    """(status, message) of one guarded property."""
    if steps == 0:
        return "skipped", "the guard saw no training step"
    if prop == "bounds" and spec.bounds is None:
        return "skipped", f"no bounds declared; observed in training: {_range(s)}"
    if prop == "safety" and not spec.has_safety:
        return "skipped", "no token safety order declared (Safety(tokens=..., order=... or pairs=...))"
    nonfinite = int(s["nonfinite"])
    tail = f" ({nonfinite} held NaN or ±inf)" if nonfinite else ""
    each = f" in each of {runs} runs" if runs > 1 else ""
    of = f"{bad} of {checked} weight vectors over {_n(steps, 'training step')}{each}{tail}"
    held = f"held on all {_n(checked, 'weight vector')} of {_n(steps, 'step')}{each}"
    value = float(s["first_value"][p])
    detail = int(s["first_detail"][p])
    if prop == "normalization":
        must = f"Σ_k w_k must be 1 (±{tol:.2g}) in training"
        if not bad:
            return "pass", f"{must}: {held}; worst |Σ_k w_k − 1| = " \
                           f"{_g(worst)}"
        return "fail", f"{must}, got |Σ_k w_k − 1| = {_g(value)} first at {_where(s, p)}; {of}; worst {_g(worst)}"
    if prop == "positivity":
        must = "every w_k must be > 0 in training"
        if not bad:
            return "pass", f"{must}: {held}; smallest weight " \
                           f"{_g(worst)}"
        return "fail", f"{must}, got w_{detail} = {_g(value)} first at {_where(s, p)}; {of}"
    if prop == "bounds":
        lo, hi = spec.bounds  # type: ignore[misc]
        must = f"w_k must lie in the declared [w_min, w_max] = [{_g(lo)}, {_g(hi)}] (±{tol:.2g}) in training"
        if not bad:
            return "pass", f"{must}: {held}; observed {_range(s)}"
        return "fail", f"{must}, got w_{detail} = {_g(value)} first at {_where(s, p)}; {of}; observed {_range(s)}"
    where = f"on the safety-critical tokens {list(spec.safety_tokens)}"
    if not bad:
        return "pass", (f"{where}, every safer teacher's weight must be ≥ the less safe one's (−{tol:.2g}) in "
                        f"training: {held}; smallest margin "
                        f"w_safer − w_less_safe = {_g(worst)}")  # type: ignore[arg-type]
    a, c = spec.safety_pairs[detail] if detail >= 0 else spec.safety_pairs[0]
    return "fail", (f"{where}: teacher {a} is ranked safer than teacher {c}, so w_{a} ≥ w_{c} (−{tol:.2g}) is "
                    f"required in training, got w_{a} − w_{c} = {_g(value)} first at {_where(s, p)}; {of}")


def guard_report(state: GuardState, spec: GuardSpec, operator: str, scale: str, **kwargs: Any) -> Report:
    """A `Report` of the four guarded properties of one training run of `operator`
    (its declared spec is what the guard checked); `kwargs` go to `guard_results`."""
    spec_d: dict[str, Any] = {"bounds": list(spec.bounds) if spec.bounds else None}
    if spec.has_safety:
        spec_d["safety"] = {"tokens": list(spec.safety_tokens), "pairs": [list(p) for p in spec.safety_pairs]}
    return Report(operator=operator, scale=scale, results=tuple(guard_results(state, spec, **kwargs)),
                  seed=kwargs.get("seed") or 0, world={"teachers": spec.teachers}, spec=spec_d)


def training_run(reports: Iterable[Report], *, description: str = "",
                 settings: Mapping[str, Any] | None = None, elapsed_s: float = 0.0) -> Run:
    """A `Run` with one suite, "training", holding one item per report of guarded weights: what
    `output.files.write_all` (JSON, JUnit, Markdown, HTML) and the text renderer take.
    Every property is expected to hold (`expected = "pass"`)."""
    items = []
    for rep in reports:
        outcomes = [Outcome(suite=TRAINING_SUITE, item=rep.operator, operator=rep.operator, scale=rep.scale,
                            axiom=r.axiom, paper_ref=r.paper_ref, status=r.status, expected="pass",
                            message=r.message, reproduce=r.reproduce, counterexample=r.counterexample)
                    for r in rep.results]
        items.append(ItemRun(suite=TRAINING_SUITE, item=rep.operator, source="weights observed in training",
                             report=rep, outcomes=outcomes, settings=dict(settings or {}),
                             description=description))
    suite = SuiteRun(name=TRAINING_SUITE, path=None, items=items,
                     description=description or "The weights the KD kernel received, checked in every training "
                                                "step by the weight guard.")
    return Run(suites=[suite], elapsed_s=elapsed_s)
