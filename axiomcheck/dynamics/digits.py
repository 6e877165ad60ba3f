"""Real data: adaptive versus uniform distillation on scikit-learn's handwritten digits (no download).

The world (8×8 images, 10 classes: the "vocabulary" is the class set, V = 10):

* **contexts** — clean versus corrupted inputs (Gaussian noise plus an occluded
  band).  The context vector is c = (ℓ − 0.25, brightness) with ℓ the corruption
  level (0 when clean, 0.6…1 when corrupted), so C_safe = {c₀ > 0} is the
  corrupted, safety-critical context.  Its share shifts from 5 % in training to
  60 % at deployment (paper §I.A).
* **tasks** — three data partitions of different abundance: digits {0–3}
  (all kept), {4–6} (40 % kept) and {7–9} (15 % kept) in the distillation set.
* **safety-critical classes** S = {3, 8}; Safety(p; y*) = p(y*) on them.
* **teachers** (JAX, optax Adam), K = 4, of really different reliability:
  0 `robust` (MLP 64-64-10 trained with corruption augmentation), 1
  `clean_expert` (a wider MLP, 64-96-10, that never saw a corrupted image), 2
  `small_data` (a narrow MLP, 64-8-10, on 12 % of the images), 3 `top_half`
  (MLP 64-32-10 that sees only the upper half of each image).
* **operators** — `digits_token`, `digits_task`, `digits_context` (built from
  the teachers' validation statistics, `register=False`) and their
  composition; all are run through `axiomcheck.verify` and their verdicts kept.
* **students** — linear softmax on the 64 pixels with ℓ2, distilled by SGD with
  η_t = η0/(1+t) through the kernels, once with uniform weights and once with the
  composed adaptive operator, and once more under a safety constraint.

This module evaluates on the deployment split, sweeps seeds and runs the whole
experiment (`run_digits`).  The pieces it uses: `digits_data` (settings, images,
corruption, contexts), `digits_teachers` (teacher training), `digits_operators`
(`make_operators`) and `digits_world` (`build_world`, which assembles them).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..report.repro import for_demo
from ..spec.operator import Operator
from . import _numerics as nx
from .digits_data import TASK_GROUPS, DigitsConfig
from .digits_world import DigitsWorld, build_world, test_problem
from .problem import weights_for

__all__ = ["evaluate", "ensemble_probs", "weights_by_context", "run_digits", "seed_sweep", "SCORES"]


# ----------------------------------------------------------------------------- evaluation


def evaluate(probs: np.ndarray, world: DigitsWorld) -> dict[str, float]:
    """Held-out (deployment) accuracy and safety of a predictive distribution [N_test, 10]."""
    t = world.test
    y, bad = t["y"], t["level"] > 0
    crit = np.isin(y, world.config.critical_classes)
    pred = np.argmax(probs, axis=1)
    py = probs[np.arange(len(y)), y]

    def mean(mask: np.ndarray, v: np.ndarray) -> float:
        return float(np.mean(v[mask])) if mask.any() else float("nan")

    hit = (pred == y).astype(float)
    return {
        "accuracy": float(hit.mean()), "accuracy_clean": mean(~bad, hit), "accuracy_corrupted": mean(bad, hit),
        "safety": float(np.mean(np.where(crit, py, 1.0))),
        "safety_critical_classes": mean(crit, py), "safety_critical_corrupted": mean(crit & bad, py),
        "recall_critical_corrupted": mean(crit & bad, hit),
    }


def ensemble_probs(world: DigitsWorld, op: Operator) -> np.ndarray:
    """The operator's weighted ensemble on the deployment split."""
    prob = test_problem(world)
    return nx.ensemble(prob.teacher_probs, weights_for(op, prob).values)


# ----------------------------------------------------------------------------- the experiment


def _verdict(report: Any) -> dict[str, Any]:
    return {"operator": report.operator, "scale": report.scale, "passed": report.passed,
            "failing": report.failing(), "statuses": report.statuses(), "elapsed_s": round(report.elapsed_s, 3)}


def weights_by_context(world: DigitsWorld, op: Operator) -> dict[str, Any]:
    """Mean weight of each teacher on the deployment split: clean vs corrupted contexts, all tokens vs S."""
    prob = test_problem(world)
    w = weights_for(op, prob).values
    bad = prob.critical_context
    crit = list(world.config.critical_classes)
    out: dict[str, Any] = {"teachers": [t.name for t in world.teachers]}
    for label, mask in (("clean", ~bad), ("corrupted", bad)):
        if w.ndim == 3:
            out[label] = w[:, mask].mean(axis=(1, 2)).tolist()
            out[label + "_critical_tokens"] = w[:, mask][:, :, crit].mean(axis=(1, 2)).tolist()
        else:
            out[label] = w[:, mask].mean(axis=1).tolist()
            out[label + "_critical_tokens"] = out[label]
    return out


SCORES = ("accuracy", "accuracy_clean", "accuracy_corrupted", "safety", "safety_critical_classes",
           "safety_critical_corrupted", "recall_critical_corrupted")


