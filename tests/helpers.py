"""Small hand-made operators shared by the engine tests: one per way to satisfy or break a check."""

from __future__ import annotations

import numpy as np

import axiomcheck as ac


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def entropy(p: np.ndarray) -> np.ndarray:
    safe = np.where(p > 0, p, 1.0)
    return -(p * np.log(safe)).sum(axis=-1)


# Bounds of a softmax over K=4 teachers of scores spanning a range of at most S.
def softmax_bounds(span: float, k: int = 4) -> tuple[float, float]:
    return 1.0 / (1.0 + (k - 1) * np.exp(span)), 1.0 / (1.0 + (k - 1) * np.exp(-span))


def token(fn=None, **kw):
    kw.setdefault("register", False)
    return ac.token_operator(fn, **kw) if fn is not None else ac.token_operator(**kw)


def task(fn=None, **kw):
    kw.setdefault("register", False)
    return ac.task_operator(fn, **kw) if fn is not None else ac.task_operator(**kw)


def context(fn=None, **kw):
    kw.setdefault("register", False)
    return ac.context_operator(fn, **kw) if fn is not None else ac.context_operator(**kw)


def linear_token(probs, ctx):
    """softmax over teachers of a linear map of the probabilities: Lipschitz, bounded."""
    return softmax(2.0 * probs[..., 0] - 1.0 * probs[..., -1])


def linear_task(losses, sizes):
    return softmax(-losses / (1.0 + losses))


def linear_context(c):
    k = np.arange(4.0)
    return softmax(np.tanh(c[:, :1]) * k[None, :] * 0.5)


SCALE_OPS = {
    "token": (token, linear_token, softmax_bounds(3.0)),
    "task": (task, linear_task, softmax_bounds(1.0)),
    "context": (context, linear_context, softmax_bounds(1.5)),
}


def variant(scale: str, transform, **kw):
    """The scale's reference operator with its output passed through `transform`."""
    make, base, bounds = SCALE_OPS[scale]
    kw.setdefault("bounds", bounds)

    def fn(*args):
        return transform(base(*args), *args)

    fn.__name__ = f"{scale}_{getattr(transform, '__name__', 'variant')}"
    return make(fn, name=fn.__name__, **kw)
