"""The published ports compute their papers' equations: hand-computed small inputs, independent formulas."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from axiomcheck.library import _simplex_qp as qp
from axiomcheck.library import published_gradient as G
from axiomcheck.library import published_learned as L
from axiomcheck.library import published_task as T
from axiomcheck.library import published_token as W
from tests.published_inputs import softmax


def _ce_probs(p, y):
    return -np.log(p[np.arange(p.shape[0]), :, y])


# ----------------------------------------------------------------------------- token scale


def test_hinton_and_tinyllm_coefficients():
    p = np.full((2, 3, 5), 0.2)
    assert W.hinton_kd(p, None).tolist() == [[1 / 3] * 3] * 2
    w = W.tinyllm(p, None, params={"alpha": 0.5})
    assert np.allclose(w, 0.5 / 3) and np.allclose(w.sum(axis=1), 0.5)  # Σ = α, not 1
    assert np.allclose(W.tinyllm_repaired(p, None, params={"alpha": 2.0}), 1 / 3)


def test_ca_mkd_is_one_minus_softmax_of_the_cross_entropies():
    z = np.array([[[3.0, 0.0, -1.0], [0.0, 1.0, 0.0], [-2.0, 2.0, 1.0]]])  # K = 3, V = 3, label 0
    y = np.array([0])
    p = softmax(z)
    ce = _ce_probs(p, y)[0]
    # by hand: exp(CE_k) = 1/p_k(y), so the softmax over CE is (1/p_k(y)) / Σ_j 1/p_j(y)
    s = (1 / p[0, :, 0]) / (1 / p[0, :, 0]).sum()
    want = (1 - s) / 2
    got = W.ca_mkd(p, None, labels=y, teacher_logits=z)[0]
    assert np.allclose(got, want, rtol=0, atol=1e-15) and np.isclose(got.sum(), 1.0)
    assert np.allclose(np.exp(ce) / np.exp(ce).sum(), s)
    # with three teachers it is not softmax(−CE) (the normalized label probabilities) ...
    assert not np.allclose(got, softmax(-ce))
    # ... but with two teachers the two forms coincide
    z2, p2 = z[:, :2], p[:, :2]
    assert np.allclose(W.ca_mkd(p2, None, labels=y, teacher_logits=z2)[0], softmax(-_ce_probs(p2, y)[0]))


def test_ca_mkd_repaired_smooths_the_label_probability():
    p = softmax(np.array([[[2.0, 0.0, 1.0, 0.5], [0.0, 3.0, 0.0, 0.0]]]))
    y = np.array([1])
    pt = 0.99 * p[0, :, 1] + 0.01 / 4
    want = (1 - (1 / pt) / (1 / pt).sum()) / 1
    assert np.allclose(W.ca_mkd_repaired(p, None, labels=y)[0], want, atol=1e-15)


def test_ebkd_weights_are_one_minus_entropy_shares():
    p = np.array([[[0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.9, 0.05, 0.05]]])
    h = np.array([np.log(2), np.log(3), -(0.9 * np.log(0.9) + 0.1 * np.log(0.05))])
    want = 1 - h / h.sum()
    got = W.ebkd(p, None)[0]
    assert np.allclose(got, want, atol=1e-15) and np.isclose(got.sum(), 2.0)  # Σ = K − 1
    hn = h / np.log(3) + 0.25
    assert np.allclose(W.ebkd_repaired(p, None)[0], (1 - hn / hn.sum()) / 2, atol=1e-15)


def _grid(k: int, n: int, cap: float) -> np.ndarray:
    pts = [c for c in itertools.product(range(n + 1), repeat=k - 1) if sum(c) <= n]
    g = np.array([list(c) + [n - sum(c)] for c in pts], dtype=float) / n
    return g[(g <= cap + 1e-12).all(axis=1)]


@pytest.mark.parametrize("k, cap", [(2, 1.0), (2, 0.6), (3, 1.0), (3, 0.6)])
def test_simplex_qp_beats_a_brute_force_grid(k, cap):
    rng = np.random.default_rng(k)
    g = rng.standard_normal((40, k, 6))
    A = np.einsum("bkv,bjv->bkj", g, g)
    alpha = qp.solve(A, np.zeros((40, k)), cap)
    assert np.allclose(alpha.sum(axis=1), 1.0) and (alpha >= 0).all() and (alpha <= cap + 1e-12).all()
    grid = _grid(k, 120, cap)
    best = np.einsum("gk,bkj,gj->bg", grid, A, grid).min(axis=1)
    assert (qp.objective(A, np.zeros((40, k)), alpha) <= best + 1e-12).all()


def test_simplex_qp_refuses_what_it_cannot_solve():
    with pytest.raises(ValueError, match="cap"):
        qp.solve(np.eye(3)[None], np.zeros((1, 3)), cap=0.2)
    with pytest.raises(ValueError, match="too many"):
        qp.solve(np.eye(11)[None], np.zeros((1, 11)))


def test_ae_kd_is_the_mixture_of_teachers_closest_to_the_student():
    rng = np.random.default_rng(3)
    p = rng.dirichlet(np.ones(5), size=(1, 3))
    q = rng.dirichlet(np.ones(5), size=1)
    w = G.ae_kd(p, None, student=q)[0]
    assert np.isclose(w.sum(), 1.0) and (w >= 0).all() and (w <= G.AEKD_CAP + 1e-12).all()
    dist = np.linalg.norm(q[0] - w @ p[0])
    grid = _grid(3, 200, G.AEKD_CAP)
    assert dist <= np.linalg.norm(q[0][None] - grid @ p[0], axis=1).min() + 1e-9


def test_ae_kd_uses_the_batch_mean_gradient_and_the_repair_does_not():
    rng = np.random.default_rng(4)
    p = rng.dirichlet(np.ones(6), size=(5, 4))
    q = rng.dirichlet(np.ones(6), size=5)
    w = G.ae_kd(p, None, student=q)
    assert np.allclose(w, w[0])  # one weight vector for the whole batch
    mean_only = G.ae_kd(p.mean(axis=0, keepdims=True), None, student=q.mean(axis=0, keepdims=True))
    assert np.allclose(w[0], mean_only[0])
    r = G.ae_kd_repaired(p, None, student=q)
    alone = np.concatenate([G.ae_kd_repaired(p[i:i + 1], None, student=q[i:i + 1]) for i in range(5)])
    assert np.array_equal(r, alone)


def test_ae_kd_repaired_solves_the_ridge_problem_then_floors():
    rng = np.random.default_rng(5)
    p = rng.dirichlet(np.ones(4), size=(1, 3))
    q = rng.dirichlet(np.ones(4), size=1)
    mu, eps = G.AEKD_RIDGE, G.AEKD_EPS
    grid = _grid(3, 300, G.AEKD_CAP)
    gk = q[0][None] - p[0]
    f = np.linalg.norm(grid @ gk, axis=1) ** 2 + mu * ((grid - 1 / 3) ** 2).sum(axis=1)
    alpha = (G.ae_kd_repaired(p, None, student=q)[0] - eps) / (1 - 3 * eps)
    f_alpha = np.linalg.norm(alpha @ gk) ** 2 + mu * ((alpha - 1 / 3) ** 2).sum()
    assert f_alpha <= f.min() + 1e-12


# ----------------------------------------------------------------------------- learned


def _mlp(x, layers):
    h = np.maximum(x @ layers[0]["W"] + layers[0]["b"], 0.0)
    return h @ layers[1]["W"] + layers[1]["b"]


def test_mmkd_meta_network_on_logits_and_on_probabilities():
    rng = np.random.default_rng(6)
    z = rng.standard_normal((3, 4, 16))
    p, q = softmax(z), rng.dirichlet(np.ones(16), size=3)
    ck = L.MMKD_CHECKPOINTS[0]
    x_logits = np.concatenate([z.reshape(3, -1), np.log(q)], axis=1)
    assert np.allclose(L.mmkd_meta(p, None, teacher_logits=z, student=q, params=ck), softmax(_mlp(x_logits, ck)))
    x_probs = np.concatenate([p.reshape(3, -1), q], axis=1)
    w = L.mmkd_meta_probs(p, None, student=q, params=ck)
    assert np.allclose(w, softmax(_mlp(x_probs, ck)))
    assert np.allclose(L.mmkd_meta_repaired(p, None, student=q, params=ck), (1 - 4 * 0.01) * w + 0.01)


def test_amtml_logits_are_latent_factors_times_features():
    rng = np.random.default_rng(7)
    params = L.amtml_params(rng)
    beta = rng.standard_normal((2, 8))
    alpha = np.array([[sum(beta[b, f] * params["theta"][k, f] * params["W"][f] for f in range(8))
                       for k in range(4)] for b in range(2)])
    assert np.allclose(L.amtml_kd(None, None, features=beta, params=params), softmax(alpha))
    assert np.allclose(L.amtml_kd_repaired(None, None, features=beta, params=params),
                       softmax(2.0 * np.tanh(alpha / 2.0)))


def test_mtkd_rl_averages_policy_confidence_and_gap():
    rng = np.random.default_rng(8)
    z = rng.standard_normal((2, 4, 16))
    p, q, y, feats = softmax(z), rng.dirichlet(np.ones(16), size=2), np.array([3, 9]), rng.standard_normal((2, 8))
    ck = L.MTKD_RL_CHECKPOINTS[0]
    ce = _ce_probs(p, y)
    kl = (p * (np.log(p) - np.log(q)[:, None, :])).sum(axis=2)
    state = np.concatenate([np.concatenate([kl[:, :, None], ce[:, :, None], z], axis=2).reshape(2, -1), feats], 1)
    policy = softmax(np.maximum(state @ ck[0]["W"], 0) @ ck[1]["W"] + ck[1]["b"])
    want = (policy + (1 - softmax(ce)) / 3 + softmax(kl)) / 3
    got = L.mtkd_rl(p, None, labels=y, student=q, teacher_logits=z, features=feats, params=ck)
    assert np.allclose(got, want, atol=1e-12)


# ----------------------------------------------------------------------------- task importance


def test_dwa_is_m_times_softmax_of_loss_ratios():
    h = np.array([[[2.0, 1.0, 4.0], [1.0, 1.5, 4.0]]])  # L(n−2), L(n−1)
    r = np.array([0.5, 1.5, 1.0])
    want = 3 * np.exp(r / 2) / np.exp(r / 2).sum()
    assert np.allclose(T.dwa(None, None, history=h, step=np.array([7])), want)
    assert T.dwa(None, None, history=h, step=np.array([1])).tolist() == [[1.0, 1.0, 1.0]]
    assert np.allclose(T.dwa_repaired(None, None, history=h, step=np.array([7])), want / 3, atol=1e-6)
    assert np.allclose(T.dwa_repaired(None, None, history=h, step=np.array([0])), 1 / 3)


def test_uncertainty_weights_are_inverse_twice_the_variance():
    s = np.array([-0.7, 0.3, 1.2])
    losses = np.zeros((2, 3, 4))
    lam = T.uncertainty_weighting(losses, None, params={"log_var": s})
    assert np.allclose(lam, 1 / (2 * np.exp(s)))
    rep = T.uncertainty_weighting_repaired(losses, None, params={"log_var": s})
    assert np.allclose(rep, lam / lam.sum(axis=1, keepdims=True))


def test_gradnorm_one_update_by_hand():
    ck = T.GRADNORM_CHECKPOINTS[0]
    h = np.array([[[2.0, 1.0, 1.0], [1.0, 1.0, 0.5]]])  # L(0), L(n)
    w, g = ck["weights"], ck["grad_norms"]
    lt = np.array([0.5, 1.0, 0.5])
    r = lt / lt.mean()
    big = w * g
    target = big.mean() * r ** 1.5
    new = w - 0.05 * np.sign(big - target) * g
    assert np.allclose(T.gradnorm(None, None, history=h, params=ck)[0], 3 * new / new.sum())
    rep = T.gradnorm_repaired(None, None, history=h, params=ck)[0]
    smooth = np.maximum(w - 0.05 * g * np.tanh((big - target) / (0.1 * big.mean())), 0.01 * w.mean())
    assert np.allclose(rep, smooth / smooth.sum(), atol=1e-6)  # δ = 1e-6 inside the ratios
