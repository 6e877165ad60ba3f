"""Axiom independence (paper §IX.C, open question 1): one counterexample per axiom.

For each of the fifteen axioms, `INDEPENDENCE[axiom_id]` is an operator that
violates that axiom and satisfies the other four axioms of its scale and the
four well-posedness checks (finite, shape, deterministic, batch-independent),
so none of the fifteen follows from the others of its scale.  Each one is a
bug a practitioner could plausibly write.

Two co-failures are forced, not accidental (see docs/paper-audit.md, "Axiom independence"):

* boundedness ⇒ positivity (the bounds require w_min > 0): a weight that
  reaches 0.0 lies below every w_min > 0 (and with no bounds declared the
  check asks for an observed minimum > 0), so a positivity counterexample
  fails the bounds check too — the positivity axioms are redundant given
  boundedness, the other twelve are independent.  The converse is not
  forced: weights can be positive everywhere with infimum 0, which is how the
  boundedness counterexamples work.
* at token scale the probabilities live on a compact simplex, where a
  continuous positive weight has a positive minimum: the bounded-influence
  counterexample therefore has to reach its vanishing weights through the
  (unbounded) context.

`EXPECTED_FAILURES[axiom_id]` is the set of ids `verify()` reports failing.

>>> sorted(EXPECTED_FAILURES["token.positivity"])
['token.bounded_influence', 'token.positivity']
"""

from __future__ import annotations

import numpy as np

from axiomcheck.axioms import AXIOMS
from axiomcheck.library import _numerics as nx
from axiomcheck.library.context import CONTEXT_SAFETY, gated_order, ordinal_box, ordinal_logits
from axiomcheck.library.task import (
    PERFORMANCE_BETA,
    importance_by_size,
)
from axiomcheck.library.token import ENTROPY_BETA, TOKEN_SAFETY
from axiomcheck.spec.decorators import context_operator, task_operator, token_operator
from axiomcheck.spec.operator import Operator

__all__ = ["INDEPENDENCE", "EXPECTED_FAILURES", "SCALE_CHECKS"]

K = nx.WORLD_TEACHERS
M = 3  # the verification world's number of tasks (bounds of indep_task_normalization depend on it)
HARD_TOP = 0.6
HARD_BOUNDS = ((1.0 - HARD_TOP) / (K - 1), HARD_TOP)
DECAY = 0.5  # per-teacher decay rates a_k = DECAY·k of the OOD counterexamples


# ============================================================================= token scale


@token_operator(name="indep_token_normalization", bounds=(float(np.exp(-ENTROPY_BETA)), 1.0), safety=TOKEN_SAFETY)
def indep_token_normalization(probs, context):
    """Violates III.1 only: w_k = exp(−β H(p_k)/log V), β = 2 — the softmax's denominator forgotten.

    Each w_k ∈ [e^−2, 1] (positive, bounded), continuous, sorted into the
    safety order on S; but Σ_k w_k ranges over [4e^−2, 4] ≠ 1.
    """
    p = nx.f64(probs)
    w = np.exp(-ENTROPY_BETA * nx.normalized_entropy(p))
    return nx.per_token(w, p.shape[2], nx.SAFE_TOKENS, nx.SAFETY_ORDER)


@token_operator(name="indep_token_positivity", safety=TOKEN_SAFETY)
def indep_token_positivity(probs, context):
    """Violates III.2 (and, forcibly, III.3): w = softmax_k(−β H(p_k)/log V + (W c)_k) — context logits not squashed.

    Normalized, continuous (Lipschitz in c), sorted into the safety order on S;
    positive on paper, but for far-out contexts (|c| ≳ 1e3) the logit gaps
    exceed 745 and exp underflows to exactly 0.0.  No bounds are declared,
    and none could be: a weight of 0.0 has no positive lower bound.
    """
    p, c = nx.f64(probs), nx.f64(context)
    k = p.shape[1]
    w = nx.softmax(-ENTROPY_BETA * nx.normalized_entropy(p) + nx.project(c, k))
    return nx.per_token(w, p.shape[2], nx.SAFE_TOKENS, nx.SAFETY_ORDER)


