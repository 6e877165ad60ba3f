"""Ports of published token-scale teacher weightings that read the teachers and the label.

Hinton's uniform KD, TinyLLM's fixed coefficients, CA-MKD and EBKD, each as
its paper (or the authors' released code, where the paper leaves a detail
open) defines it, plus a repaired variant for every one that fails an axiom.
Functions take the engine's keyword inputs (`labels`, `teacher_logits`,
`params`) and return `[B,K]` weights; the verdicts in the docstrings are for
the default world (K = 4 teachers, V = 16 tokens).

>>> import numpy as np
>>> z = np.array([[[2.0, 0.0], [0.0, 2.0]]])       # two teachers, V = 2
>>> ca_mkd(None, None, labels=np.array([0]), teacher_logits=z).round(4).tolist()
[[0.8808, 0.1192]]
"""

from __future__ import annotations

import numpy as np

from axiomcheck.library import _numerics as nx
from axiomcheck.library import _ports as px
from axiomcheck.library.port import Port

__all__ = ["PORTS", "ca_mkd", "ca_mkd_repaired", "ebkd", "ebkd_repaired", "hinton_kd", "tinyllm",
           "tinyllm_repaired", "CA_GAMMA", "EBKD_DELTA", "TINYLLM_ALPHAS"]

K = nx.WORLD_TEACHERS
V = 16
#: label smoothing inside the repaired CA-MKD's log: p ↦ (1 − γ) p + γ/V
CA_GAMMA = 0.01
#: additive entropy offset of the repaired EBKD
EBKD_DELTA = 0.25
#: the rationale coefficients the TinyLLM port is checked with (its paper's value is not pinned here)
TINYLLM_ALPHAS = (0.5, 1.0, 2.0)


def hinton_kd(probs, context):
    """Uniform KD (Hinton, Vinyals, Dean 2015, "Distilling the Knowledge in a Neural Network").

    Equation: the soft targets of an ensemble are the arithmetic mean of its
    members' temperature-softened distributions, i.e. w_k = 1/K (the paper also
    mentions the geometric mean, which is not a convex combination and not ported).
    Reads: nothing but the number of teachers.
    Verdict: every check holds — constant weights are normalized, positive, bounded
    by 1/K on both sides and Lipschitz with L = 0; no safety order is declared.
    """
    p = np.asarray(probs)
    return np.full(p.shape[:2], 1.0 / p.shape[1])


def tinyllm(probs, context, *, params):
    """TinyLLM's fixed coefficients (Tian, Han, Chen, Wang, Chawla 2024, "TinyLLM: Learning a Small Student
    from Multiple Large Language Models").

    Equation: L = L_answer + (α/K) Σ_k L_rationale,k — each teacher's rationale
    loss gets the same fixed coefficient.  Not pinned down here: whether the
    rationale losses are averaged (α/K, ported) or summed (α each), and the α the
    paper trains with, so the port reads α from `params` and is checked with
    α ∈ {0.5, 1, 2}.  Reads: `params` = {"alpha": α}.
    Verdict: fails token.normalization — Σ_k w_k = α, so α ≠ 1 breaks III.1
    (params[0] and params[2]): divide by α to conform.  Positivity, bounds and
    regularity hold: the weights are constant (L = 0).
    """
    alpha = float(np.asarray(params["alpha"]))
    p = np.asarray(probs)
    return np.full(p.shape[:2], alpha / p.shape[1])


def tinyllm_repaired(probs, context, *, params):
    """TinyLLM repaired: w_k = (α/K)/α = 1/K — the coefficients divided by their sum α.

    Reads: `params` (α, which cancels).  Verdict: every check holds; this is
    Hinton's uniform weighting, whatever α the checkpoint carries.
    """
    alpha = float(np.asarray(params["alpha"]))
    return tinyllm(probs, context, params=params) / alpha


