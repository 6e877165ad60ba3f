"""Ports of learned token-scale weightings: a meta-weight network, latent teacher factors, an RL policy.

MMKD's meta-weight network, AMTML-KD's latent weighting and MTKD-RL's policy
each map per-sample state through learned parameters to softmax weights; the
parameters arrive as `params` (one checkpoint per call; `verify()` checks each
declared checkpoint, or draws).  Each port is followed by its repaired variant.
The checkpoints are seeded and built here (`MMKD_CHECKPOINTS`,
`MTKD_RL_CHECKPOINTS`, `amtml_params`), so they are reproducible and
reviewable; the verdicts are for K = 4, V = 16, F = 8.  A
checkpoint has one output per teacher of the world it was built for: each port
declares `world={"teachers": 4}`, so the engine does not feed it the K = 1
family of the well-posedness checks; called with a single teacher anyway, every
port answers weight 1, as any normalized weighting must.

>>> [sorted(c) for c in MMKD_CHECKPOINTS[0]]
[['W', 'b'], ['W', 'b']]
"""

from __future__ import annotations

import numpy as np

from axiomcheck.library import _numerics as nx
from axiomcheck.library import _ports as px
from axiomcheck.library.port import Port

__all__ = ["PORTS", "MMKD_CHECKPOINTS", "MTKD_RL_CHECKPOINTS", "amtml_kd", "amtml_kd_repaired", "amtml_params",
           "mmkd_meta", "mmkd_meta_probs", "mmkd_meta_repaired", "mtkd_rl", "mtkd_rl_repaired",
           "AMTML_TAU", "LEARNED_EPS", "RL_GAMMA"]

K, V, F = nx.WORLD_TEACHERS, 16, 8
WORLD = {"teachers": K, "vocab": V, "features": F}
#: floor of the repaired meta-weight network
LEARNED_EPS = 0.01
#: logit range τ of the repaired AMTML-KD weights: logits τ tanh(α/τ) ∈ (−τ, τ)
AMTML_TAU = 2.0
#: label smoothing inside the repaired MTKD-RL state's logs
RL_GAMMA = 0.01


