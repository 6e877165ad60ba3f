"""AE-KD: teacher weights from the min-norm point of the teachers' gradients, and its repair.

AE-KD (Du, You, Li, Wu, Wang, Qian, Zhang 2020, "Agree to Disagree: Adaptive
Ensemble Knowledge Distillation in Gradient Space", NeurIPS) weights the
teachers' KD losses by the point of least norm in the (capped) convex hull of
their gradients with respect to the student's logits.  For the KD loss
KL(p_k ‖ softmax(z_s)) that gradient is g_k = q − p_k (q the student's
distribution; the temperature only scales every g_k alike and drops out), so
‖Σ_k α_k g_k‖ = ‖q − Σ_k α_k p_k‖: AE-KD picks the mixture of teachers closest
to the student.  Both functions solve the problem exactly with
`_simplex_qp.solve` (no iteration count that could differ between samples).

>>> import numpy as np
>>> p = np.array([[[1.0, 0.0], [0.0, 1.0]]]); q = np.array([[0.5, 0.5]])
>>> ae_kd(p, None, student=q).round(6).tolist()
[[0.5, 0.5]]
"""

from __future__ import annotations

import numpy as np

from axiomcheck.library import _numerics as nx
from axiomcheck.library import _ports as px
from axiomcheck.library import _simplex_qp as qp
from axiomcheck.library.port import Port

__all__ = ["PORTS", "ae_kd", "ae_kd_repaired", "AEKD_CAP", "AEKD_EPS", "AEKD_RIDGE"]

K = nx.WORLD_TEACHERS
#: the released code's default tolerance C = 0.6: every weight ≤ C (ν = 1/(C K) of its ν-SVM)
AEKD_CAP = 0.6
#: ridge μ of the repaired variant: min ‖Σ α_k g_k‖² + μ ‖α − 1/K‖²
AEKD_RIDGE = 0.05
#: floor ε of the repaired variant
AEKD_EPS = 0.02


def _gradients(probs: np.ndarray, student: np.ndarray) -> np.ndarray:
    """g_k = q − p_k, the gradient of KL(p_k ‖ softmax(z_s)) with respect to the student's logits, `[B,K,V]`."""
    return student[:, None, :] - probs


def _cap(k: int) -> float:
    """The cap in force for K teachers: the released code clamps ν to [1/K, 1], i.e. C to [1/K, 1]."""
    return min(1.0, max(AEKD_CAP, 1.0 / k))


def _gram(g: np.ndarray) -> np.ndarray:
    """⟨g_k, g_j⟩ `[B,K,K]` by elementwise sums (no BLAS: a row's value does not depend on the batch)."""
    return (g[:, :, None, :] * g[:, None, :, :]).sum(axis=3)


def ae_kd(probs, context, *, student):
    """AE-KD as released (Du et al. 2020, "Agree to Disagree: Adaptive Ensemble Knowledge Distillation in
    Gradient Space"): one weight vector per batch, min ‖Σ_k α_k ḡ_k‖ over {Σα = 1, 0 ≤ α_k ≤ C}.

    Equation: ḡ_k = mean over the batch of (q − p_k) (the released code averages
    the per-sample gradients over the mini-batch before solving); α = argmin
    ‖Σ_k α_k ḡ_k‖² subject to α on the simplex and α_k ≤ C = 0.6 (its one-class
    ν-SVM dual with ν = 1/(C K); C = 1 is the plain min-norm problem of MGDA).
    Reads: `probs`, `student`.
    Verdict: fails token.positivity, token.bounded_influence,
    token.batch_independent; token.regularity cannot be judged (error) — a
    comparison of weights along a segment means nothing when they depend on the
    rest of the batch.  The min-norm point usually lies on a face of the
    polytope, so some weights are exactly 0 (a student equal to one teacher's
    distribution puts the whole cap on it and 0 on at least one other); and a
    weight vector computed from the batch mean changes when the rest of the batch
    does — the weights are not a function of the sample, as w(x, i, c) must be.
    Normalization holds by construction, the values are finite, and for a batch
    of distinct teachers the minimizer is unique and moves continuously.
    """
    p = nx.f64(probs)
    g = _gradients(p, px.required(student, "student")).mean(axis=0, keepdims=True)
    alpha = qp.solve(_gram(g), np.zeros((1, p.shape[1])), _cap(p.shape[1]))
    return np.repeat(alpha, p.shape[0], axis=0)


def ae_kd_repaired(probs, context, *, student):
    """AE-KD repaired: per sample, ridge-regularized, floored.

    Equation: α = argmin ‖Σ_k α_k g_k‖² + μ ‖α − 1/K‖², μ = 0.05, over the same
    capped simplex, for each sample's own g_k = q − p_k; then w = (1 − Kε) α + ε,
    ε = 0.02.  Per-sample weights are batch independent; the ridge makes the
    problem strongly convex, so its minimizer is unique and Lipschitz in the
    gradients (the released problem has ties — two equal teachers — where the
    chosen vertex jumps); the floor gives w ∈ [ε, (1 − Kε) C + ε] = [0.02, 0.572]
    for K = 4.  Reads: `probs`, `student`.  Verdict: every check holds.
    """
    p = nx.f64(probs)
    g = _gradients(p, px.required(student, "student"))
    k = p.shape[1]
    A = _gram(g) + AEKD_RIDGE * np.eye(k)[None, :, :]
    b = np.full((p.shape[0], k), AEKD_RIDGE / k)
    return px.floor_mix(qp.solve(A, b, _cap(k)), AEKD_EPS)


PORTS: tuple[Port, ...] = (
    Port("ae_kd", "token", ae_kd, "AE-KD", ("probs", "student"),
         ("token.positivity", "token.bounded_influence", "token.batch_independent"),
         "the min-norm point sits on a face (weights exactly 0); one weight vector per batch, from the batch mean",
         errors=("token.regularity",)),
    Port("ae_kd_repaired", "token", ae_kd_repaired, "AE-KD", ("probs", "student"), repairs="ae_kd",
         declare={"bounds": (AEKD_EPS, (1.0 - K * AEKD_EPS) * AEKD_CAP + AEKD_EPS), "world": {"teachers": K}}),
)