def ca_mkd(probs, context, *, labels, teacher_logits):
    """CA-MKD (Zhang, Chen, Wang 2022, "Confidence-Aware Multi-Teacher Knowledge Distillation", ICASSP).

    Equation: CE_k = −log softmax(z_k)_y, teacher k's cross-entropy with the
    label y, and w_k = (1 − exp(CE_k) / Σ_j exp(CE_j)) / (K − 1) — one minus a
    softmax over the teachers' losses (not softmax(−CE), which would be the
    normalized label probabilities), scaled so Σ_k w_k = 1; the same form is in
    the authors' released code.  Reads: `teacher_logits`, `labels` (CE from the
    logits, as the paper's cross-entropy loss computes it).
    Verdict: fails token.positivity, token.bounded_influence, token.finite,
    token.normalization.  A teacher whose CE exceeds all the
    others' by ≳ 37 nats (logits of ±1e4 give gaps of thousands) gets a softmax
    of exactly 1.0 and a weight of exactly 0; even in exact arithmetic w_k → 0,
    so no w_min > 0 exists.  A label whose logit is −inf under some teacher
    (probability exactly 0) makes CE = +inf and the softmax inf/inf = NaN for the
    whole sample, which fails finiteness and, as a NaN row, normalization.
    token.regularity holds where w is finite: CE = −log p is continuous for
    p > 0 but has no Lipschitz constant as p → 0 (the report says so); the NaN
    at p = 0 is finiteness's failure.  The upper end is fine: w_k ≤ 1/(K − 1).
    """
    z = nx.f64(teacher_logits)
    ce = px.logits_cross_entropy(z, px.as_labels(labels, z.shape[0]))
    with np.errstate(invalid="ignore"):
        return (1.0 - nx.softmax(ce)) / (z.shape[1] - 1)


def _ca_repaired_bounds(k: int = K, v: int = V) -> tuple[float, float]:
    # CE~ lies in [−log(1 − γ + γ/V), log(V/γ)]; w = (1 − s)/(K − 1) for s the softmax over that box.
    lo, hi = -np.log(1.0 - CA_GAMMA + CA_GAMMA / v), np.log(v / CA_GAMMA)
    s_min, s_max = nx.softmax_box_bounds([lo] * k, [hi] * k)
    return (1.0 - s_max) / (k - 1), (1.0 - s_min) / (k - 1)


def ca_mkd_repaired(probs, context, *, labels):
    """CA-MKD repaired: the log inside the cross-entropy is clipped by label smoothing.

    Equation: CE~_k = −log((1 − γ) p_k(y) + γ/V), γ = 0.01, then CA-MKD's
    w_k = (1 − softmax_k(CE~))/(K − 1).  CE~ lies in [≈0.0094, log(V/γ) ≈ 7.38]
    for V = 16, so the softmax never reaches 1 and for K = 4 the weights lie in
    ≈ [6.3e-4, 0.3333]; CE~ is Lipschitz in p (slope ≤ (1 − γ)V/γ), so the weights
    are continuous and finite even when p_k(y) = 0; a single teacher gets weight
    1 (the formula divides by K − 1).  Reads: `probs`, `labels`
    (the probabilities are exactly the softmax of the logits the port reads).
    Verdict: every check holds (bounds declared for V = 16; world vocab = 16).
    """
    single = px.one_teacher(probs)
    if single is not None:
        return single
    p = nx.f64(probs)
    py = px.pick_label(px.smoothed(p, CA_GAMMA), px.as_labels(labels, p.shape[0]))
    return (1.0 - nx.softmax(-np.log(py))) / (p.shape[1] - 1)


