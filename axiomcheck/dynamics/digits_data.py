"""The digits world's data: its settings, scikit-learn's bundled 8×8 digits, corruption, and the
per-sample quantities built from them (task ids, context vectors, student features).

A corrupted image has Gaussian noise and, with probability ℓ (its corruption
level), a blanked band of rows or columns.  The context vector is
c = (ℓ − 0.25, brightness), so C_safe = {c₀ > 0} is the corrupted context.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["DigitsConfig", "TASK_GROUPS", "load_digits_arrays", "corrupt", "corruption_levels",
           "context_vectors", "task_ids", "student_features"]

TASK_GROUPS = ((0, 1, 2, 3), (4, 5, 6), (7, 8, 9))


@dataclasses.dataclass(frozen=True)
class DigitsConfig:
    """Settings of the digits world (defaults: the demo's)."""

    seed: int = 0
    critical_classes: tuple[int, ...] = (3, 8)
    train_corrupt_share: float = 0.05
    deploy_corrupt_share: float = 0.60
    task_keep: tuple[float, ...] = (1.0, 0.4, 0.15)
    l2: float = 3e-4
    teacher_steps: int = 300


def load_digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """(X [1797, 64] in [0, 1], y [1797]) from scikit-learn's bundled copy (the optional `data` extra)."""
    from ..calling.extras import require

    datasets = require("sklearn.datasets", extra="data", purpose="the digits data set (bundled with scikit-learn)")
    d = datasets.load_digits()
    return d.data.astype(np.float64) / 16.0, d.target.astype(int)


def corrupt(x: np.ndarray, level: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Corrupt images [N, 64] at levels ℓ ∈ [0, 1]: Gaussian noise σ = 0.45ℓ and, with probability ℓ,
    a blanked band of 3 rows or 3 columns at a random place; clipped to [0, 1].  ℓ = 0 leaves x as is."""
    x = np.array(x, dtype=np.float64)
    level = np.asarray(level, dtype=np.float64)
    n = x.shape[0]
    img = x.reshape(n, 8, 8)
    noise = rng.normal(size=img.shape) * (0.45 * level)[:, None, None]
    img = img + noise
    band = rng.random(n) < level
    start = rng.integers(0, 6, size=n)
    rows = rng.random(n) < 0.5
    for i in np.nonzero(band)[0]:
        if rows[i]:
            img[i, start[i]:start[i] + 3, :] = 0.0
        else:
            img[i, :, start[i]:start[i] + 3] = 0.0
    return np.clip(img, 0.0, 1.0).reshape(n, 64)


def corruption_levels(n: int, share: float, rng: np.random.Generator) -> np.ndarray:
    """Corruption levels: a `share` of the samples (exactly rounded) at U(0.6, 1), the rest 0."""
    lv = np.zeros(n)
    m = int(round(share * n))
    idx = rng.permutation(n)[:m]
    lv[idx] = rng.uniform(0.6, 1.0, size=m)
    return lv


def context_vectors(x: np.ndarray, level: np.ndarray) -> np.ndarray:
    """c = (ℓ − 0.25, standardized brightness): c₀ > 0 exactly on corrupted inputs."""
    bright = (x.mean(axis=1) - 0.3) * 5.0
    return np.c_[level - 0.25, bright]


def task_ids(y: np.ndarray) -> np.ndarray:
    """Task index of each label: the position of its group in TASK_GROUPS."""
    out = np.empty(len(y), dtype=int)
    for t, group in enumerate(TASK_GROUPS):
        out[np.isin(y, group)] = t
    return out


def student_features(x: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """Standardized pixels scaled by 1/√(pixel count), plus a bias column: the linear student's inputs."""
    z = (x - mean) / sd / np.sqrt(x.shape[1])
    return np.c_[z, np.ones(len(z))]
