"""KD problems the training-time checks run on, and how an operator's weights enter them.

A `KDProblem` is plain data: student features φ [N, F] (last column the bias
1), teacher logits [K, N, V], each sample's context [N, D] and task id, the
teachers' validation losses per task [M, K] and the task data sizes [M] (the
inputs a task-scale operator reads), ground-truth labels, the safety-critical
classes S and which samples lie in safety-critical contexts C_safe, and the ℓ2
strength λ that makes the objective strongly convex.

`weights_for(op, problem)` calls any operator — token, task, context or
composed (`unified`) — on the problem's inputs and returns the teacher weights
per sample, `[K, N]` or `[K, N, V]` (per token), the layout of the kernels.

`realizable_problem(op)` is the problem of Thm VI.2(iii): a synthetic world of
K = 4 teachers of different reliability (one degrades in safety-critical
contexts, tasks of different abundance) whose student features contain
log q, the operator's own weighted ensemble — so a linear softmax student can
represent the target exactly (assumption A3), and λ‖θ‖²/2 makes the loss
strongly convex.

>>> import numpy as np
>>> from axiomcheck.dynamics.problem import realizable_problem, uniform_like, weights_for
>>> prob = realizable_problem(None, n=64)
>>> w = weights_for(uniform_like("context", prob.teachers), prob)
>>> w.values.shape, float(w.lo), float(w.hi)
((4, 64), 0.25, 0.25)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from ..spec.decorators import context_operator, task_operator, token_operator
from ..spec.operator import Operator
from . import _numerics as nx

__all__ = [
    "KDProblem",
    "Weights",
    "WeightsError",
    "DEFAULT_CRITICAL_CLASSES",
    "DEFAULT_L2",
    "realizable_problem",
    "synthetic_world",
    "resolve_operator",
    "uniform_like",
    "weights_for",
    "critical_classes_of",
    "critical_context_of",
]

#: ℓ2 strength λ of the realizable problem: strong convexity with a KL floor of ~0.1–0.2 nat at θ*.
DEFAULT_L2 = 3e-3
#: S used when the operator declares no safety-critical tokens (the project's default S).
DEFAULT_CRITICAL_CLASSES = (3, 7)


class WeightsError(RuntimeError):
    """The operator could not produce usable weights on the problem (raised, NaN, wrong shape)."""


@dataclasses.dataclass(frozen=True)
class KDProblem:
    """A distillation problem: everything a training-time check needs, as arrays."""

    name: str
    features: np.ndarray  # [N, F] float64, last column = 1
    teacher_logits: np.ndarray  # [K, N, V]
    context: np.ndarray  # [N, D]
    task_ids: np.ndarray  # [N] int
    task_losses: np.ndarray  # [M, K]
    task_sizes: np.ndarray  # [M]
    labels: np.ndarray  # [N] int
    critical_classes: tuple[int, ...]
    critical_context: np.ndarray  # [N] bool: the sample lies in C_safe
    l2: float
    description: str = ""

    @property
    def teachers(self) -> int:
        return int(self.teacher_logits.shape[0])

    @property
    def size(self) -> int:
        return int(self.features.shape[0])

    @property
    def vocab(self) -> int:
        return int(self.teacher_logits.shape[2])

    @property
    def tasks(self) -> int:
        return int(self.task_losses.shape[0])

    @property
    def teacher_probs(self) -> np.ndarray:
        """softmax of the teacher logits, [K, N, V] float64."""
        return nx.softmax(self.teacher_logits)

    @property
    def critical_samples(self) -> np.ndarray:
        """bool [N]: the label is a safety-critical class (y* ∈ S)."""
        return np.isin(self.labels, np.asarray(self.critical_classes, dtype=int))

    def replace(self, **changes: Any) -> KDProblem:
        return dataclasses.replace(self, **changes)

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "N": self.size, "K": self.teachers, "V": self.vocab, "M": self.tasks,
                "F": int(self.features.shape[1]), "D": int(self.context.shape[1]), "l2": self.l2,
                "critical_classes": list(self.critical_classes),
                "critical_context_share": float(np.mean(self.critical_context)),
                "task_sizes": self.task_sizes.tolist(), "description": self.description}


@dataclasses.dataclass(frozen=True)
class Weights:
    """An operator's teacher weights on a problem, in the kernels' layout."""

    values: np.ndarray  # [K, N] or [K, N, V], float64
    per_token: bool
    lo: float  # smallest weight observed
    hi: float  # largest weight observed
    sum_error: float  # max |Σ_k w_k − 1| (the kernels renormalize; reported, not fixed)

    @property
    def ratio(self) -> float:
        """w_max / w_min observed (inf when some weight is 0)."""
        return float(self.hi / self.lo) if self.lo > 0 else float("inf")


# ----------------------------------------------------------------------------- operators


def resolve_operator(spec: Operator | str) -> Operator:
    """An `Operator`, a registered name, `module:attr` or `file.py:attr` naming one (or a zero-arg factory).

    `axiomcheck.library.lookup.resolve`, so a reference means the same here as in `axiomcheck verify`.
    """
    from ..library.lookup import resolve

    return resolve(spec, factory=True)


def uniform_like(scale: str | Operator, teachers: int) -> Operator:
    """The uniform operator (w_k = 1/K) at a scale — or, for a composed operator, at each of its scales."""
    if isinstance(scale, Operator):
        if scale.scale == "unified":
            from ..spec.compose import compose

            return compose(*(uniform_like(c.scale, teachers) for c in scale.components),
                           name="uniform(" + ",".join(c.scale for c in scale.components) + ")")
        scale = scale.scale
    k = int(teachers)
    bounds = (1.0 / k, 1.0 / k)
    if scale == "token":
        return token_operator(lambda probs, context: np.full(np.shape(probs)[:2], 1.0 / np.shape(probs)[1]),
                              name="uniform_token_dyn", bounds=bounds, lipschitz=0.0, register=False)
    if scale == "task":
        return task_operator(lambda losses, sizes: np.full(np.shape(losses), 1.0 / np.shape(losses)[2]),
                             name="uniform_task_dyn", bounds=bounds, lipschitz=0.0, register=False)
    if scale == "context":
        return context_operator(lambda context: np.full((np.shape(context)[0], k), 1.0 / k),
                                name="uniform_context_dyn", bounds=bounds, lipschitz=0.0, register=False)
    raise ValueError(f"scale must be token, task, context or an Operator, got {scale!r}")


def _components(op: Operator) -> tuple[Operator, ...]:
    return op.components if op.scale == "unified" else (op,)


def critical_classes_of(op: Operator | None, vocab: int) -> tuple[int, ...]:
    """S: the token ids the operator (or its token component) declares safety-critical, else (3, 7)."""
    if op is not None:
        for c in _components(op):
            if c.safety is not None and c.safety.tokens is not None:
                toks = tuple(t for t in c.safety.tokens if t < vocab)
                if toks:
                    return toks
    return tuple(t for t in DEFAULT_CRITICAL_CLASSES if t < vocab) or (0,)


def critical_context_of(op: Operator | None) -> Callable[[np.ndarray], np.ndarray]:
    """C_safe: the context predicate the operator (or its context component) declares, else c₀ > 0."""
    if op is not None:
        for c in _components(op):
            if c.safety is not None and c.safety.contexts is not None:
                pred = c.safety.contexts
                return lambda ctx, pred=pred: np.asarray(pred(ctx), dtype=bool)
    return lambda ctx: np.asarray(ctx)[:, 0] > 0


def _call(op: Operator, *args: Any) -> np.ndarray:
    try:
        out = np.asarray(op.fn(*args))
    except Exception as exc:  # the operator misbehaved: reported as an `error` result
        raise WeightsError(f"operator {op.name!r} must return weights, but raised {type(exc).__name__}: {exc}") from exc
    if not np.issubdtype(out.dtype, np.floating):
        raise WeightsError(f"operator {op.name!r} must return floating weights, got dtype {out.dtype}")
    return out.astype(np.float64)


def weights_for(op: Operator, problem: KDProblem) -> Weights:
    """Teacher weights of `op` on every sample of `problem`, `[K, N]` or `[K, N, V]`.

    token: `fn(probs[N,K,V], context[N,D])`; task: `fn(losses[1,M,K], sizes[1,M])`,
    then each sample takes its task's row; context: `fn(context[N,D])`; unified:
    `fn(probs, context, losses[N,M,K], sizes[N,M])`, each sample's task slice.
    Per-token weights that do not vary over the vocabulary are collapsed to
    `[K, N]`.  Raises `WeightsError` when the operator raises or returns
    something that is not a finite, non-negative weight array of that shape.
    """
    k, n, v = problem.teacher_logits.shape
    m = problem.tasks
    probs = np.transpose(problem.teacher_probs, (1, 0, 2))  # [N, K, V]
    ctx = np.asarray(problem.context, dtype=np.float64)
    if op.scale == "token":
        w = _call(op, probs, ctx)
        if w.shape not in ((n, k), (n, k, v)):
            raise WeightsError(f"token operator {op.name!r} must return [N,K]={(n, k)} or [N,K,V]={(n, k, v)}, got {w.shape}")
        w = np.moveaxis(w, 1, 0)
    elif op.scale == "task":
        w = _call(op, problem.task_losses[None].astype(np.float64), problem.task_sizes[None].astype(np.float64))
        if w.shape != (1, m, k):
            raise WeightsError(f"task operator {op.name!r} must return [1,M,K]={(1, m, k)}, got {w.shape}")
        w = w[0][problem.task_ids].T
    elif op.scale == "context":
        w = _call(op, ctx)
        if w.shape != (n, k):
            raise WeightsError(f"context operator {op.name!r} must return [N,K]={(n, k)}, got {w.shape}")
        w = w.T
    else:
        losses = np.broadcast_to(problem.task_losses[None], (n, m, k)).astype(np.float64)
        sizes = np.broadcast_to(problem.task_sizes[None], (n, m)).astype(np.float64)
        w = _call(op, probs, ctx, losses, sizes)
        if w.shape != (n, m, k, v):
            raise WeightsError(f"unified operator {op.name!r} must return [N,M,K,V]={(n, m, k, v)}, got {w.shape}")
        w = np.moveaxis(w[np.arange(n), problem.task_ids], 1, 0)  # [K, N, V]
    if not np.all(np.isfinite(w)):
        raise WeightsError(f"operator {op.name!r} must return finite weights, got {int(np.sum(~np.isfinite(w)))} non-finite")
    if np.any(w < 0):
        raise WeightsError(f"operator {op.name!r} must return weights ≥ 0, got min {float(w.min()):.3g}")
    if w.ndim == 3 and np.all(w == w[:, :, :1]):
        w = w[:, :, 0]
    total = w.sum(axis=0)
    if np.any(total <= 0):
        raise WeightsError(f"operator {op.name!r} must give some teacher positive weight at every sample, got Σ_k w_k = 0")
    return Weights(values=w, per_token=w.ndim == 3, lo=float(w.min()), hi=float(w.max()),
                   sum_error=float(np.max(np.abs(total - 1.0))))


# ----------------------------------------------------------------------------- synthetic worlds

#: (logit scale, noise, extra noise in safety-critical contexts, task skill spread) per teacher:
#: a reliable one, an over-confident one that breaks down in C_safe, a middling one, a weak one.
_TEACHERS = ((1.0, 0.5, 0.0, 0.2), (1.6, 0.8, 2.5, 0.6), (0.7, 0.8, 0.3, 0.4), (0.3, 1.5, 0.0, 0.2))


def synthetic_world(*, seed: int = 0, n: int = 512, teachers: int = 4, vocab: int = 10, context_dim: int = 3,
                    tasks: int = 3, input_dim: int = 4, l2: float = 1e-2,
                    critical_classes: tuple[int, ...] | None = None,
                    critical_context: Callable[[np.ndarray], np.ndarray] | None = None) -> KDProblem:
    """A seeded synthetic KD world whose student sees only the raw inputs x (not realizable).

    Labels follow a random linear model of x; teacher k's logits are a scaled,
    noisy copy of the true logits, with task-specific skill and (teacher 1)
    extra noise in safety-critical contexts; tasks have decreasing abundance.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, input_dim))
    true = x @ (1.2 * rng.normal(size=(input_dim, vocab)))
    labels = np.argmax(true + rng.gumbel(size=true.shape), axis=1)
    context = rng.normal(size=(n, context_dim))
    pred = critical_context or (lambda c: c[:, 0] > 0)
    crit_ctx = np.asarray(pred(context), dtype=bool)
    share = 0.5 ** np.arange(tasks)
    task_ids = rng.choice(tasks, size=n, p=share / share.sum())
    logits = np.empty((teachers, n, vocab))
    for k in range(teachers):
        scale, noise, extra, spread = _TEACHERS[k % len(_TEACHERS)]
        skill = 1.0 + spread * rng.random(tasks)  # per-task noise multiplier
        sigma = noise * skill[task_ids] + extra * crit_ctx
        logits[k] = scale * true + sigma[:, None] * rng.normal(size=(n, vocab))
    losses = np.zeros((tasks, teachers))
    for t in range(tasks):
        sel = task_ids == t
        if np.any(sel):
            ls = nx.log_softmax(logits[:, sel])  # [K, n_t, V]
            losses[t] = -np.mean(ls[:, np.arange(int(sel.sum())), labels[sel]], axis=1)
    sizes = np.bincount(task_ids, minlength=tasks).astype(np.float64)
    crit = critical_classes if critical_classes is not None else tuple(c for c in DEFAULT_CRITICAL_CLASSES if c < vocab)
    phi = _standardize(x)
    return KDProblem(name="synthetic", features=phi, teacher_logits=logits, context=context, task_ids=task_ids,
                     task_losses=losses, task_sizes=sizes, labels=labels, critical_classes=tuple(crit),
                     critical_context=crit_ctx, l2=float(l2),
                     description=f"synthetic world (seed {seed}): N={n}, K={teachers}, V={vocab}, "
                                 f"D={context_dim}, M={tasks}; student sees x only")


