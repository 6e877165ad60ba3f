"""Operators that misbehave on purpose, to show (and test) what `verify()` reports.

They are built with `register=False`: they are not in the default registry,
so `ac.operators()` and any "every built-in passes" run never see them.  Use
`MISBEHAVING[name]`, or call `register_all()` to add them (e.g. to try them
from the command line).  `EXPECTED_MISBEHAVIOR[name]` lists the check ids
that must come back `fail` or `error` (others may fail too).

`bad_slow` sleeps `SLOW_SECONDS` (60 s) on every call, which only a per-call
timeout stops; `slow_operator(seconds)` builds one with another duration, so a
test can pair a 2 s sleep with `verify(..., timeout=0.5)`.

>>> sorted(MISBEHAVING) == sorted(EXPECTED_MISBEHAVIOR)
True
"""

from __future__ import annotations

import time

import numpy as np

from axiomcheck.library import _numerics as nx
from axiomcheck.spec.decorators import context_operator, task_operator, token_operator
from axiomcheck.spec.operator import Operator
from axiomcheck.spec.registry import register

__all__ = ["MISBEHAVING", "EXPECTED_MISBEHAVIOR", "SLOW_SECONDS", "register_all", "slow_operator"]

K = nx.WORLD_TEACHERS
#: How long `bad_slow` sleeps on each call (read at call time, so it can be changed).
SLOW_SECONDS = 60.0


def _uniform(context: np.ndarray, teachers: int = K) -> np.ndarray:
    return np.full((np.asarray(context).shape[0], teachers), 1.0 / teachers)


@context_operator(name="bad_raises", register=False)
def bad_raises(context, teachers=K):
    """Raises on an all-zero context: it divides by ‖c‖ and checks for it."""
    c = nx.f64(context)
    norm = np.sqrt((c * c).sum(axis=1))
    if (norm == 0.0).any():
        raise ZeroDivisionError("context with zero norm: cannot normalize the direction c/‖c‖")
    return nx.softmax(np.tanh(nx.project(c / norm[:, None], teachers)))


@task_operator(name="bad_nan", register=False)
def bad_nan(losses, sizes):
    """w_tk ∝ 1/ℓ_tk with no epsilon: a zero loss gives inf/inf = NaN."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = 1.0 / nx.f64(losses)
        return r / r.sum(axis=2, keepdims=True)


@context_operator(name="bad_shape", register=False)
def bad_shape(context, teachers=K):
    """Returns `[B, K+1]`: a "bias" column appended to the teacher weights."""
    w = _uniform(context, teachers + 1)
    return w


@token_operator(name="bad_dtype", register=False)
def bad_dtype(probs, context):
    """Returns integer vote counts (tokens where teacher k is most confident), not float weights."""
    p = np.asarray(probs)
    top = p.max(axis=2)
    wins = top == top.max(axis=1, keepdims=True)
    return wins.astype(np.int64)


@token_operator(name="bad_nondeterministic", register=False)
def bad_nondeterministic(probs, context):
    """`entropy_exp`-like weights plus fresh random noise on every call (an unseeded dropout)."""
    p = nx.f64(probs)
    rng = np.random.default_rng()
    z = -2.0 * nx.normalized_entropy(p) + 0.1 * rng.standard_normal(p.shape[:2])
    return nx.softmax(z)


@context_operator(name="bad_batch_dependent", register=False)
def bad_batch_dependent(context, teachers=K):
    """Standardizes each context feature with the batch mean and std (a batch-norm leak), then a softmax."""
    c = nx.f64(context)
    c = np.tanh(c / 1e3)
    mu = c.mean(axis=0, keepdims=True)
    sd = c.std(axis=0, keepdims=True) + 1e-3
    return nx.softmax(nx.project((c - mu) / sd, teachers))


def slow_operator(seconds: float | None = None, name: str = "bad_slow") -> Operator:
    """A uniform context operator that sleeps before answering (`seconds=None`: read `SLOW_SECONDS` per call)."""

    def slow(context, teachers=K):
        time.sleep(SLOW_SECONDS if seconds is None else float(seconds))
        return _uniform(context, teachers)

    slow.__doc__ = f"Sleeps {'SLOW_SECONDS' if seconds is None else seconds} s per call, then returns 1/K."
    return context_operator(slow, name=name, bounds=(0.25, 0.25), register=False)


bad_slow = slow_operator()

#: name -> operator, none of them in the default registry.
MISBEHAVING: dict[str, Operator] = {op.name: op for op in (
    bad_raises, bad_nan, bad_shape, bad_dtype, bad_nondeterministic, bad_batch_dependent, bad_slow)}

#: name -> check ids that must be reported `fail` or `error`.
EXPECTED_MISBEHAVIOR: dict[str, set[str]] = {
    "bad_raises": {"context.finite"},
    "bad_nan": {"task.finite"},
    "bad_shape": {"context.shape"},
    "bad_dtype": {"token.shape"},
    "bad_nondeterministic": {"token.deterministic"},
    "bad_batch_dependent": {"context.batch_independent"},
    "bad_slow": {"context.shape", "context.finite"},
}


def register_all(*, replace: bool = True) -> list[Operator]:
    """Add every misbehaving operator to the registry (off by default); returns them."""
    return [register(op, replace=replace) for op in MISBEHAVING.values()]
