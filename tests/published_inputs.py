"""Hostile inputs for the published ports, and how to call a port on them (shared by the published tests).

The batches reach the edges the engine's sweep families reach for the keyword
inputs: logits of ±1e4, entries masked with −inf (probability exactly 0), the
label masked under one teacher or all of them, one-hot and tied teachers, a
student that is one-hot on a wrong token, uniform or equal to a teacher,
features far out, zero or tied; loss histories that are zero, huge, tiny,
rising, falling or tied, at steps 0, 1, 2 and 10⁶.
"""

from __future__ import annotations

import inspect

import numpy as np

K, V, F, M, D = 4, 16, 8, 3, 3
TOKEN_FAMILIES = ("gaussian", "extreme", "masked", "label_masked_one", "label_masked_all", "one_hot", "ties",
                  "label_argmax")
HISTORY_FAMILIES = ("random", "constant", "rising", "falling", "zero", "zero_old", "huge", "tiny", "tied")


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _students(rng: np.random.Generator, probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    n = probs.shape[0]
    q = rng.dirichlet(np.ones(V), size=n)
    wrong = (labels + 1 + rng.integers(0, V - 1, n)) % V
    kind = np.arange(n) % 4
    q[kind == 1] = np.eye(V)[wrong[kind == 1]]  # confidently wrong: one-hot away from the label
    q[kind == 2] = 1.0 / V
    q[kind == 3] = probs[kind == 3, 0]  # equal to teacher 0
    return q


def _features(rng: np.random.Generator, n: int) -> np.ndarray:
    x = rng.standard_normal((n, F))
    kind = np.arange(n) % 4
    far = rng.choice([-1.0, 1.0], size=(n, F)) * 10.0 ** rng.uniform(3, 6, size=(n, F))
    x[kind == 1] = far[kind == 1]
    x[kind == 2] = 0.0
    x[kind == 3] = rng.standard_normal((int((kind == 3).sum()), 1))
    return x


def token_batch(name: str, seed: int = 0, n: int = 48, k: int = K) -> dict[str, np.ndarray]:
    """Every token-scale input for `n` samples of family `name` (probs == softmax(teacher_logits))."""
    rng = np.random.default_rng([seed, TOKEN_FAMILIES.index(name), k])
    labels = rng.integers(0, V, n)
    z = rng.standard_normal((n, k, V)) * 2.0
    if name == "extreme":
        z = rng.standard_normal((n, k, V)) * 1e4
    elif name == "masked":
        z = np.where(rng.random((n, k, V)) < 0.3, -np.inf, z)
        z[:, :, 0] = np.where(np.isinf(z).all(axis=2), 0.0, z[:, :, 0])
    elif name == "label_masked_one":
        z[np.arange(n), 0, labels] = -np.inf
    elif name == "label_masked_all":
        z[np.arange(n), :, labels] = -np.inf
    elif name == "one_hot":
        z = np.zeros((n, k, V))
        z[np.arange(n)[:, None], np.arange(k)[None, :], rng.integers(0, V, (n, k))] = 1e4
    elif name == "ties":
        z = np.repeat(z[:, :1], k, axis=1)
    elif name == "label_argmax":
        labels = z[:, 0].argmax(axis=1)
    probs = softmax(z)
    return {"probs": probs, "context": np.zeros((n, D)), "labels": labels.astype(np.int64), "teacher_logits": z,
            "student": _students(rng, probs, labels), "features": _features(rng, n)}


def history_batch(name: str, seed: int = 0, n: int = 48) -> dict[str, np.ndarray]:
    """Every importance input for `n` samples of loss-history family `name` (H = 2, M = 3)."""
    rng = np.random.default_rng([seed, HISTORY_FAMILIES.index(name)])
    old, new = rng.uniform(0, 5, (n, M)), rng.uniform(0, 5, (n, M))
    if name == "constant":
        new = old.copy()
    elif name == "rising":
        new = old * rng.uniform(1.0, 3.0, (n, M))
    elif name == "falling":
        new = old * rng.uniform(0.1, 1.0, (n, M))
    elif name == "zero":
        old, new = np.zeros((n, M)), np.zeros((n, M))
    elif name == "zero_old":
        old = np.zeros((n, M))
    elif name == "huge":
        old, new = 10.0 ** rng.uniform(200, 300, (n, M)), 10.0 ** rng.uniform(200, 300, (n, M))
    elif name == "tiny":
        old, new = 10.0 ** rng.uniform(-300, -200, (n, M)), 10.0 ** rng.uniform(-300, -200, (n, M))
    elif name == "tied":
        old, new = np.repeat(old[:, :1], M, axis=1), np.repeat(new[:, :1], M, axis=1)
    step = np.array([0, 1, 2, 10**6], dtype=np.int64)[np.arange(n) % 4]
    return {"losses": rng.uniform(0, 5, (n, M, K)), "sizes": np.full((n, M), 1e3),
            "history": np.stack([old, new], axis=1), "step": step}


def batches(kind: str, seed: int = 0, n: int = 48, k: int = K) -> list[tuple[str, dict[str, np.ndarray]]]:
    if kind == "token":
        return [(f, token_batch(f, seed, n, k)) for f in TOKEN_FAMILIES]
    return [(f, history_batch(f, seed, n)) for f in HISTORY_FAMILIES]


def param_sets(port) -> list:
    """The parameter sets a port is checked with: its declared checkpoints, three draws, or [None]."""
    params = port.declare.get("params")
    if params is None:
        return [None]
    if callable(params):
        return [params(np.random.default_rng(s)) for s in range(3)]
    return list(params)


def keywords(fn) -> list[str]:
    return [n for n, p in inspect.signature(fn).parameters.items() if p.kind is p.KEYWORD_ONLY]


def call(port, inputs: dict[str, np.ndarray], params=None, rows=None) -> np.ndarray:
    """Call a port's function with the positional inputs of its kind and the keywords it names."""
    pick = (lambda a: a) if rows is None else (lambda a: a[rows])
    first = ("probs", "context") if port.kind == "token" else ("losses", "sizes")
    kw = {n: (params if n == "params" else pick(inputs[n])) for n in keywords(port.fn)}
    with np.errstate(all="ignore"):
        return np.asarray(port.fn(*(pick(inputs[a]) for a in first), **kw), dtype=np.float64)


CONTINUOUS_INPUTS = ("probs", "student", "features", "history", "losses", "context")


def distance(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> np.ndarray:
    """Per-sample max-norm distance over the continuous inputs (as the engine's metrics take it)."""
    out = 0.0
    with np.errstate(invalid="ignore"):
        for name in CONTINUOUS_INPUTS:
            if name in a:
                d = np.abs(b[name] - a[name]).reshape(a[name].shape[0], -1).max(axis=1)
                out = np.maximum(out, np.nan_to_num(d, nan=np.inf))
    return out


def lerp(a: dict[str, np.ndarray], b: dict[str, np.ndarray], t: float) -> dict[str, np.ndarray]:
    """The point at distance ≈ t from a towards b (segments longer than 1 are cut to unit length first,
    as the engine does); discrete inputs (labels, step) are held at a's."""
    s = t * np.minimum(1.0, 1.0 / np.maximum(distance(a, b), 1e-300))
    out = dict(a)
    with np.errstate(invalid="ignore"):
        for name in CONTINUOUS_INPUTS:
            if name in a:
                frac = s.reshape((-1,) + (1,) * (a[name].ndim - 1))
                out[name] = (1.0 - frac) * a[name] + frac * b[name]
    if "probs" in a:  # keep the logits consistent with the probabilities they stand for
        with np.errstate(divide="ignore"):
            out["teacher_logits"] = np.log(out["probs"])
    return out
