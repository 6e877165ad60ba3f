"""The KD loss fused with the output layer (fused_linear_kd_loss[_and_grad]) against the
independent float64 reference (tests/kd_reference.py) and jax.grad of it, the unfused
composition (hidden @ head.T, then the logit kernel), bfloat16 inputs, jit / vmap / grad,
and XLA's own memory accounting.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from axiomcheck.kernels import (
    DIVERGENCES,
    entropy_kd_loss_and_grad,
    fused_linear_kd_loss,
    fused_linear_kd_loss_and_grad,
    kd_loss_and_grad,
)
from tests.kd_reference import linear_objective, rel_err

K, N, D, DT, V = 3, 11, 6, 5, 17
RTOL = 1e-5


@pytest.fixture(autouse=True)
def strict_jax():
    with jax.numpy_dtype_promotion("strict"), jax.numpy_rank_promotion("raise"):
        yield


def make_inputs(seed, per_token=False):
    rng = np.random.default_rng(seed)
    f = np.float32
    return dict(
        hidden=rng.standard_normal((N, D)).astype(f),
        head=rng.standard_normal((V, D)).astype(f),
        teacher_hidden=rng.standard_normal((K, N, DT)).astype(f),
        teacher_heads=(rng.standard_normal((K, V, DT)) * 1.5).astype(f),
        weights=rng.uniform(0.05, 1.0, (K, N, V) if per_token else (K, N)).astype(f),
        labels=rng.integers(0, V, N).astype(np.int32),
    )


def teacher_kw(x, as_logits):
    if as_logits:
        return dict(teacher_logits=np.einsum("knd,kvd->knv", x["teacher_hidden"], x["teacher_heads"]))
    return dict(teacher_hidden=x["teacher_hidden"], teacher_heads=x["teacher_heads"])


def reference(x, teachers, weights, argnums=(0, 1), **kw):
    """(value, [d/d hidden, d/d head]) of the float64 reference; value from numpy, gradients
    from jax.grad under x64."""
    f64 = {key: np.asarray(val, np.float64) for key, val in teachers.items()}
    entropy = isinstance(weights, str)
    ref_kw = dict(kw)
    if entropy:
        ref_kw["entropy_beta"] = ref_kw.pop("entropy_beta", 1.0)
        w64 = np.ones((K, N))
    else:
        w64 = np.asarray(weights, np.float64)
    value = float(linear_objective(np, np.asarray(x["hidden"], np.float64),
                                   np.asarray(x["head"], np.float64), weights=w64, **f64, **ref_kw))
    with jax.enable_x64(True), jax.numpy_dtype_promotion("standard"):
        args = [jnp.asarray(np.asarray(x[k], np.float64)) for k in ("hidden", "head")]
        t64 = {key: jnp.asarray(val) for key, val in f64.items()}
        grads = jax.grad(lambda h, w: linear_objective(jnp, h, w, weights=jnp.asarray(w64), **t64,
                                                       **ref_kw), argnums)(*args)
        return value, [np.asarray(g) for g in grads]


# ------------------------------------------------------------ against the reference


@pytest.mark.parametrize("weights_kind", ["token-independent", "per-token", "entropy"])
@pytest.mark.parametrize("as_logits", [True, False], ids=["teacher-logits", "teacher-hidden"])
@pytest.mark.parametrize("divergence", DIVERGENCES)
def test_matches_the_float64_reference(divergence, as_logits, weights_kind):
    x = make_inputs(hash((divergence, as_logits, weights_kind)) % 1000, weights_kind == "per-token")
    weights = "entropy" if weights_kind == "entropy" else x["weights"]
    labels = x["labels"].copy()
    labels[[0, 7]] = -100
    mask = np.ones(N, bool)
    mask[4] = False
    kw = dict(divergence=divergence, beta=0.3, temperature=1.6, t_squared=True, labels=labels,
              alpha=0.35, mask=mask)
    extra = dict(entropy_beta=0.7) if weights_kind == "entropy" else {}
    teachers = teacher_kw(x, as_logits)
    loss, (gh, gw) = fused_linear_kd_loss_and_grad(x["hidden"], x["head"], weights, block_size=4,
                                                   **teachers, **kw, **extra)
    want, (want_gh, want_gw) = reference(x, teachers, weights, **kw, **extra)
    assert loss.dtype == jnp.float32 and gh.shape == (N, D) and gw.shape == (V, D)
    assert rel_err(loss, want) <= RTOL
    assert rel_err(gh, want_gh) <= RTOL
    assert rel_err(gw, want_gw) <= RTOL
    np.testing.assert_array_equal(np.asarray(gh)[[0, 4, 7]], 0.0)  # dropped positions


@pytest.mark.parametrize("divergence", DIVERGENCES)
def test_fused_equals_the_unfused_composition(divergence):
    """hidden @ head.T, then kd_loss_and_grad, then the chain rule by hand."""
    x = make_inputs(30)
    kw = dict(divergence=divergence, beta=0.45, temperature=2.0, labels=x["labels"], alpha=0.2)
    teachers = teacher_kw(x, True)
    loss, (gh, gw) = fused_linear_kd_loss_and_grad(x["hidden"], x["head"], x["weights"],
                                                   block_size=3, **teachers, **kw)
    z = x["hidden"] @ x["head"].T
    loss_u, gz = kd_loss_and_grad(z, teachers["teacher_logits"], x["weights"], **kw)
    gz = np.asarray(gz)
    np.testing.assert_allclose(loss, loss_u, rtol=1e-6)
    assert rel_err(gh, gz @ x["head"]) <= 1e-6
    assert rel_err(gw, gz.T @ x["hidden"]) <= 1e-6
    # entropy weights computed in the pass = the logit kernel's fused entropy weights
    ent = fused_linear_kd_loss_and_grad(x["hidden"], x["head"], "entropy", entropy_beta=0.5,
                                        **teachers, **kw)
    beta = kw.pop("beta")
    loss_e, gz_e = entropy_kd_loss_and_grad(z, teachers["teacher_logits"], beta=0.5, jsd_beta=beta,
                                            **kw)
    np.testing.assert_allclose(ent[0], loss_e, rtol=1e-6)
    assert rel_err(ent[1][1], np.asarray(gz_e).T @ x["hidden"]) <= 1e-6


@pytest.mark.parametrize("divergence", DIVERGENCES)
def test_custom_vjp_equals_the_one_pass_gradients_and_the_textbook(divergence):
    x = make_inputs(31, per_token=True)
    kw = dict(divergence=divergence, temperature=0.8, labels=x["labels"], alpha=0.4,
              **teacher_kw(x, False))
    loss, grads = fused_linear_kd_loss_and_grad(x["hidden"], x["head"], x["weights"], block_size=5,
                                                **kw)
    auto = jax.jit(jax.grad(lambda h, w: fused_linear_kd_loss(h, w, x["weights"], block_size=5, **kw),
                            argnums=(0, 1)))(x["hidden"], x["head"])
    text = fused_linear_kd_loss_and_grad(x["hidden"], x["head"], x["weights"],
                                         formulation="textbook", **kw)
    np.testing.assert_allclose(text[0], loss, rtol=2e-6)
    for a, b, c in zip(grads, auto, text[1], strict=True):
        assert rel_err(a, b) <= 1e-6
        assert rel_err(a, c) <= 2e-6
    only_head = jax.grad(lambda w: fused_linear_kd_loss(x["hidden"], w, x["weights"], **kw))(x["head"])
    assert rel_err(only_head, grads[1]) <= 1e-6


def test_block_size_does_not_change_the_result():
    x = make_inputs(32)
    kw = dict(divergence="jsd", **teacher_kw(x, False))
    base = fused_linear_kd_loss_and_grad(x["hidden"], x["head"], x["weights"], block_size=N, **kw)
    for block in (1, 2, 4, 10):  # 10: two blocks, the last overlapping 9 positions
        loss, grads = fused_linear_kd_loss_and_grad(x["hidden"], x["head"], x["weights"],
                                                    block_size=block, **kw)
        np.testing.assert_allclose(loss, base[0], rtol=1e-6)
        assert all(rel_err(g, b) <= 1e-6 for g, b in zip(grads, base[1], strict=True))


def test_jit_and_vmap():
    xs = [make_inputs(40 + i) for i in range(3)]
    stack = {key: np.stack([x[key] for x in xs]) for key in xs[0]}
    masks = np.ones((3, N), bool)
    masks[2, 5:] = False

    def one(h, w, th, tw, wt, y, m):
        return fused_linear_kd_loss_and_grad(h, w, wt, teacher_hidden=th, teacher_heads=tw, labels=y,
                                             alpha=0.3, mask=m, divergence="reverse_kl",
                                             block_size=4)

    args = [stack[k] for k in ("hidden", "head", "teacher_hidden", "teacher_heads", "weights",
                               "labels")] + [masks]
    losses, (gh, gw) = jax.jit(jax.vmap(one))(*args)
    for i in range(3):
        loss_i, (gh_i, gw_i) = one(*(a[i] for a in args))
        np.testing.assert_allclose(losses[i], loss_i, rtol=1e-6)
        assert rel_err(gh[i], gh_i) <= 1e-6 and rel_err(gw[i], gw_i) <= 1e-6


# ------------------------------------------------------------ bfloat16


def test_bfloat16_inputs_agree_with_float32_of_the_same_values():
    """bf16 hidden / head / teacher logits give the numbers of their float32 casts. The
    loss and the logits are accumulated in float32 either way (bf16 products are exact in
    float32); the gradient matmuls take the float32 gradient rounded to bf16 (the inputs'
    dtype), so gradients agree to bf16 precision (2^-8 relative), not float32's."""
    x = make_inputs(50)
    bf = {k: jnp.asarray(v).astype(jnp.bfloat16) for k, v in x.items() if k != "labels"}
    up = {k: v.astype(jnp.float32) for k, v in bf.items()}
    for div in DIVERGENCES:
        kw = dict(divergence=div, labels=x["labels"], alpha=0.3, block_size=4)
        for as_logits in (True, False):
            def teachers(src, as_logits=as_logits):
                if as_logits:  # logits rounded to bf16, given as bf16 or as their float32 cast
                    t = jnp.einsum("knd,kvd->knv", up["teacher_hidden"], up["teacher_heads"])
                    return dict(teacher_logits=t.astype(jnp.bfloat16).astype(src["hidden"].dtype))
                return dict(teacher_hidden=src["teacher_hidden"], teacher_heads=src["teacher_heads"])

            a = fused_linear_kd_loss_and_grad(bf["hidden"], bf["head"], x["weights"], **teachers(bf),
                                              **kw)
            b = fused_linear_kd_loss_and_grad(up["hidden"], up["head"], x["weights"], **teachers(up),
                                              **kw)
            assert a[1][0].dtype == jnp.bfloat16 and a[1][1].dtype == jnp.bfloat16
            tol = 1e-6 if as_logits else 1e-5  # teacher logits from bf16 matmuls: summation order
            assert rel_err(a[0], b[0]) <= tol, (div, as_logits)
            for ga, gb in zip(a[1], b[1], strict=True):
                assert rel_err(ga, gb) <= 2**-7, (div, as_logits)
    # with float32 student weights, bfloat16 teacher logits alone change nothing at all
    t_bf = jnp.einsum("knd,kvd->knv", up["teacher_hidden"], up["teacher_heads"]).astype(jnp.bfloat16)
    a = fused_linear_kd_loss_and_grad(x["hidden"], x["head"], x["weights"], teacher_logits=t_bf)
    b = fused_linear_kd_loss_and_grad(x["hidden"], x["head"], x["weights"],
                                      teacher_logits=t_bf.astype(jnp.float32))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1][0], b[1][0])