def _ood_token_bounds() -> tuple[float, float]:
    # What one reads off the formula on "typical" contexts ‖c‖ ≤ 1 — not valid beyond.
    a = DECAY * np.arange(K)
    return nx.softmax_box_bounds(-ENTROPY_BETA - a * np.log(2.0), np.zeros(K))


@token_operator(name="indep_token_bounded_influence", bounds=_ood_token_bounds(), safety=TOKEN_SAFETY)
def indep_token_bounded_influence(probs, context):
    """Violates III.3 only: w = softmax_k(−β H(p_k)/log V − a_k log(1 + ‖c‖²)), a_k = k/2.

    Teacher-specific polynomial loss of trust out of distribution:
    w_k / w_0 ∝ (1 + ‖c‖²)^−a_k → 0 as ‖c‖ → ∞, yet stays > 0 (≈ 1e-19 at
    ‖c‖ = 1e6, far from underflow).  The declared bounds hold for ‖c‖ ≤ 1 and
    no w_min > 0 holds everywhere.  Normalized, positive, continuous
    (log(1+‖c‖²) is 1-Lipschitz), sorted into the safety order on S.
    """
    p, c = nx.f64(probs), nx.f64(context)
    k = p.shape[1]
    m = np.abs(c).max(axis=1, initial=0.0)
    scale = np.where(m > 0.0, m, 1.0)
    sq = (m * m) * ((c / scale[:, None]) ** 2).sum(axis=1)  # ‖c‖², overflow-safe
    z = -ENTROPY_BETA * nx.normalized_entropy(p) - DECAY * np.arange(k)[None, :] * np.log1p(sq)[:, None]
    return nx.per_token(nx.softmax(z), p.shape[2], nx.SAFE_TOKENS, nx.SAFETY_ORDER)


@token_operator(name="indep_token_regularity", bounds=HARD_BOUNDS, safety=TOKEN_SAFETY)
def indep_token_regularity(probs, context):
    """Violates III.4 only: hard selection — 0.6 to the lowest-entropy teacher, 0.4/(K−1) to each other.

    Normalized, positive, bounded in [0.4/3, 0.6] for K = 4, sorted into the
    safety order on S; but the weights jump whenever the most confident
    teacher changes (ties go to the lowest index).  K = 1 gives 1.
    """
    p = nx.f64(probs)
    w = nx.hard_best(nx.normalized_entropy(p), HARD_TOP)
    return nx.per_token(w, p.shape[2], nx.SAFE_TOKENS, nx.SAFETY_ORDER)


@token_operator(name="indep_token_safety_monotonicity",
                bounds=nx.softmax_box_bounds([-ENTROPY_BETA] * K, [0.0] * K), safety=TOKEN_SAFETY)
def indep_token_safety_monotonicity(probs, context):
    """Violates III.5 only: `entropy_exp` with the safety order read backwards on S.

    w = softmax_k(−β H(p_k)/log V), β = 2, then on tokens 3 and 7 the weights
    of teachers (0, 2, 1) are sorted ascending — the least safe gets the most.
    A permutation, so normalization, positivity, bounds and continuity are
    those of `entropy_exp`.
    """
    p = nx.f64(probs)
    w = nx.softmax(-ENTROPY_BETA * nx.normalized_entropy(p))
    return nx.per_token(w, p.shape[2], nx.SAFE_TOKENS, nx.SAFETY_ORDER, reverse=True)


# ============================================================================= task scale


@task_operator(name="indep_task_normalization",
               bounds=nx.softmax_box_bounds([-PERFORMANCE_BETA] * M, [0.0] * M),  # for M = 3 tasks
               importance=importance_by_size)
def indep_task_normalization(losses, sizes):
    """Violates III.10 only: softmax over the wrong axis — w_tk = softmax_t(−β ℓ̃_tk), β = 3.

    Each teacher's weights sum to 1 over the tasks, not over the teachers:
    Σ_k w_tk ∈ (0, K).  Positive, bounded for M = 3 in
    [1/(1+2e^β), 1/(1+2e^−β)] ≈ [0.024, 0.909], smooth, with a valid
    importance (λ_t ∝ √n_t).
    """
    q = nx.squash(nx.f64(losses))
    return nx.softmax(-PERFORMANCE_BETA * q, axis=1)