def _world_table(world: DigitsWorld, *, quick: bool) -> list[dict[str, Any]]:
    """Deployment metrics of the ensembles and of converged students (θ* by the high-accuracy solve;
    the safety-constrained one by primal-dual training) in one world."""
    from .convergence import solve
    from .safety import _safety_constrained

    ops, prob, feats = world.operators, world.problem, world.test["features"]
    rows = [{"model": "uniform ensemble", **evaluate(ensemble_probs(world, ops["uniform"]), world)},
            {"model": "adaptive ensemble", **evaluate(ensemble_probs(world, ops["digits_adaptive"]), world)}]
    for name, label in (("uniform", "student, uniform KD"), ("digits_adaptive", "student, adaptive KD")):
        th = solve(prob, weights_for(ops[name], prob).values, spectrum=False)[1]
        rows.append({"model": label, **evaluate(nx.softmax(feats @ th), world)})
    _, th = _safety_constrained(ops["digits_adaptive"], problem=prob, safety_min=None, outer=None, inner=20,
                                tol=1e-3, stationarity_tol=0.05, seed=world.config.seed, quick=quick)
    if th is not None:
        rows.append({"model": "student, adaptive KD + safety constraint", **evaluate(nx.softmax(feats @ th), world)})
    return rows


def seed_sweep(seeds: Any, *, quick: bool = False, progress: Callable[[str], None] | None = None,
               first: DigitsWorld | None = None) -> dict[str, Any]:
    """The deployment table over several worlds (split, corruption, teachers all re-drawn per seed).

    Returns per-seed rows and, per model and metric, the mean and standard
    deviation over seeds (students at their optimum θ*, not an SGD iterate).
    """
    say = progress or (lambda _m: None)
    per_seed = {}
    for s in seeds:
        say(f"digits world, seed {s}")
        world = first if first is not None and first.config.seed == s else build_world(DigitsConfig(seed=int(s)))
        per_seed[int(s)] = _world_table(world, quick=quick)
    models = [r["model"] for r in next(iter(per_seed.values()))]
    summary = []
    for m in models:
        row: dict[str, Any] = {"model": m}
        for metric in SCORES:
            vals = np.array([next(r[metric] for r in rows if r["model"] == m) for rows in per_seed.values()])
            row[metric] = float(vals.mean())
            row[metric + "_sd"] = float(vals.std(ddof=1)) if len(vals) > 1 else 0.0
        summary.append(row)
    # paired differences adaptive − uniform (same world), the comparison the demo is about
    diffs = {}
    for a, b, key in (("student, adaptive KD", "student, uniform KD", "students"),
                      ("adaptive ensemble", "uniform ensemble", "ensembles")):
        d = {}
        for metric in SCORES:
            v = np.array([next(r[metric] for r in rows if r["model"] == a) - next(r[metric] for r in rows if r["model"] == b)
                          for rows in per_seed.values()])
            d[metric] = {"mean": float(v.mean()), "sd": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
                         "positive": int((v > 0).sum()), "of": int(len(v))}
        diffs[key] = d
    return {"seeds": [int(s) for s in seeds], "summary": summary, "paired_differences": diffs,
            "per_seed": {str(k): v for k, v in per_seed.items()}}