# ------------------------------------------------------------ memory, validation


def test_compiled_fused_kernel_keeps_no_n_v_array():
    """XLA's buffer accounting: the fused kernel's temporaries are a few blocks, below one
    [N, V] float32 array, while the textbook formulation (logits, then the loss) needs
    K·N·V (the control shows the check can fail)."""
    k, n, d, dt, v = 4, 1024, 32, 16, 2048
    shapes = [jax.ShapeDtypeStruct(s, jnp.float32) for s in
              ((n, d), (v, d), (k, n, dt), (k, v, dt), (k, n))]
    nv_bytes = n * v * 4

    def temp_bytes(formulation):
        def fn(h, w, th, tw, wt):
            return fused_linear_kd_loss_and_grad(h, w, wt, teacher_hidden=th, teacher_heads=tw,
                                                 divergence="jsd", formulation=formulation,
                                                 block_size=None if formulation == "textbook" else 8)
        return jax.jit(fn).lower(*shapes).compile().memory_analysis().temp_size_in_bytes

    fused, textbook = temp_bytes("streamed"), temp_bytes("textbook")
    assert textbook >= k * nv_bytes, textbook
    assert fused < nv_bytes / 4, (fused, nv_bytes)


def test_bad_arguments_are_refused_clearly():
    x = make_inputs(60)
    h, w, wt = x["hidden"], x["head"], x["weights"]
    th, tw = x["teacher_hidden"], x["teacher_heads"]
    logits = np.zeros((K, N, V), np.float32)
    cases = [
        (dict(), "give the teachers"),
        (dict(teacher_logits=logits, teacher_hidden=th, teacher_heads=tw), "not both"),
        (dict(teacher_logits=logits[:, :-1]), "teacher_logits must have shape"),
        (dict(teacher_hidden=th, teacher_heads=tw[:, :-1]), "must agree"),
        (dict(teacher_hidden=th, teacher_heads=tw, divergence="tvd"), "divergence must be one of"),
        (dict(teacher_logits=logits, alpha=0.3), "pass labels"),
    ]
    for kw, match in cases:
        with pytest.raises(ValueError, match=match):
            fused_linear_kd_loss_and_grad(h, w, wt, **kw)
    with pytest.raises(ValueError, match="hidden must be"):
        fused_linear_kd_loss_and_grad(h, w[:, :-1], wt, teacher_logits=logits)
    with pytest.raises(ValueError, match="'entropy'"):
        fused_linear_kd_loss_and_grad(h, w, "uniform", teacher_logits=logits)
    with pytest.raises(ValueError, match="weights must have shape"):
        fused_linear_kd_loss_and_grad(h, w, wt[:, :-1], teacher_logits=logits)