@task_operator(name="indep_task_positivity", importance=importance_by_size)
def indep_task_positivity(losses, sizes):
    """Violates III.11 (and, forcibly, III.12): w_tk = softmax_k(−ℓ_tk) on raw losses — no squashing.

    Normalized and 1-Lipschitz in the losses, positive on paper, but a loss
    gap above ≈ 745 (e.g. 0 against 1e3) underflows exp to exactly 0.0.
    No bounds are declared, and none could be.  Valid importance.
    """
    return nx.softmax(-nx.f64(np.maximum(losses, 0.0)), axis=2)


@task_operator(name="indep_task_boundedness",
               bounds=nx.softmax_box_bounds([-np.log(2.0)] * K, [0.0] * K),  # read off losses ℓ ≤ 1
               importance=importance_by_size)
def indep_task_boundedness(losses, sizes):
    """Violates III.12 only: plain inverse loss w_tk ∝ 1/(1 + ℓ_tk), no squashing.

    Normalized, continuous (log(1+ℓ) is 1-Lipschitz), positive for every
    finite loss (≈ 3e-7 against a loss of 1e6 — no underflow), but
    inf w = 0: the declared bounds hold for losses ≤ 1 and no w_min > 0
    holds for all losses.  Valid importance.
    """
    return nx.softmax(-np.log1p(np.maximum(nx.f64(losses), 0.0)), axis=2)


@task_operator(name="indep_task_continuity", bounds=HARD_BOUNDS, importance=importance_by_size)
def indep_task_continuity(losses, sizes):
    """Violates III.13 only: hard selection — 0.6 to the teacher with the lowest loss on the task, 0.4/(K−1) to the rest.

    Normalized, positive, bounded in [0.4/3, 0.6] for K = 4, valid importance;
    jumps whenever the best teacher changes.
    """
    return nx.hard_best(nx.f64(losses), HARD_TOP)


def importance_linear(losses, sizes):
    """λ_t = 1/M + 2 (L̄_t − mean_s L̄_s), L̄_t = mean_k ℓ̃_tk: sums to 1 but goes negative."""
    q = nx.squash(nx.f64(losses)).mean(axis=2)
    m = q.shape[1]
    return 1.0 / m + 2.0 * (q - q.mean(axis=1, keepdims=True))


@task_operator(name="indep_task_pareto_compatibility",
               bounds=nx.softmax_box_bounds([-PERFORMANCE_BETA] * K, [0.0] * K),
               importance=importance_linear)
def indep_task_pareto_compatibility(losses, sizes):
    """Violates III.14 only: `softmax_performance` weights with an un-clipped linear task importance.

    λ_t = 1/M + 2 (L̄_t − mean_s L̄_s) sums to 1 but is negative for a task much
    easier than the others — a negative coefficient rewards *raising* that
    task's loss, so the scalarized minimizer can be dominated.  The weights
    themselves conform.
    """
    q = nx.squash(nx.f64(losses))
    return nx.softmax(-PERFORMANCE_BETA * q, axis=2)


# ============================================================================= context scale


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -z))


def _sigmoid_bounds() -> tuple[float, float]:
    lo, hi = ordinal_box()
    return float(_sigmoid(lo.min())), float(_sigmoid(hi.max()))


@context_operator(name="indep_context_normalization", bounds=_sigmoid_bounds(), safety=CONTEXT_SAFETY)
def indep_context_normalization(context, teachers=K):
    """Violates III.18 only: independent sigmoid gates w_k = σ(z_k) with the `ordinal_safety` logits z.

    σ is increasing, so the order of `ordinal_safety` carries over on C_safe;
    each w_k ∈ [σ(−τ), σ(5τ)] ≈ [0.378, 0.924], continuous; but
    Σ_k w_k ≥ 4 σ(−τ) ≈ 1.51 for K = 4.
    """
    return _sigmoid(ordinal_logits(nx.f64(context), teachers))


@context_operator(name="indep_context_positivity", safety=CONTEXT_SAFETY)
def indep_context_positivity(context, teachers=K):
    """Violates III.19 (and, forcibly, III.20): w = softmax_k((W c)_k) — linear logits, no tanh — ordered on C_safe.

    Normalized, Lipschitz in c, sorted into the safety order on C_safe by the
    same gate as `divergence_shift`; positive on paper, but far-out contexts
    (|c| ≳ 1e3) make logit gaps above 745 and weights underflow to 0.0.
    """
    c = nx.f64(context)
    return gated_order(nx.softmax(nx.project(c, teachers)), c)