def ebkd(probs, context):
    """EBKD-style entropy weights (Kwon, Na, Lee, Kim 2020, "Adaptive Knowledge Distillation Based on Entropy",
    ICASSP).

    Equation: w_k = 1 − H(p_k) / Σ_j H(p_j), H in nats — the form used as "EBKD"
    in the released comparison code of CA-MKD and MMKD; it could not be checked
    against the EBKD paper itself here.  Reads: `probs`.
    Verdict: fails token.normalization, token.positivity, token.bounded_influence,
    token.regularity, token.finite.  Σ_k w_k = K − 1 = 3 by construction (divide
    by K − 1 to conform; the released loss divides by K instead, which sums to
    (K − 1)/K).  A teacher that holds all the entropy (the others one-hot) gets
    w = 0.  When every teacher is one-hot, ΣH = 0 and the ratio is 0/0 = NaN —
    and near that point H_k/ΣH takes any value in [0, 1], so no continuous
    extension exists.
    """
    h = px.entropy_nats(probs)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1.0 - h / h.sum(axis=1, keepdims=True)


def ebkd_repaired(probs, context):
    """EBKD repaired: w_k = (1 − h~_k)/(K − 1), h~_k = (h_k + δ)/Σ_j (h_j + δ), h = H/log V, δ = 1/4.

    Dividing by K − 1 restores Σ = 1; the offset δ removes the 0/0 and keeps
    every h~_k in [δ/(Kδ + K − 1), (1 + δ)/(1 + Kδ)] = [0.0625, 0.625] for K = 4,
    so w ∈ [0.125, 0.3125] for any V (entropies divided by log V lie in [0, 1]).
    Entropy is continuous on the simplex (not Lipschitz at its edge, so no L is
    declared); a single teacher gets weight 1.  Reads: `probs`.  Verdict: every
    check holds.
    """
    single = px.one_teacher(probs)
    if single is not None:
        return single
    h = nx.normalized_entropy(nx.f64(probs)) + EBKD_DELTA
    return (1.0 - h / h.sum(axis=1, keepdims=True)) / (h.shape[1] - 1)


_EBKD_LO = (1.0 - (1.0 + EBKD_DELTA) / (1.0 + K * EBKD_DELTA)) / (K - 1)
_EBKD_HI = (1.0 - EBKD_DELTA / (K * EBKD_DELTA + K - 1)) / (K - 1)
_TINYLLM_PARAMS = tuple({"alpha": np.float64(a)} for a in TINYLLM_ALPHAS)

PORTS: tuple[Port, ...] = (
    Port("hinton_kd", "token", hinton_kd, "Hinton KD (uniform)", ()),
    Port("tinyllm", "token", tinyllm, "TinyLLM", ("params",), ("token.normalization",),
         "Σ_k w_k = α: the coefficients are not normalized (α = 0.5 and 2 fail, α = 1 conforms)",
         declare={"params": _TINYLLM_PARAMS}),
    Port("tinyllm_repaired", "token", tinyllm_repaired, "TinyLLM", ("params",), repairs="tinyllm",
         declare={"params": _TINYLLM_PARAMS, "bounds": (1.0 / K, 1.0 / K), "lipschitz": 0.0,
                  "world": {"teachers": K}}),
    Port("ca_mkd", "token", ca_mkd, "CA-MKD", ("teacher_logits", "labels"),
         ("token.normalization", "token.positivity", "token.bounded_influence", "token.finite"),
         "softmax over cross-entropies reaches exactly 1 (weight 0); a label logit of −inf gives CE = inf, NaN"),
    Port("ca_mkd_repaired", "token", ca_mkd_repaired, "CA-MKD", ("probs", "labels"), repairs="ca_mkd",
         declare={"bounds": _ca_repaired_bounds(), "world": {"teachers": K, "vocab": V}}),
    Port("ebkd", "token", ebkd, "EBKD", ("probs",),
         ("token.normalization", "token.positivity", "token.bounded_influence", "token.regularity", "token.finite"),
         "Σ_k w_k = K − 1; weight 0 for the teacher holding all the entropy; 0/0 when every teacher is one-hot"),
    Port("ebkd_repaired", "token", ebkd_repaired, "EBKD", ("probs",), repairs="ebkd",
         declare={"bounds": (_EBKD_LO, _EBKD_HI), "world": {"teachers": K}}),
)