def test_differentiating_the_teachers_is_refused_not_silently_zero():
    x = make_inputs(61)
    with pytest.raises(ValueError, match="differentiates only hidden and head"):
        jax.grad(lambda th: fused_linear_kd_loss(x["hidden"], x["head"], x["weights"],
                                                 teacher_hidden=th,
                                                 teacher_heads=x["teacher_heads"]))(x["teacher_hidden"])
    with pytest.raises(ValueError, match="weights / labels / mask"):
        jax.grad(lambda wt: fused_linear_kd_loss(x["hidden"], x["head"], wt,
                                                 teacher_hidden=x["teacher_hidden"],
                                                 teacher_heads=x["teacher_heads"]))(x["weights"])


def test_bfloat16_teacher_logits_are_never_converted_whole():
    """XLA:CPU converts the operand of a bfloat16 slice to float32; unguarded, that
    convert of the whole teacher input is hoisted out of the streamed loop (a K·N·V
    float32 copy). The kernels' temporaries stay below even a bfloat16 copy."""
    k, n, d, v = 4, 512, 16, 2048
    t = jax.ShapeDtypeStruct((k, n, v), jnp.bfloat16)
    h, w = jax.ShapeDtypeStruct((n, d), jnp.float32), jax.ShapeDtypeStruct((v, d), jnp.float32)
    wt = jax.ShapeDtypeStruct((k, n), jnp.float32)
    z = jax.ShapeDtypeStruct((n, v), jnp.float32)
    bf16_bytes = k * n * v * 2

    def temp(fn, *shapes):
        return jax.jit(fn).lower(*shapes).compile().memory_analysis().temp_size_in_bytes

    fused = temp(lambda h, w, t, wt: fused_linear_kd_loss_and_grad(h, w, wt, teacher_logits=t,
                                                                   block_size=8), h, w, t, wt)
    logit = temp(lambda z, t, wt: kd_loss_and_grad(z, t, wt, block_size=8), z, t, wt)
    assert fused < bf16_bytes / 2, fused
    assert logit < bf16_bytes / 2, logit
