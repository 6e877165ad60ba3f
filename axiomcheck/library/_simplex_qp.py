"""An exact solver for small quadratic programs on the (capped) probability simplex (private).

    minimize  f(α) = αᵀ A α − 2 bᵀ α   subject to  Σ_k α_k = 1,  0 ≤ α_k ≤ C

for a batch of symmetric positive semi-definite `A[B,K,K]` and `b[B,K]`.
This is the min-norm problem of AE-KD (A = the Gram matrix of the teachers'
gradients, b = 0) and of its ridge-regularized repair.

The solver enumerates which constraint each coordinate sits on (α_k = 0,
α_k = C, or free strictly inside).  For one such assignment the free part
solves the equality-constrained KKT system

    [ 2 A_FF  −1 ] [α_F]   [ 2 b_F − 2 C A_FU 1 ]
    [  1ᵀ      0 ] [ ν ] = [ 1 − C |U|          ]

and the answer is the feasible candidate of least f.  The minimizer lies in
the relative interior of one face, where it is that face's KKT point, so this
is exact (to rounding) — no iteration count or stopping rule that could make a
weight depend on anything but its own sample.  K is small (3^K assignments with
a cap, 2^K − 1 without); `MAX_TEACHERS` guards the cost.

>>> import numpy as np
>>> g = np.array([[[1.0, 0.0], [0.0, 1.0]]])      # two orthogonal unit gradients
>>> A = np.einsum("bkv,bjv->bkj", g, g)
>>> solve(A, np.zeros((1, 2))).round(6).tolist()   # min ‖α₁g₁ + α₂g₂‖ on the simplex
[[0.5, 0.5]]
"""

from __future__ import annotations

import itertools

import numpy as np

MAX_TEACHERS = 10
FEASIBLE_TOL = 1e-12


def _assignments(k: int, cap: float) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """(free, at-cap) index tuples of every assignment that can be feasible, in a fixed order."""
    states = (0, 2) if cap >= 1.0 else (0, 1, 2)  # 0: α_k = 0, 1: α_k = C, 2: free
    out = []
    for combo in itertools.product(states, repeat=k):
        free = tuple(i for i, s in enumerate(combo) if s == 2)
        upper = tuple(i for i, s in enumerate(combo) if s == 1)
        rest = 1.0 - cap * len(upper)
        if rest < -FEASIBLE_TOL or (not free and abs(rest) > FEASIBLE_TOL):
            continue
        if free and rest > cap * len(free) + FEASIBLE_TOL:
            continue
        out.append((free, upper))
    return out


def _candidate(A: np.ndarray, b: np.ndarray, cap: float, free: tuple[int, ...],
               upper: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The KKT point of one assignment `[B,K]` and whether it is feasible `[B]`."""
    n, k = A.shape[0], A.shape[1]
    alpha = np.zeros((n, k))
    if upper:
        alpha[:, list(upper)] = cap
    if not free:
        return alpha, np.ones(n, dtype=bool)
    f = list(free)
    m = len(f)
    M = np.zeros((n, m + 1, m + 1))
    M[:, :m, :m] = 2.0 * A[:, f][:, :, f]
    M[:, :m, m] = -1.0
    M[:, m, :m] = 1.0
    rhs = np.zeros((n, m + 1))
    rhs[:, :m] = 2.0 * b[:, f]
    if upper:
        rhs[:, :m] -= 2.0 * cap * A[:, f][:, :, list(upper)].sum(axis=2)
    rhs[:, m] = 1.0 - cap * len(upper)
    sign, _ = np.linalg.slogdet(M)
    ok = sign != 0
    safe = np.where(ok[:, None, None], M, np.eye(m + 1))
    x = np.linalg.solve(safe, rhs[:, :, None])[:, :, 0]
    resid = np.abs(np.einsum("bij,bj->bi", safe, x) - rhs).max(axis=1)
    scale = 1.0 + np.abs(rhs).max(axis=1) + np.abs(safe).max(axis=(1, 2)) * np.abs(x).max(axis=1)
    ok &= np.isfinite(x).all(axis=1) & (resid <= 1e-9 * scale)
    a_free = x[:, :m]
    ok &= (a_free >= -FEASIBLE_TOL).all(axis=1) & (a_free <= cap + FEASIBLE_TOL).all(axis=1)
    alpha[:, f] = np.clip(a_free, 0.0, cap)
    return alpha, ok


def objective(A: np.ndarray, b: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """f(α) = αᵀAα − 2bᵀα per sample (elementwise sums: independent of the batch)."""
    return np.einsum("bk,bkj,bj->b", alpha, A, alpha) - 2.0 * (b * alpha).sum(axis=1)


def solve(A: np.ndarray, b: np.ndarray, cap: float = 1.0) -> np.ndarray:
    """argmin of αᵀAα − 2bᵀα over {Σα = 1, 0 ≤ α ≤ cap}, `[B,K]` (ties: the first assignment found)."""
    A = np.asarray(A, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    n, k = b.shape
    if k > MAX_TEACHERS:
        raise ValueError(f"the exact simplex solver enumerates 3^K faces; K = {k} > {MAX_TEACHERS} is too many")
    if not 1.0 / k - FEASIBLE_TOL <= cap:
        raise ValueError(f"cap C = {cap} < 1/K = {1.0 / k}: no weights satisfy Σα = 1 with α ≤ C")
    best = np.full((n, k), np.nan)
    best_f = np.full(n, np.inf)
    for free, upper in _assignments(k, cap):
        alpha, ok = _candidate(A, b, cap, free, upper)
        with np.errstate(invalid="ignore", over="ignore"):
            f = objective(A, b, alpha)
        better = ok & np.isfinite(f) & (f < best_f)
        best = np.where(better[:, None], alpha, best)
        best_f = np.where(better, f, best_f)
    total = best.sum(axis=1, keepdims=True)
    return best / total