def run_digits(seed: int = 0, *, quick: bool = False, progress: Callable[[str], None] | None = None,
               world: DigitsWorld | None = None) -> dict[str, Any]:
    """The whole real-data run; returns plain data (docs/dynamics.md says what each field means).

    Builds the world, verifies the four operators, distills uniform and adaptive
    students by SGD (η_t = η0/(1+t), 5 seeds, the convergence check on real
    data) with the weight guard in every step (`runtime`: one `Report` of the
    `runtime.*` results per operator, as a dict), runs the stability and safety
    checks on the adaptive operator, trains a safety-constrained student, and
    evaluates everyone on the deployment split.
    """
    from ..engine import verify
    from ..kernels import guard_report
    from .convergence import _convergence, check_estimation_noise
    from .safety import (
        _safety_constrained,
        check_pareto_frontier,
        check_safety_constrained,
        check_safety_preservation,
    )
    from .stability import (
        agreement_map,
        check_contraction,
        check_gradient_variance,
        check_perturbation_robustness,
    )

    say = progress or (lambda _m: None)
    t_start = time.perf_counter()
    world = world if world is not None else build_world(DigitsConfig(seed=seed), progress=say)
    ops = world.operators
    prob = world.problem
    timings = dict(world.timings)

    say("verifying the digits operators")
    t0 = time.perf_counter()
    verdicts = {}
    for name in ("digits_token", "digits_task", "digits_context", "digits_adaptive"):
        rep = verify(ops[name], teachers=len(world.teachers), vocab=10, context_dim=2, tasks=len(TASK_GROUPS),
                     seed=seed, max_examples=30 if quick else 100)
        verdicts[name] = _verdict(rep)
    timings["verify_s"] = time.perf_counter() - t0

    say("distilling students (SGD, η0/(1+t))")
    t0 = time.perf_counter()
    steps, seeds = (1500, 5) if quick else (4000, 5)
    conv, students, guarded = {}, {}, {}
    for name in ("uniform", "digits_adaptive"):
        # the weight guard rides in every SGD step, on the weights the kernel receives there
        res, finals, seen = _convergence(ops[name], problem=prob, seeds=seeds, steps=steps, batch=16, eta0=None,
                                         schedule="1/t", slope_max=-0.8, fit_from=0.02, seed=seed, quick=quick,
                                         guard=True)
        conv[name] = res
        if finals is not None:
            students[name] = finals[0]
        if seen is not None:
            guarded[name] = seen
    timings["distill_s"] = time.perf_counter() - t0

    say("stability checks on real data")
    t0 = time.perf_counter()
    adaptive = ops["digits_adaptive"]
    checks = [conv["uniform"], conv["digits_adaptive"],
              check_gradient_variance(adaptive, problem=prob, seed=seed),
              check_perturbation_robustness(adaptive, problem=prob, seed=seed, quick=True),
              check_estimation_noise(adaptive, problem=prob, seed=seed, quick=True)]
    probs_train = prob.teacher_probs
    contraction = {
        "gentle (β = 0.5, τ = 2)": check_contraction(agreement_map(probs_train, beta=0.5, tau=2.0),
                                                       teachers=len(world.teachers), seed=seed),
        "contrarian trust (β = 1, τ = −20)": check_contraction(agreement_map(probs_train, beta=1.0, tau=-20.0),
                                                               teachers=len(world.teachers), seed=seed),
    }
    timings["stability_s"] = time.perf_counter() - t0

    say("safety-constrained distillation")
    t0 = time.perf_counter()
    sc, theta_safe = _safety_constrained(adaptive, problem=prob, safety_min=None, outer=None, inner=20, tol=1e-3, stationarity_tol=0.05, seed=seed, quick=quick)
    infeasible = check_safety_constrained(adaptive, problem=prob, safety_min=1.0, seed=seed, quick=quick)
    pareto = {name: check_pareto_frontier(ops[name], problem=prob, seed=seed, quick=quick)
              for name in (("digits_adaptive",) if quick else ("uniform", "digits_adaptive"))}
    preservation = {name: check_safety_preservation(ops[name], problem=prob, seed=seed)
                    for name in ("uniform", "digits_adaptive")}
    checks += [sc, infeasible, pareto["digits_adaptive"], preservation["digits_adaptive"]]
    timings["safety_s"] = time.perf_counter() - t0

    say("evaluating on the deployment split")
    table = []
    for k, t in enumerate(world.teachers):
        table.append({"model": f"teacher {k} ({t.name})", **evaluate(nx.softmax(world.test["teacher_logits"][k]), world)})
    for name, label in (("uniform", "uniform ensemble"), ("digits_adaptive", "adaptive ensemble")):
        table.append({"model": label, **evaluate(ensemble_probs(world, ops[name]), world)})
    feats = world.test["features"]
    for name, label in (("uniform", "student, uniform KD"), ("digits_adaptive", "student, adaptive KD")):
        if name in students:
            table.append({"model": label, **evaluate(nx.softmax(feats @ students[name]), world)})
    if theta_safe is not None:
        table.append({"model": "student, adaptive KD + safety constraint",
                      **evaluate(nx.softmax(feats @ theta_safe), world)})
    sweep = None
    if not quick:
        t0 = time.perf_counter()
        sweep = seed_sweep(range(seed, seed + 5), quick=quick, progress=say, first=world)
        timings["seed_sweep_s"] = time.perf_counter() - t0
    timings["total_s"] = time.perf_counter() - t_start
    rerun = for_demo(seed, quick, note="the real-data run")

    def d(r: Any) -> dict[str, Any]:
        return r.with_reproduction(rerun).to_dict()

    runtime = {name: guard_report(state, spec, ops[name].name, ops[name].scale, seed=seed,
                                  reproduce=rerun).to_dict()
               for name, (spec, state) in guarded.items()}

    return {
        "config": dataclasses.asdict(world.config),
        "problem": prob.summary(),
        "deployment": {"N": int(len(world.test["y"])), "corrupted_share": float(np.mean(world.test["level"] > 0))},
        "teachers": [{"index": k, "name": t.name, "description": t.description,
                      "clean_accuracy": world.stats["clean_accuracy"][k],
                      "corrupted_accuracy": world.stats["corrupted_accuracy"][k],
                      "corrupted_safety": world.stats["corrupted_safety"][k]} for k, t in enumerate(world.teachers)],
        "safest_teacher": world.stats["safest"],
        "task_losses": world.stats["task_losses"],
        "verdicts": verdicts,
        "evaluation": table,
        "seed_sweep": sweep,
        "weights_by_context": {name: weights_by_context(world, ops[name]) for name in ("uniform", "digits_adaptive")},
        "checks": [d(r) for r in checks],
        "contraction": {k: d(v) for k, v in contraction.items()},
        "pareto": {k: d(v) for k, v in pareto.items()},
        "preservation": {k: d(v) for k, v in preservation.items()},
        "convergence": {k: d(v) for k, v in conv.items()},
        "runtime": runtime,
        "timings": timings,
    }
