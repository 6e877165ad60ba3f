"""Seeded parametric families of sweep inputs: distributions, contexts, task losses and sizes.

Each family is a named way to draw many inputs at once from a
`numpy.random.Generator`, chosen to reach the edge cases a weighting operator
meets in training: concentrated and flat Dirichlet rows, one-hot and near-one-hot
rows, exact ties, extreme logits, far-out and boundary contexts, zero, tiny and
huge losses.

>>> import numpy as np
>>> dist_pool("one_hot", np.random.default_rng(0), 3, 4).sum(axis=1).tolist()
[1.0, 1.0, 1.0]
"""

from __future__ import annotations

import numpy as np

from .._softmax import softmax


def pooled(pool: np.ndarray, rng: np.random.Generator, n: int, k: int, tie: bool = False) -> np.ndarray:
    """Combine per-teacher distributions from a pool into `[n, k, V]` batches.

    Drawing a small pool and recombining it by index keeps generation far
    cheaper than the operator at large V, with n·k distinct teacher rows.
    """
    if tie:
        idx = np.repeat(rng.integers(0, pool.shape[0], size=(n, 1)), k, axis=1)
    else:
        idx = rng.integers(0, pool.shape[0], size=(n, k))
    return pool[idx]


def dist_pool(name: str, rng: np.random.Generator, size: int, vocab: int) -> np.ndarray:
    """A pool `[size, V]` of distributions over V tokens from family `name`."""
    if name.startswith("dirichlet"):
        alpha = float(name.split("_")[1])
        if alpha == 1.0:
            g = rng.standard_exponential((size, vocab))
        else:
            g = rng.standard_gamma(alpha, (size, vocab))
        g = np.maximum(g, np.finfo(np.float64).tiny)
        return g / g.sum(axis=1, keepdims=True)
    if name == "one_hot":
        p = np.zeros((size, vocab))
        p[np.arange(size), rng.integers(0, vocab, size)] = 1.0
        return p
    if name == "near_one_hot":
        eps = 10.0 ** rng.uniform(-9, -2, size=(size, 1))
        p = np.full((size, vocab), 0.0) + eps / max(vocab - 1, 1)
        top = rng.integers(0, vocab, size)
        p[np.arange(size), top] = 1.0 - eps[:, 0] if vocab > 1 else 1.0
        return p / p.sum(axis=1, keepdims=True)
    if name == "uniform":
        return np.full((size, vocab), 1.0 / vocab)
    if name == "extreme_logits":
        scale = 10.0 ** rng.uniform(1.5, 3.5, size=(size, 1))
        return softmax(rng.standard_normal((size, vocab)) * scale)
    if name == "two_way_tie":
        p = np.zeros((size, vocab))
        if vocab == 1:
            return np.ones((size, 1))
        a = rng.integers(0, vocab, size)
        b = (a + rng.integers(1, vocab, size)) % vocab
        p[np.arange(size), a] = 0.5
        p[np.arange(size), b] = 0.5
        return p
    raise ValueError(f"unknown distribution family {name!r}")


TOKEN_FAMILIES = ("dirichlet_0.1", "dirichlet_1", "dirichlet_10", "one_hot", "near_one_hot", "uniform",
                  "extreme_logits", "two_way_tie")


def context_batch(name: str, rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """Contexts `[n, D]` from family `name`."""
    if name == "gaussian":
        return rng.standard_normal((n, d))
    if name == "wide":
        return rng.standard_normal((n, d)) * 10.0
    if name == "far_out":
        sign = rng.choice([-1.0, 1.0], size=(n, d))
        return sign * 10.0 ** rng.uniform(3, 6, size=(n, d))
    if name == "boundary":
        c = rng.standard_normal((n, d))
        c[:, 0] = rng.choice([0.0, 1e-12, -1e-12, 1e-6, -1e-6], size=n)
        return c
    if name == "zeros":
        return np.zeros((n, d))
    if name == "ties":
        return np.repeat(rng.standard_normal((n, 1)), d, axis=1)
    raise ValueError(f"unknown context family {name!r}")


CONTEXT_FAMILIES = ("gaussian", "wide", "far_out", "boundary", "zeros", "ties")


def task_batch(name: str, rng: np.random.Generator, n: int, m: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Task inputs (losses `[n, M, K]` ≥ 0, sizes `[n, M]` > 0) from family `name`."""
    sizes = np.round(10.0 ** rng.uniform(0, 6, size=(n, m)))
    if name == "uniform_losses":
        losses = rng.uniform(0, 5, size=(n, m, k))
    elif name == "exponential_losses":
        losses = rng.standard_exponential((n, m, k))
    elif name == "zero_losses":
        losses = np.zeros((n, m, k))
    elif name == "huge_losses":
        losses = 10.0 ** rng.uniform(3, 6, size=(n, m, k))
    elif name == "tiny_losses":
        losses = 10.0 ** rng.uniform(-12, -4, size=(n, m, k))
    elif name == "tied_losses":
        losses = np.repeat(rng.uniform(0, 5, size=(n, m, 1)), k, axis=2)
    elif name == "extreme_sizes":
        losses = rng.uniform(0, 5, size=(n, m, k))
        sizes = rng.choice([1.0, 1e9], size=(n, m))
    elif name == "equal_sizes":
        losses = rng.uniform(0, 5, size=(n, m, k))
        sizes = np.full((n, m), 1000.0)
    else:
        raise ValueError(f"unknown task family {name!r}")
    return losses, sizes


TASK_FAMILIES = ("uniform_losses", "exponential_losses", "zero_losses", "huge_losses", "tiny_losses",
                 "tied_losses", "extreme_sizes", "equal_sizes")
