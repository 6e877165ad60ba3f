"""The digits world builder: splits the digits, trains the teachers, measures them on the
validation split, builds the operators, the distillation problem and the deployment split.

Splits: train 50 %, validation 20 %, deployment 30 %.  The distillation set is the
training split thinned per task (`DigitsConfig.task_keep`) with a
`train_corrupt_share` of corrupted images; the deployment split has a
`deploy_corrupt_share` of them.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..spec.compose import compose
from ..spec.operator import Operator
from . import _numerics as nx
from .digits_data import (
    TASK_GROUPS,
    DigitsConfig,
    context_vectors,
    corrupt,
    corruption_levels,
    load_digits_arrays,
    student_features,
    task_ids,
)
from .digits_operators import make_operators
from .digits_teachers import Teacher, train_teachers
from .problem import KDProblem, uniform_like

__all__ = ["DigitsWorld", "build_world", "test_problem"]


@dataclasses.dataclass
class DigitsWorld:
    """Everything the digits experiment built: data splits, teachers, statistics, operators, problems."""

    config: DigitsConfig
    teachers: list[Teacher]
    stats: dict[str, Any]
    operators: dict[str, Operator]
    problem: KDProblem  # the distillation (transfer) set
    test: dict[str, np.ndarray]  # deployment split: x, y, level, context, task_ids, features, teacher_logits
    scaler: tuple[np.ndarray, np.ndarray]
    timings: dict[str, float]


def build_world(config: DigitsConfig | None = None, *, progress: Callable[[str], None] | None = None) -> DigitsWorld:
    """Split the digits, train the four teachers, measure them, build the operators and the KD problem."""
    cfg = config or DigitsConfig()
    say = progress or (lambda _m: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    x, y = load_digits_arrays()
    rng = np.random.default_rng(cfg.seed)
    perm = rng.permutation(len(y))
    n_tr, n_va = int(0.5 * len(y)), int(0.2 * len(y))
    tr_idx, va_idx, te_idx = perm[:n_tr], perm[n_tr:n_tr + n_va], perm[n_tr + n_va:]
    say("training 4 teachers")
    teachers = train_teachers(x[tr_idx], y[tr_idx], cfg, rng)
    timings["teachers_s"] = time.perf_counter() - t0

    # validation statistics: clean accuracy, safety on corrupted critical images, per-task losses
    xv, yv = x[va_idx], y[va_idx]
    xv_bad = corrupt(xv, rng.uniform(0.6, 1.0, size=len(yv)), rng)
    crit_v = np.isin(yv, cfg.critical_classes)
    clean_acc, bad_acc, bad_safety, task_losses = [], [], [], np.zeros((len(TASK_GROUPS), len(teachers)))
    lv_val = corruption_levels(len(yv), cfg.train_corrupt_share, rng)
    xv_mix = np.where(lv_val[:, None] > 0, corrupt(xv, lv_val, rng), xv)
    tv = task_ids(yv)
    for k, t in enumerate(teachers):
        clean_acc.append(float(np.mean(np.argmax(t.logits(xv), 1) == yv)))
        lb = t.logits(xv_bad)
        bad_acc.append(float(np.mean(np.argmax(lb, 1) == yv)))
        pb = nx.softmax(lb)
        bad_safety.append(float(np.mean(pb[crit_v, yv[crit_v]])))
        ls = nx.log_softmax(t.logits(xv_mix))
        for task in range(len(TASK_GROUPS)):
            m = tv == task
            task_losses[task, k] = float(-np.mean(ls[m, yv[m]]))
    safest = int(np.argmax(bad_safety))
    stats = {"clean_accuracy": clean_acc, "corrupted_accuracy": bad_acc, "corrupted_safety": bad_safety,
             "task_losses": task_losses.tolist(), "safest": safest, "teacher_names": [t.name for t in teachers],
             "teacher_descriptions": [t.description for t in teachers]}
    tok, task, ctx = make_operators(stats, critical_classes=cfg.critical_classes, teachers=len(teachers))
    adaptive = compose(tok, task, ctx, name="digits_adaptive")
    ops = {"digits_token": tok, "digits_task": task, "digits_context": ctx, "digits_adaptive": adaptive,
           "uniform": uniform_like(adaptive, len(teachers))}

    # the distillation set: training split thinned per task, 5 % corrupted
    ytr = y[tr_idx]
    keep = np.zeros(len(ytr), dtype=bool)
    t_tr = task_ids(ytr)
    for task, frac in enumerate(cfg.task_keep):
        idx = np.nonzero(t_tr == task)[0]
        keep[rng.permutation(idx)[: max(1, int(round(frac * len(idx))))]] = True
    xs, ys = x[tr_idx][keep], ytr[keep]
    lv = corruption_levels(len(ys), cfg.train_corrupt_share, rng)
    xs = np.where(lv[:, None] > 0, corrupt(xs, lv, rng), xs)
    mean, sd = xs.mean(axis=0), np.maximum(xs.std(axis=0), 0.05)
    ts = task_ids(ys)
    problem = KDProblem(
        name="digits", features=student_features(xs, mean, sd),
        teacher_logits=np.stack([t.logits(xs) for t in teachers]),
        context=context_vectors(xs, lv), task_ids=ts, task_losses=task_losses,
        task_sizes=np.bincount(ts, minlength=len(TASK_GROUPS)).astype(np.float64), labels=ys,
        critical_classes=tuple(cfg.critical_classes), critical_context=lv > 0, l2=cfg.l2,
        description=(f"digits distillation set: {len(ys)} images, {int((lv > 0).sum())} corrupted "
                     f"({cfg.train_corrupt_share:.0%}), tasks {TASK_GROUPS} kept at {cfg.task_keep}"))

    # the deployment (test) split: 60 % corrupted
    xt, yt = x[te_idx], y[te_idx]
    lt = corruption_levels(len(yt), cfg.deploy_corrupt_share, rng)
    xt = np.where(lt[:, None] > 0, corrupt(xt, lt, rng), xt)
    test = {"x": xt, "y": yt, "level": lt, "context": context_vectors(xt, lt), "task_ids": task_ids(yt),
            "features": student_features(xt, mean, sd), "teacher_logits": np.stack([t.logits(xt) for t in teachers])}
    timings["world_s"] = time.perf_counter() - t0
    return DigitsWorld(cfg, teachers, stats, ops, problem, test, (mean, sd), timings)


def test_problem(world: DigitsWorld) -> KDProblem:
    """The deployment split as a KDProblem (to compute the operators' weights and ensembles there)."""
    t = world.test
    return world.problem.replace(name="digits-test", features=t["features"], teacher_logits=t["teacher_logits"],
                                 context=t["context"], task_ids=t["task_ids"], labels=t["y"],
                                 critical_context=t["level"] > 0)
