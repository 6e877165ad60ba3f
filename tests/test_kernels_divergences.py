"""The divergences, hard labels and masks of the logit kernels (kd_loss, kd_loss_and_grad,
entropy_kd_loss_and_grad, the textbook formulation) against an independent float64 reference
(tests/kd_reference.py), jax.grad of that reference, and optax.

JAX runs with strict dtype promotion and rank promotion set to raise. N is not a multiple
of the block sizes, so the overlapping last block of the stream is exercised.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from axiomcheck.kernels import (
    DIVERGENCES,
    entropy_kd_loss_and_grad,
    entropy_weights,
    kd_loss,
    kd_loss_and_grad,
)
from tests.kd_reference import kd_objective, rel_err

K, N, V = 3, 10, 17
RTOL = 1e-5


@pytest.fixture(autouse=True)
def strict_jax():
    with jax.numpy_dtype_promotion("strict"), jax.numpy_rank_promotion("raise"):
        yield


def make_inputs(seed, per_token=False, k=K, n=N, v=V, scale=3.0):
    rng = np.random.default_rng(seed)
    teacher = (rng.standard_normal((k, n, v)) * scale).astype(np.float32)
    student = (rng.standard_normal((n, v)) * scale).astype(np.float32)
    weights = rng.uniform(0.05, 1.0, (k, n, v) if per_token else (k, n)).astype(np.float32)
    labels = rng.integers(0, v, n).astype(np.int32)
    return student, teacher, weights, labels


def ref_value(student, teacher, weights, **kw):
    f64 = [np.asarray(a, np.float64) for a in (student, teacher, weights)]
    return float(kd_objective(np, *f64, **kw))


def ref_grads(student, teacher, weights, argnums=(0,), **kw):
    """jax.grad of the reference in float64."""
    with jax.enable_x64(True), jax.numpy_dtype_promotion("standard"):
        args = [jnp.asarray(np.asarray(a, np.float64)) for a in (student, teacher, weights)]
        grads = jax.grad(lambda s, t, w: kd_objective(jnp, s, t, w, **kw), argnums)(*args)
        return [np.asarray(g) for g in grads]


OPTION_SETS = {
    "plain": dict(),
    "T2.5-t2": dict(temperature=2.5, t_squared=True),
    "labels": dict(temperature=0.7, alpha=0.3, labels=True),
    "mask": dict(temperature=1.5, mask=True),
    "labels-ignore-mask": dict(temperature=2.0, t_squared=True, alpha=0.6, labels=True,
                               ignore=True, mask=True),
}


def options(name, labels, seed=0):
    """Keyword options of one OPTION_SETS entry, with concrete labels / mask."""
    kw = dict(OPTION_SETS[name])
    rng = np.random.default_rng(seed)
    lab = labels.copy()
    if kw.pop("ignore", False):
        lab[[1, 6]] = -100
    if kw.pop("labels", False):
        kw["labels"] = lab
    if kw.pop("mask", False):
        mask = np.ones(N, bool)
        mask[rng.choice(N, 3, replace=False)] = False
        kw["mask"] = mask
    return kw


# ------------------------------------------------------------ values and gradients


@pytest.mark.parametrize("opt", sorted(OPTION_SETS))
@pytest.mark.parametrize("per_token", [False, True], ids=["token-independent", "per-token"])
@pytest.mark.parametrize("divergence", DIVERGENCES)
def test_loss_and_student_gradient_match_the_float64_reference(divergence, per_token, opt):
    student, teacher, weights, labels = make_inputs(1 + per_token, per_token)
    kw = dict(divergence=divergence, beta=0.3, **options(opt, labels))
    loss, grad = kd_loss_and_grad(student, teacher, weights, block_size=3, **kw)
    assert loss.dtype == jnp.float32 and grad.shape == (N, V)
    assert rel_err(loss, ref_value(student, teacher, weights, **kw)) <= RTOL
    (want_grad,) = ref_grads(student, teacher, weights, **kw)
    assert rel_err(grad, want_grad) <= RTOL
    if "mask" in kw:  # dropped positions get no gradient at all
        np.testing.assert_array_equal(np.asarray(grad)[~kw["mask"]], 0.0)


@pytest.mark.parametrize("per_token", [False, True], ids=["token-independent", "per-token"])
@pytest.mark.parametrize("divergence", DIVERGENCES)
def test_teacher_and_weight_cotangents_match_jax_grad_of_the_reference(divergence, per_token):
    student, teacher, weights, labels = make_inputs(3 + per_token, per_token)
    kw = dict(divergence=divergence, beta=0.6, **options("labels-ignore-mask", labels, seed=1))
    got = jax.jit(jax.grad(lambda s, t, w: kd_loss(s, t, w, block_size=4, **kw), argnums=(0, 1, 2)))(
        student, teacher, weights)
    want = ref_grads(student, teacher, weights, argnums=(0, 1, 2), **kw)
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape
        assert rel_err(g, w) <= RTOL


@pytest.mark.parametrize("divergence", DIVERGENCES)
def test_entropy_weighted_kernel_matches_the_reference(divergence):
    student, teacher, _, labels = make_inputs(5)
    kw = dict(divergence=divergence, temperature=1.7, labels=labels, alpha=0.25)
    loss, grad = entropy_kd_loss_and_grad(student, teacher, beta=0.8, jsd_beta=0.4, block_size=4, **kw)
    ref_kw = dict(kw, beta=0.4, entropy_beta=0.8)
    dummy = np.ones((K, N), np.float32)
    assert rel_err(loss, ref_value(student, teacher, dummy, **ref_kw)) <= RTOL
    assert rel_err(grad, ref_grads(student, teacher, dummy, **ref_kw)[0]) <= RTOL
    w = entropy_weights(teacher, beta=0.8, temperature=1.7)
    two = kd_loss_and_grad(student, teacher, w, beta=0.4, **kw)
    np.testing.assert_allclose(loss, two[0], rtol=1e-6)
    assert rel_err(grad, two[1]) <= 1e-6


@pytest.mark.parametrize("per_token", [False, True], ids=["token-independent", "per-token"])
@pytest.mark.parametrize("divergence", DIVERGENCES)
def test_textbook_formulation_equals_the_streamed_one(divergence, per_token):
    student, teacher, weights, labels = make_inputs(6, per_token)
    kw = dict(options("labels-ignore-mask", labels, seed=2), divergence=divergence,
              temperature=1.3)
    streamed = kd_loss_and_grad(student, teacher, weights, formulation="streamed", **kw)
    textbook = kd_loss_and_grad(student, teacher, weights, formulation="textbook", **kw)
    np.testing.assert_allclose(streamed[0], textbook[0], rtol=2e-6)
    assert rel_err(streamed[1], textbook[1]) <= 2e-6
    g_t = jax.grad(lambda t: kd_loss(student, t, weights, formulation="textbook", **kw))(teacher)
    g_s = jax.grad(lambda t: kd_loss(student, t, weights, formulation="streamed", **kw))(teacher)
    assert rel_err(g_t, g_s) <= 1e-5


# ------------------------------------------------------------ optax


def test_divergences_match_optax():
    """Uniform weights (q = mean of the teachers' softmax): each divergence and the
    hard-label term against optax's own KL and cross-entropy, value and gradient."""
    student, teacher, _, labels = make_inputs(7)
    t, beta, alpha = 2.0, 0.35, 0.4
    weights = np.full((K, N), 1.0 / K, np.float32)
    q = jnp.mean(jax.nn.softmax(jnp.asarray(teacher) / t, axis=-1), axis=0)
    log_q = jnp.log(q)
    mask = np.ones(N, bool)
    mask[[0, 4]] = False

    def optax_div(name, z):
        log_s = jax.nn.log_softmax(z / t, axis=-1)
        if name == "cross_entropy":
            return optax.softmax_cross_entropy(z / t, q)
        if name == "forward_kl":
            return optax.kl_divergence(log_s, q)
        if name == "reverse_kl":
            return optax.losses.kl_divergence_with_log_targets(log_q, log_s)
        log_m = jnp.log(beta * q + (1.0 - beta) * jnp.exp(log_s))
        return (beta * optax.kl_divergence(log_m, q)
                + (1.0 - beta) * optax.losses.kl_divergence_with_log_targets(log_m, log_s))

    for name in DIVERGENCES:
        def total(z, name=name):
            rows = (1.0 - alpha) * optax_div(name, z) + alpha * (
                optax.softmax_cross_entropy_with_integer_labels(z, jnp.asarray(labels)))
            return jnp.sum(jnp.where(mask, rows, 0.0)) / np.float32(mask.sum())

        want_loss, want_grad = jax.value_and_grad(total)(jnp.asarray(student))
        loss, grad = kd_loss_and_grad(student, teacher, weights, divergence=name, beta=beta,
                                      temperature=t, labels=labels, alpha=alpha, mask=mask)
        assert rel_err(loss, want_loss) <= RTOL, name
        assert rel_err(grad, want_grad) <= RTOL, name


# ------------------------------------------------------------ JSD(β) and its ends


def test_jsd_ends_are_the_two_kls_and_its_limits_agree():
    # logits of scale 1: student and target close enough that the O(β) term of
    # JSD(β)/β − KL, β χ²(q‖p) / 2, is small at β = 1e-3
    student, teacher, weights, _ = make_inputs(8, scale=1.0)
    fwd = kd_loss(student, teacher, weights, divergence="forward_kl")
    rev = kd_loss(student, teacher, weights, divergence="reverse_kl")
    np.testing.assert_array_equal(kd_loss(student, teacher, weights, divergence="jsd", beta=0.0), fwd)
    np.testing.assert_array_equal(kd_loss(student, teacher, weights, divergence="jsd", beta=1.0), rev)
    assert abs(float(fwd) - float(rev)) > 1e-2  # the two ends really differ
    eps = 1e-3  # JSD(β)/β → KL(q‖p) as β → 0; JSD(β)/(1−β) → KL(p‖q) as β → 1 (error O(β))
    lo = kd_loss(student, teacher, weights, divergence="jsd", beta=eps) / eps
    hi = kd_loss(student, teacher, weights, divergence="jsd", beta=1 - eps) / eps
    assert rel_err(lo, fwd) <= 5e-3 and rel_err(hi, rev) <= 5e-3
    # JSD(1/2) is the Jensen–Shannon divergence, at most log 2
    mid = kd_loss(student, teacher, weights, divergence="jsd", beta=0.5)
    assert 0.0 < float(mid) <= np.log(2.0) + 1e-6


def test_forward_kl_is_cross_entropy_minus_the_target_entropy():
    student, teacher, weights, _ = make_inputs(9)
    ce, g_ce = kd_loss_and_grad(student, teacher, weights, temperature=1.5)
    kl, g_kl = kd_loss_and_grad(student, teacher, weights, temperature=1.5, divergence="forward_kl")
    # H(q) = log V − KL(q ‖ uniform), and a student of zeros is uniform
    zero = np.zeros_like(student)
    kl_to_uniform = kd_loss(zero, teacher, weights, temperature=1.5, divergence="forward_kl")
    assert float(kl_to_uniform) > 0.1
    assert rel_err(ce - kl, np.log(V) - kl_to_uniform) <= RTOL
    assert rel_err(g_ce, g_kl) <= 1e-6  # same student gradient


# ------------------------------------------------------------ masks, labels, padding


@pytest.mark.parametrize("divergence", DIVERGENCES)
def test_dropped_positions_change_nothing(divergence):
    """Padded positions: whatever their logits or labels, the loss and the other rows'
    gradient are those of the kept positions alone, and theirs is zero."""
    student, teacher, weights, labels = make_inputs(10)
    mask = np.ones(N, bool)
    mask[[2, 3, 9]] = False
    kw = dict(divergence=divergence, temperature=1.4, alpha=0.5)
    loss, grad = kd_loss_and_grad(student, teacher, weights, labels=labels, mask=mask, block_size=4,
                                  **kw)
    junk_s, junk_t, junk_y = student.copy(), teacher.copy(), labels.copy()
    junk_s[~mask] = 1e4
    junk_t[:, ~mask] = -1e4
    junk_y[~mask] = -100
    loss2, grad2 = kd_loss_and_grad(junk_s, junk_t, weights, labels=junk_y, mask=mask, **kw)
    keep = np.flatnonzero(mask)
    alone = kd_loss_and_grad(student[keep], teacher[:, keep], weights[:, keep], labels=labels[keep],
                             **kw)
    for got_loss, got_grad in ((loss, grad), (loss2, grad2)):
        np.testing.assert_allclose(got_loss, alone[0], rtol=1e-6)
        assert rel_err(np.asarray(got_grad)[keep], alone[1]) <= 1e-6
        np.testing.assert_array_equal(np.asarray(got_grad)[~mask], 0.0)
    # ignore_index marks the same positions without a mask
    by_label = kd_loss_and_grad(student, teacher, weights, labels=np.where(mask, labels, -7),
                                ignore_index=-7, **kw)
    np.testing.assert_allclose(by_label[0], loss, rtol=1e-6)
    assert rel_err(by_label[1], grad) <= 1e-6


def test_no_kept_position_gives_zero_loss_and_gradient():
    student, teacher, weights, labels = make_inputs(11)
    loss, grad = kd_loss_and_grad(student, teacher, weights, mask=np.zeros(N, bool),
                                  labels=labels, alpha=0.5)
    assert float(loss) == 0.0 and not np.any(np.asarray(grad))


def test_labels_alone_mask_padding_and_alpha_mixes():
    student, teacher, weights, labels = make_inputs(12)
    plain = kd_loss(student, teacher, weights)
    np.testing.assert_allclose(kd_loss(student, teacher, weights, labels=labels), plain, rtol=1e-6)
    hard = kd_loss(student, teacher, weights, labels=labels, alpha=1.0)
    want = optax.softmax_cross_entropy_with_integer_labels(jnp.asarray(student), jnp.asarray(labels))
    np.testing.assert_allclose(hard, jnp.mean(want), rtol=1e-6)
    half = kd_loss(student, teacher, weights, labels=labels, alpha=0.5, temperature=3.0,
                   t_squared=True)
    np.testing.assert_allclose(half, 0.5 * 9.0 * kd_loss(student, teacher, weights, temperature=3.0)
                               + 0.5 * hard, rtol=1e-6)


def test_jit_vmap_and_traced_masks():
    batch = [make_inputs(20 + i) for i in range(3)]
    s, t, w, y = (np.stack(x) for x in zip(*batch, strict=True))
    masks = np.ones((3, N), bool)
    masks[1, :4] = False
    kw = dict(divergence="jsd", beta=0.2, temperature=2.0, alpha=0.3, block_size=4)
    fn = jax.jit(jax.vmap(lambda s, t, w, y, m: kd_loss_and_grad(s, t, w, labels=y, mask=m, **kw)))
    losses, grads = fn(s, t, w, y, masks)
    for i in range(3):
        loss_i, grad_i = kd_loss_and_grad(s[i], t[i], w[i], labels=y[i], mask=masks[i], **kw)
        np.testing.assert_allclose(losses[i], loss_i, rtol=1e-6)
        assert rel_err(grads[i], grad_i) <= 1e-6
    auto = jax.vmap(jax.grad(lambda s, t, w, y, m: kd_loss(s, t, w, labels=y, mask=m, **kw)))(
        s, t, w, y, masks)
    assert rel_err(auto, grads) <= 1e-6


# ------------------------------------------------------------ extreme and masked vocabulary


@pytest.mark.parametrize("divergence", DIVERGENCES)
def test_vocabulary_masked_by_everyone_is_ignored(divergence):
    student, teacher, weights, _ = make_inputs(13, per_token=True)
    masked = np.array([2, 5, 11])
    keep = np.setdiff1d(np.arange(V), masked)
    teacher[:, :, masked] = -np.inf
    student[:, masked] = -np.inf
    kw = dict(divergence=divergence, temperature=2.0)
    loss, grad = kd_loss_and_grad(student, teacher, weights, block_size=3, **kw)
    want, want_grad = kd_loss_and_grad(student[:, keep], teacher[..., keep], weights[..., keep], **kw)
    assert rel_err(loss, want) <= RTOL
    np.testing.assert_array_equal(np.asarray(grad)[:, masked], 0.0)
    assert rel_err(np.asarray(grad)[:, keep], want_grad) <= RTOL
    for formulation in ("streamed", "textbook"):
        cot = jax.grad(lambda s, t, w, f=formulation: kd_loss(s, t, w, formulation=f, **kw),
                       argnums=(0, 1, 2))(student, teacher, weights)
        assert all(bool(jnp.all(jnp.isfinite(c))) for c in cot), formulation


@pytest.mark.parametrize("divergence", ["forward_kl", "jsd"])
def test_extreme_logits_stay_finite_and_correct(divergence):
    student, teacher, weights, _ = make_inputs(14)
    rng = np.random.default_rng(14)
    teacher = (np.sign(teacher) * 1e4 * rng.uniform(0.5, 1.0, teacher.shape)).astype(np.float32)
    student = (np.sign(student) * 1e4 * rng.uniform(0.5, 1.0, student.shape)).astype(np.float32)
    loss, grad = kd_loss_and_grad(student, teacher, weights, divergence=divergence, block_size=4)
    assert np.isfinite(float(loss)) and bool(jnp.all(jnp.isfinite(grad)))
    assert rel_err(loss, ref_value(student, teacher, weights, divergence=divergence)) <= RTOL


def test_reverse_kl_where_the_target_is_zero_is_infinite_with_a_finite_gradient():
    student, teacher, weights, _ = make_inputs(15)
    teacher[:, 0, 3] = -np.inf  # q = 0 there, while the student puts mass on it
    loss, grad = kd_loss_and_grad(student, teacher, weights, divergence="reverse_kl")
    assert float(loss) == np.inf and bool(jnp.all(jnp.isfinite(grad)))
    g_t = jax.grad(kd_loss, argnums=1)(student, teacher, weights, divergence="reverse_kl")
    assert bool(jnp.all(jnp.isfinite(g_t)))


def test_bfloat16_teacher_logits_equal_float32_of_the_same_values():
    student, teacher, weights, labels = make_inputs(16)
    bf = jnp.asarray(teacher).astype(jnp.bfloat16)
    for div in DIVERGENCES:
        kw = dict(divergence=div, labels=labels, alpha=0.2, block_size=3)
        a = kd_loss_and_grad(student, bf, weights, **kw)
        b = kd_loss_and_grad(student, bf.astype(jnp.float32), weights, **kw)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
        g = jax.grad(kd_loss, argnums=1)(student, bf, weights, **kw)
        assert g.dtype == jnp.bfloat16


# ------------------------------------------------------------ validation


def test_bad_options_are_refused_clearly():
    student, teacher, weights, labels = make_inputs(17)
    cases = [
        (dict(divergence="kl"), ValueError, "divergence must be one of"),
        (dict(divergence="jsd", beta=1.5), ValueError, "beta must be a number in"),
        (dict(alpha=0.5), ValueError, "pass labels"),
        (dict(alpha=-0.1, labels=labels), ValueError, "alpha must be a number in"),
        (dict(labels=labels[:-1]), ValueError, "labels must have shape"),
        (dict(labels=labels.astype(np.float32)), TypeError, "labels must be integers"),
        (dict(labels=np.where(np.arange(N) == 4, V, labels)), ValueError, r"labels\[4\] = 17"),
        (dict(mask=np.ones(N + 1, bool)), ValueError, "mask must have shape"),
        (dict(ignore_index=1.5, labels=labels), TypeError, "ignore_index"),
        (dict(formulation="fast"), ValueError, "formulation must be one of"),
    ]
    for kw, exc, match in cases:
        with pytest.raises(exc, match=match):
            kd_loss_and_grad(student, teacher, weights, **kw)


def test_out_of_range_labels_under_jit_give_nan_not_a_silent_number():
    student, teacher, weights, labels = make_inputs(18)
    bad = labels.copy()
    bad[3] = V + 2
    loss = jax.jit(lambda y: kd_loss(student, teacher, weights, labels=y, alpha=0.5))(bad)
    assert np.isnan(float(loss))