@context_operator(name="indep_context_boundedness", bounds=(0.002, 0.93), safety=CONTEXT_SAFETY)
def indep_context_boundedness(context, teachers=K):
    """Violates III.20 only: Cauchy-kernel trust w_k ∝ (1 + ‖c − μ_k‖²)^−(1 + k/2), ordered on C_safe.

    Positive for every finite context (≈ 1e-19 at ‖c‖ = 1e6, no underflow),
    normalized, continuous; but different decay rates make w_k / w_0 → 0 as
    ‖c‖ → ∞, so no w_min > 0 (nor w_max < 1) holds: the declared
    (0.002, 0.93) — what one observes on standardized contexts ‖c‖∞ ≤ 1 —
    fails further out.
    """
    c = nx.f64(context)
    d2 = nx.sq_dist(c, nx.references(teachers, c.shape[1]))
    a = 1.0 + DECAY * np.arange(teachers)
    return gated_order(nx.softmax(-a[None, :] * np.log1p(d2)), c)


@context_operator(name="indep_context_continuity", bounds=HARD_BOUNDS, safety=CONTEXT_SAFETY)
def indep_context_continuity(context, teachers=K):
    """Violates III.21 only: hard domain routing — 0.6 to argmax_k (W c)_k, 0.4/(K−1) to the rest.

    Normalized, positive, bounded in [0.4/3, 0.6] for K = 4; on C_safe the
    values are sorted into the safety order (no gate: this one may jump
    anyway).  Jumps whenever the routed domain changes.
    """
    c = nx.f64(context)
    w = nx.hard_best(-nx.project(c, teachers), HARD_TOP)
    return np.where(nx.safe_context(c)[:, None], nx.impose_order(w, nx.SAFETY_ORDER), w)


@context_operator(name="indep_context_safety_prioritization",
                  bounds=nx.softmax_box_bounds(*ordinal_box()), safety=CONTEXT_SAFETY)
def indep_context_safety_prioritization(context, teachers=K):
    """Violates III.22 only: `ordinal_safety` with the ranking read least-safe first.

    The safety bonus goes to teacher 1 (2 steps) and teacher 2 (1 step)
    instead of teacher 0, so on C_safe w₁ ≥ w₂ ≥ w₀ — the declared order
    [0, 2, 1] reversed.  The logit box, hence the bounds, is that of
    `ordinal_safety`: normalized, positive, bounded, Lipschitz.
    """
    return nx.softmax(ordinal_logits(nx.f64(context), teachers, reverse=True))


# ============================================================================= tables

_OPS: tuple[Operator, ...] = (
    indep_token_normalization, indep_token_positivity, indep_token_bounded_influence,
    indep_token_regularity, indep_token_safety_monotonicity,
    indep_task_normalization, indep_task_positivity, indep_task_boundedness,
    indep_task_continuity, indep_task_pareto_compatibility,
    indep_context_normalization, indep_context_positivity, indep_context_boundedness,
    indep_context_continuity, indep_context_safety_prioritization,
)

#: axiom id -> the operator that violates that axiom alone (up to forced co-failures).
INDEPENDENCE: dict[str, Operator] = {op.name.removeprefix("indep_").replace("_", ".", 1): op for op in _OPS}

_BOUNDS_ID = {"token": "token.bounded_influence", "task": "task.boundedness", "context": "context.boundedness"}

#: axiom id -> the set of ids verify() must report as fail/error for its counterexample.
EXPECTED_FAILURES: dict[str, set[str]] = {
    axiom: ({axiom, _BOUNDS_ID[AXIOMS[axiom].scale]} if AXIOMS[axiom].property == "positivity" else {axiom})
    for axiom in INDEPENDENCE
}

#: scale -> the nine ids verify() checks at that scale (five axioms, four well-posedness checks).
SCALE_CHECKS: dict[str, tuple[str, ...]] = {
    s: tuple(a.id for a in AXIOMS.values() if a.scale == s) for s in ("token", "task", "context")
}
