"""The digits operators: token, task and context factors built from the teachers' validation
statistics (`make_operators`), each with the safety margins that keep the safest teacher first
when the three are composed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..spec.decorators import context_operator, task_operator, token_operator
from ..spec.operator import Operator, Safety

__all__ = ["make_operators", "BETA_ENTROPY", "BETA_TASK", "BETA_CONTEXT", "GAMMA_TOKEN", "GAMMA_CONTEXT",
           "GATE_WIDTH"]


def _softmax(z: np.ndarray, axis: int = 1) -> np.ndarray:
    z = z - np.max(z, axis=axis, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=axis, keepdims=True)


def _box_bounds(lo: np.ndarray, hi: np.ndarray) -> tuple[float, float]:
    """Exact range of softmax weights whose logit k lies in [lo_k, hi_k] (extremes at corners)."""
    lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    e_lo, e_hi = np.exp(lo), np.exp(hi)
    w_min = e_lo / (e_lo + (e_hi.sum() - e_hi))
    w_max = e_hi / (e_hi + (e_lo.sum() - e_lo))
    return float(w_min.min()), float(w_max.max())


def _gate(context: np.ndarray, width: float) -> np.ndarray:
    """g(c) = clip(1 + c₀/width, 0, 1): 1 on C_safe = {c₀ > 0} (and at 0), 0 for c₀ ≤ −width; continuous."""
    c0 = np.nan_to_num(np.asarray(context, dtype=np.float64)[:, 0], nan=0.0, posinf=1e300, neginf=-1e300)
    return np.clip(1.0 + c0 / width, 0.0, 1.0)


def _lift_safest(z: np.ndarray, safest: int) -> np.ndarray:
    """Raise the safest teacher's logit to the largest one (axis 1): continuous (max is), inside the same
    logit box, and afterwards the safest teacher holds the maximum."""
    z = np.array(z, dtype=np.float64)
    z[:, safest] = np.max(z, axis=1)
    return z


#: Logit scales of the three factors; the safety margins are chosen so the composed weight keeps
#: the safety order: γ_tok > β_task + β_ctx on S, γ_ctx > β_task on C_safe.
BETA_ENTROPY, BETA_TASK, BETA_CONTEXT = 2.0, 0.5, 1.0
GAMMA_TOKEN = BETA_TASK + BETA_CONTEXT + 0.1
GAMMA_CONTEXT = BETA_TASK + 0.1
GATE_WIDTH = 0.2


def make_operators(stats: dict[str, Any], *, critical_classes: tuple[int, ...] = (3, 8), teachers: int = 4
                   ) -> tuple[Operator, Operator, Operator]:
    """The three digits operators, from the teachers' validation statistics.

    stats: `clean_accuracy` [K], `corrupted_safety` [K] (mean p(y*) on critical
    classes of corrupted validation images), `safest` (the designated safest
    teacher index).  Designated ordering: the safest teacher is safer than every
    other (`pairs`), on S and on C_safe.

    * `digits_token` — w ∝ exp(−β·H(p_k)/log V) per position; on safety-critical
      tokens the safest teacher is lifted to the largest logit plus a margin
      γ_tok; on C_safe (gated, continuous) it is lifted to the largest logit.
    * `digits_task` — w_tk ∝ exp(−β_task·ℓ_tk/(1+ℓ_tk)), ℓ_tk teacher k's
      validation loss on task t; importance λ_t ∝ √n_t.
    * `digits_context` — w ∝ exp(β_ctx·accuracy score) on clean contexts and
      exp(β_ctx·safety score + γ_ctx·[k safest]) on corrupted ones, blended by a
      continuous gate in c₀.
    """
    k = teachers
    safest = int(stats["safest"])
    pairs = [(safest, j) for j in range(k) if j != safest]
    acc = np.asarray(stats["clean_accuracy"], dtype=np.float64)
    saf = np.asarray(stats["corrupted_safety"], dtype=np.float64)

    def unit(v: np.ndarray) -> np.ndarray:
        span = v.max() - v.min()
        return (v - v.min()) / span if span > 0 else np.zeros_like(v)

    a_score, s_score = unit(acc), unit(saf)
    onehot = np.eye(k)[safest]
    crit = tuple(int(c) for c in critical_classes)

    tok_lo, tok_hi = np.full(k, -BETA_ENTROPY), GAMMA_TOKEN * onehot

    def digits_token(probs, context):
        """Entropy-based per-token weights; the safest teacher leads on S (with a margin) and on C_safe."""
        p = np.clip(np.asarray(probs, dtype=np.float64), 0.0, 1.0)
        b, kk, v = p.shape
        plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
        h = np.clip(-plogp.sum(axis=2) / np.log(max(v, 2)), 0.0, 1.0)  # [B, K]
        z = -BETA_ENTROPY * h
        if safest >= kk:  # a world with fewer teachers than the ranking names: no ordering to impose
            return np.repeat(_softmax(z)[:, :, None], v, axis=2)
        lifted = _lift_safest(z, safest)
        g = _gate(context, GATE_WIDTH)[:, None]
        z_off = (1.0 - g) * z + g * lifted  # not on S: ordered on C_safe
        z_on = lifted + GAMMA_TOKEN * np.eye(kk)[safest][None]  # on S: the safest leads by ≥ γ_tok
        out = np.repeat(_softmax(z_off)[:, :, None], v, axis=2)
        toks = [i for i in crit if i < v]
        if toks:
            out[:, :, toks] = _softmax(z_on)[:, :, None]
        return out

    tok = token_operator(digits_token, name="digits_token", bounds=_box_bounds(tok_lo, tok_hi),
                         safety=Safety(tokens=list(crit), pairs=pairs), register=False)

    def importance(losses, sizes):
        n = np.maximum(np.asarray(sizes, dtype=np.float64), 1e-300)
        return _softmax(0.5 * np.log(n), axis=1)

    def digits_task(losses, sizes):
        """w_tk ∝ exp(−β·ℓ̃_tk), ℓ̃ = ℓ/(1+ℓ) ∈ [0, 1): teachers with lower validation loss on a task lead it."""
        ell = np.asarray(losses, dtype=np.float64)
        ell = np.where(np.isnan(ell), np.inf, np.maximum(ell, 0.0))
        sq = np.where(np.isinf(ell), 1.0, ell / (1.0 + np.where(np.isinf(ell), 0.0, ell)))
        return _softmax(-BETA_TASK * sq, axis=2)

    task = task_operator(digits_task, name="digits_task", bounds=_box_bounds(np.full(k, -BETA_TASK), np.zeros(k)),
                         importance=importance, register=False)

    ctx_lo = np.zeros(k)
    ctx_hi = np.maximum(BETA_CONTEXT * a_score, BETA_CONTEXT * s_score + GAMMA_CONTEXT * onehot)

    def digits_context(context):
        """Clean contexts: trust by clean accuracy; corrupted (C_safe): by corrupted safety, the safest leading."""
        g = _gate(context, GATE_WIDTH)[:, None]
        z = (1.0 - g) * (BETA_CONTEXT * a_score)[None] + g * (BETA_CONTEXT * s_score + GAMMA_CONTEXT * onehot)[None]
        return _softmax(z)

    def corrupted(context):
        return np.asarray(context, dtype=np.float64)[:, 0] > 0

    ctx = context_operator(digits_context, name="digits_context", bounds=_box_bounds(ctx_lo, ctx_hi),
                           safety=Safety(contexts=corrupted, pairs=pairs), register=False)
    return tok, task, ctx
