"""Softmax and log-softmax in numpy, written once for the library, the sampler, the keyword inputs
and the training-time checks (the certifier encloses its own; the kernels use JAX's).

Both subtract the largest entry first, so large logits do not overflow; a row whose largest
entry is -inf (every entry -inf) is shifted by 0 instead: its 0/0 is NaN, not a made-up weight.
A +inf entry makes its whole row NaN: no weight is made up for an input that has none.
The input's float dtype is kept.

>>> softmax(np.array([[0.0, np.log(3.0)]]))
array([[0.25, 0.75]])
>>> softmax(np.array([1000.0, 1000.0, -np.inf]))
array([0.5, 0.5, 0. ])
>>> softmax(np.array([0.0, np.inf, 1.0]))
array([nan, nan, nan])
"""

from __future__ import annotations

import numpy as np


def _shifted(z: np.ndarray, axis: int) -> np.ndarray:
    top = np.max(z, axis=axis, keepdims=True)
    return z - np.where(top == -np.inf, 0.0, top)


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """exp(z) normalized along `axis`."""
    e = np.exp(_shifted(np.asarray(z), axis))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """log softmax(z) along `axis`, without forming softmax(z) first."""
    s = _shifted(np.asarray(z), axis)
    return s - np.log(np.sum(np.exp(s), axis=axis, keepdims=True))