def _meta_layers(n_in: int, scale_out: float, seed: int) -> list[dict]:
    return px.random_layers(seed, [n_in, n_in // 2, K], [2.0, scale_out])


#: MMKD meta-weight network checkpoints (input (K + 1)V, hidden half of it, as released): a calm one,
#: and a sharp one whose output layer is 1500 times larger, so score gaps exceed the ~745 nats
#: a float64 exp can resolve and some weights underflow to exactly 0.
MMKD_CHECKPOINTS = (_meta_layers((K + 1) * V, 1.0, seed=2023), _meta_layers((K + 1) * V, 1500.0, seed=2023))


def _meta(x: np.ndarray, params) -> np.ndarray:
    return nx.softmax(px.relu_mlp(x, params))


def mmkd_meta(probs, context, *, teacher_logits, student, params):
    """MMKD's meta-weight network (Zhang, Chen, Wang 2023, "Adaptive Multi-Teacher Knowledge Distillation
    with Meta-Learning", ICME).

    Equation: w = softmax(W₂ relu(W₁ x + b₁) + b₂) with x = [z_1, …, z_K, z_s]
    the concatenated teacher and student logits (the released `LogitsWeight`
    network, hidden width (K + 1)V / 2).  The student's logits are not an input
    of axiomcheck; the port uses log q, the logits shifted so their log-sum-exp
    is 0 (the network is not shift-invariant, so this is one choice of the
    constant).  The released training loop also feeds the teachers'
    cross-entropies in one place; that variant is not ported.
    Reads: `teacher_logits`, `student`, `params` (the two `MMKD_CHECKPOINTS`).
    Verdict: fails token.finite, token.normalization, token.positivity,
    token.bounded_influence, token.regularity — for both checkpoints.  Raw logits
    are unbounded: at ±1e4 the scores are thousands apart and the softmax gives
    weights of exactly 0; a logit of −inf (or a student probability of 0, whose
    log is −inf) enters the first layer as ±inf and leaves as inf − inf = NaN.
    """
    single = px.one_teacher(probs)
    if single is not None:
        return single
    z = nx.f64(teacher_logits)
    q = px.required(student, "student")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        x = np.concatenate([z.reshape(z.shape[0], -1), np.log(q)], axis=1)
        return _meta(x, params)


def _prob_state(probs: np.ndarray, student) -> np.ndarray:
    p = nx.f64(probs)
    return np.concatenate([p.reshape(p.shape[0], -1), px.required(student, "student")], axis=1)


def mmkd_meta_probs(probs, context, *, student, params):
    """MMKD's network fed probabilities instead of logits: conforms for one checkpoint, not for the other.

    Equation: w = softmax(W₂ relu(W₁ x + b₁) + b₂), x = [p_1, …, p_K, q] ∈ [0, 1]^{(K+1)V}.
    Bounded inputs give bounded scores for any finite checkpoint, so no NaN and
    no infinite logit — but the bound is the checkpoint's: the calm checkpoint
    (params[0]) keeps every weight well above 0, while the sharp one (params[1])
    puts scores more than 745 apart and a weight underflows to exactly 0.
    Reads: `probs`, `student`, `params`.
    Verdict: fails token.positivity and token.bounded_influence, both through
    params[1] only; normalization (a softmax), continuity (a ReLU network is
    Lipschitz) and finiteness hold for both.
    """
    single = px.one_teacher(probs)
    return single if single is not None else _meta(_prob_state(probs, student), params)


def mmkd_meta_repaired(probs, context, *, student, params):
    """MMKD repaired: probabilities in, floor-and-renormalize out: w ← (1 − Kε) w + ε, ε = 0.01.

    The floor keeps Σ = 1 and puts every weight in [ε, 1 − (K − 1)ε] =
    [0.01, 0.97] for K = 4 whatever the checkpoint; it is affine, so continuity is
    kept.  Reads: `probs`, `student`, `params`.  Verdict: every check holds, for
    both checkpoints.
    """
    return px.floor_mix(mmkd_meta_probs(probs, context, student=student, params=params), LEARNED_EPS)


def amtml_params(rng: np.random.Generator) -> dict:
    """A draw of AMTML-KD's parameters as the released code initializes them: θ ~ N(0, 1)^{K×F}, W ~ N(0, 1)^F."""
    return {"theta": rng.standard_normal((K, F)), "W": rng.standard_normal(F)}


def _amtml_logits(features, params) -> np.ndarray:
    beta = px.required(features, "features")
    theta, w = nx.f64(params["theta"]), nx.f64(params["W"])
    return (beta[:, None, :] * (theta * w[None, :])[None, :, :]).sum(axis=2)


def amtml_kd(probs, context, *, features, params):
    """AMTML-KD latent weighting (Liu, Zhang, Wang 2020, "Adaptive Multi-Teacher Multi-level Knowledge
    Distillation", Neurocomputing).

    Equation: each teacher k has a latent factor θ_k; with the instance's
    feature vector β (the released code max-pools the student's last feature
    map), α_k = (β ⊙ θ_k)ᵀ W and w = softmax_k(α).  Reads: `features`, `params`
    (drawn like the released initialization, `amtml_params`).
    Verdict: fails token.positivity and token.bounded_influence.  α is linear in
    the features, so features far out (|β| ≳ 1e3) push the logits hundreds of
    nats apart and the smallest weights underflow to exactly 0; even in exact
    arithmetic the infimum over the feature space is 0.  Normalization,
    continuity (Lipschitz in β) and finiteness hold.
    """
    single = px.one_teacher(probs)
    return single if single is not None else nx.softmax(_amtml_logits(features, params))


def amtml_kd_repaired(probs, context, *, features, params):
    """AMTML-KD repaired: logits clipped smoothly, w = softmax_k(τ tanh(α_k/τ)), τ = 2.

    The logits stay in (−τ, τ), so for K = 4 the weights lie in
    [e^{−τ}/(e^{−τ} + 3e^{τ}), e^{τ}/(e^{τ} + 3e^{−τ})] ≈ [0.0061, 0.9479] for every
    feature vector and draw; tanh is 1-Lipschitz, so continuity is kept.
    Reads: `features`, `params`.  Verdict: every check holds.
    """
    single = px.one_teacher(probs)
    if single is not None:
        return single
    return nx.softmax(AMTML_TAU * np.tanh(_amtml_logits(features, params) / AMTML_TAU))


def _rl_checkpoint(seed: int) -> list[dict]:
    n_in = K * (V + 2) + F
    rng = np.random.default_rng(seed)
    stem = {"W": rng.standard_normal((n_in, 32)) * (2.0 / np.sqrt(n_in))}  # Linear(…, bias=False)
    head = {"W": rng.standard_normal((32, K)) * (1.0 / np.sqrt(32)), "b": rng.standard_normal(K) * 0.1}
    return [stem, head]


#: MTKD-RL policy checkpoint (stem without bias, head with bias, as released; hidden width 32, not 128).
MTKD_RL_CHECKPOINTS = (_rl_checkpoint(2025),)


def _rl_weights(ce: np.ndarray, kl: np.ndarray, teacher_part: np.ndarray, feats: np.ndarray,
                params) -> np.ndarray:
    b, k = ce.shape
    info = np.concatenate([kl[:, :, None], ce[:, :, None], teacher_part], axis=2).reshape(b, -1)
    policy = nx.softmax(px.relu_mlp(np.concatenate([info, feats], axis=1), params))
    confidence = (1.0 - nx.softmax(ce)) / (k - 1)
    gap = nx.softmax(kl)
    return (policy + confidence + gap) / 3.0


def mtkd_rl(probs, context, *, labels, student, teacher_logits, features, params):
    """MTKD-RL's teacher weights (Yang, Yu, Yang, An, Yu, Huang, Xu 2025, "Multi-Teacher Knowledge
    Distillation with Reinforcement Learning for Visual Recognition", AAAI).

    Equation (the released non-dynamic policy): w = ⅓ [softmax(head(relu(stem(s))))
    + (1 − softmax_k(CE_k))/(K − 1) + softmax_k(KL_k)], with the state
    s = [KL_k, CE_k, z_k for each teacher k; features], CE_k = −log softmax(z_k)_y
    and KL_k = KL(p_k ‖ q) the teacher–student gap (at temperature 1).  The
    released state also holds each teacher's embedding and its cosine similarity
    with the student's; axiomcheck passes one feature vector per sample, which the
    port appends in their place.  The RL agent's actions are these weights
    (the reward trains the policy; it does not enter w).
    Reads: `labels`, `student`, `teacher_logits`, `features`, `params`.
    Verdict: fails token.finite, token.normalization, token.positivity,
    token.bounded_influence, token.regularity.  A confidently wrong student
    (q_v = 0 where a teacher has mass) makes KL_k = +inf, and a label logit of −inf
    makes CE_k = +inf; either turns the softmaxes (and the policy, which reads
    them) into inf − inf = NaN.  Logits of ±1e4 in the state saturate all three
    softmaxes, and a teacher can receive exactly 0 from each.
    """
    single = px.one_teacher(probs)
    if single is not None:
        return single
    z = nx.f64(teacher_logits)
    y = px.as_labels(labels, z.shape[0])
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ce = px.logits_cross_entropy(z, y)
        kl = px.kl_teacher_student(nx.f64(probs), px.required(student, "student"))
        return _rl_weights(ce, kl, z, px.required(features, "features"), params)


def _rl_repaired_bounds(k: int = K, v: int = V) -> tuple[float, float]:
    hi = np.log(v / RL_GAMMA)
    lo = -np.log(1.0 - RL_GAMMA + RL_GAMMA / v)
    s_min, s_max = nx.softmax_box_bounds([lo] * k, [hi] * k)  # the confidence softmax over CE~
    g_min, g_max = nx.softmax_box_bounds([0.0] * k, [hi] * k)  # the gap softmax over KL~
    lower = (0.0 + (1.0 - s_max) / (k - 1) + g_min) / 3.0
    upper = (1.0 + (1.0 - s_min) / (k - 1) + g_max) / 3.0
    return lower, upper


def mtkd_rl_repaired(probs, context, *, labels, student, features, params):
    """MTKD-RL repaired: every log clipped by label smoothing, the state bounded.

    Equation: as `mtkd_rl` with CE~_k = −log((1 − γ) p_k(y) + γ/V),
    KL~_k = KL(p_k ‖ (1 − γ) q + γ/V), γ = 0.01, the teachers' probabilities in
    place of their logits and tanh(features) in place of the features.  CE~ and
    KL~ lie in [0, log(V/γ)] and are Lipschitz in (p, q), so nothing is infinite
    and nothing jumps; the confidence and gap parts alone keep every weight
    ≥ (min of each)/3, so for K = 4, V = 16 the weights lie in
    ≈ [2.8e-4, 0.777] for any checkpoint.  Reads: `labels`, `student`, `probs`,
    `features`, `params`.  Verdict: every check holds.
    """
    single = px.one_teacher(probs)
    if single is not None:
        return single
    p = nx.f64(probs)
    y = px.as_labels(labels, p.shape[0])
    ce = -np.log(px.pick_label(px.smoothed(p, RL_GAMMA), y))
    kl = px.kl_teacher_student(p, px.smoothed(px.required(student, "student"), RL_GAMMA))
    return _rl_weights(ce, kl, p, np.tanh(px.required(features, "features")), params)


PORTS: tuple[Port, ...] = (
    Port("mmkd_meta", "token", mmkd_meta, "MMKD", ("teacher_logits", "student", "params"),
         ("token.normalization", "token.positivity", "token.bounded_influence", "token.regularity", "token.finite"),
         "raw logits in: ±1e4 saturates the softmax to 0, −inf (or log 0) becomes NaN",
         declare={"params": MMKD_CHECKPOINTS, "world": WORLD}),
    Port("mmkd_meta_probs", "token", mmkd_meta_probs, "MMKD", ("probs", "student", "params"),
         ("token.positivity", "token.bounded_influence"),
         "bounded inputs, but the sharp checkpoint (params[1]) spreads scores past what exp resolves: weight 0",
         repairs="mmkd_meta", declare={"params": MMKD_CHECKPOINTS, "world": WORLD}),
    Port("mmkd_meta_repaired", "token", mmkd_meta_repaired, "MMKD", ("probs", "student", "params"),
         repairs="mmkd_meta",
         declare={"params": MMKD_CHECKPOINTS, "world": WORLD, "bounds": px.floor_bounds(K, LEARNED_EPS)}),
    Port("amtml_kd", "token", amtml_kd, "AMTML-KD", ("features", "params"),
         ("token.positivity", "token.bounded_influence"),
         "logits linear in unbounded features: far-out features underflow the smallest weights to 0",
         declare={"params": amtml_params, "world": {"teachers": K, "features": F}}),
    Port("amtml_kd_repaired", "token", amtml_kd_repaired, "AMTML-KD", ("features", "params"), repairs="amtml_kd",
         declare={"params": amtml_params, "world": {"teachers": K, "features": F},
                  "bounds": nx.softmax_box_bounds([-AMTML_TAU] * K, [AMTML_TAU] * K)}),
    Port("mtkd_rl", "token", mtkd_rl, "MTKD-RL", ("labels", "student", "teacher_logits", "features", "params"),
         ("token.normalization", "token.positivity", "token.bounded_influence", "token.regularity", "token.finite"),
         "CE = inf (label logit −inf) or KL = inf (confidently wrong student) gives NaN; ±1e4 logits saturate to 0",
         declare={"params": MTKD_RL_CHECKPOINTS, "world": WORLD}),
    Port("mtkd_rl_repaired", "token", mtkd_rl_repaired, "MTKD-RL",
         ("labels", "student", "probs", "features", "params"), repairs="mtkd_rl",
         declare={"params": MTKD_RL_CHECKPOINTS, "world": WORLD, "bounds": _rl_repaired_bounds()}),
)