def _standardize(cols: np.ndarray) -> np.ndarray:
    """Standardized columns scaled so a typical row has norm ≈ 1, plus a bias column of 1."""
    cols = np.asarray(cols, dtype=np.float64)
    sd = cols.std(axis=0)
    z = (cols - cols.mean(axis=0)) / np.where(sd > 1e-12, sd, 1.0)
    z = z / np.sqrt(cols.shape[1])
    return np.c_[z, np.ones(len(z))]


def realizable_problem(op: Operator | str | None, *, seed: int = 0, n: int = 512, vocab: int = 10,
                       context_dim: int = 3, tasks: int = 3, teachers: int = 4, l2: float = DEFAULT_L2) -> KDProblem:
    """The realizable problem of Thm VI.2(iii) for `op` (None: uniform weights).

    The student's features are [log q_G(x), x] (standardized) plus a bias, where
    q_G is `op`'s weighted ensemble: θ = (rescaled identity on the log q block)
    reproduces q_G exactly, so the student class contains the target (A3); the
    ℓ2 term makes the loss λ-strongly convex.  S and C_safe follow what `op`
    declares (else S = {3, 7} and C_safe = {c₀ > 0}).
    """
    op = resolve_operator(op) if op is not None else None
    base = synthetic_world(seed=seed, n=n, teachers=teachers, vocab=vocab, context_dim=context_dim, tasks=tasks,
                           l2=l2, critical_classes=critical_classes_of(op, vocab),
                           critical_context=critical_context_of(op))
    w = weights_for(op if op is not None else uniform_like("context", teachers), base)
    logq = np.log(np.maximum(nx.ensemble(base.teacher_probs, w.values), 1e-300))
    x = base.features[:, :-1]
    phi = _standardize(np.c_[logq, x])
    return base.replace(name="realizable", features=phi,
                        description=base.description.replace("student sees x only",
                                                             "student sees [log q_G, x]: realizable (A3)"))
