"""The ensemble operator G: each check on a G (or weights) that satisfies it and one that violates it."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import axiomcheck as ac
from tests.helpers import SCALE_OPS, softmax

FAST = dict(sweep_size=16)


def per_token(probs, ctx):
    """Per-token weights [B, K, V]: a softmax over teachers of each token's probability."""
    return np.swapaxes(softmax(np.swapaxes(3.0 * probs, 1, 2)), 1, 2)


def test_kernel_ensemble_passes_for_every_scale_and_per_token_weights():
    for scale, (make, base, bounds) in SCALE_OPS.items():
        rep = ac.verify_ensemble(make(base, name=scale, bounds=bounds), **FAST)
        assert rep.passed and rep.statuses()["ensemble.convexity"] == "pass", (scale, rep.statuses())
    rep = ac.verify_ensemble(ac.token_operator(per_token, name="pt", register=False), **FAST)
    assert rep.passed
    assert rep["ensemble.convexity"].status == "skipped" and "renormalizes" in rep["ensemble.convexity"].message


def test_unnormalized_weights_break_convexity():
    make, base, _ = SCALE_OPS["context"]
    rep = ac.verify_ensemble(make(lambda c: 0.9 * base(c), name="scaled"), **FAST)
    r = rep["ensemble.convexity"]
    assert r.status == "fail" and "sum to 0.9" in r.message and r.counterexample["q"]


def no_renormalization(logits, weights):
    """A G that forgets to renormalize per-token mixtures over the vocabulary."""
    p = jax.nn.softmax(logits, axis=-1)
    w = weights if weights.ndim == 3 else weights[..., None]
    return jnp.log(jnp.sum(w * p, axis=0))


def test_g_without_renormalization_fails_normalization_on_per_token_weights():
    op = ac.token_operator(per_token, name="pt", register=False)
    r = ac.verify_ensemble(op, ensemble=no_renormalization, **FAST)["ensemble.normalization"]
    assert r.status == "fail" and "Σ_v q must be 1" in r.message
    # the same G is fine with token-independent weights on the simplex
    make, base, bounds = SCALE_OPS["token"]
    assert ac.verify_ensemble(make(base, name="t", bounds=bounds), ensemble=no_renormalization, **FAST).passed


def test_negative_mass_and_ignored_weights_are_caught():
    def leaky(logits, weights):
        q = jnp.exp(no_renormalization(logits, weights)) - 1e-3
        return jnp.log(q)  # NaN where q < 0

    rep = ac.verify_ensemble(ac.token_operator(SCALE_OPS["token"][1], name="t", register=False), ensemble=leaky, **FAST)
    assert rep["ensemble.nonnegativity"].status == "fail"

    def ignores_weights(logits, weights):
        return jnp.log(jnp.mean(jax.nn.softmax(logits, axis=-1), axis=0))

    make, base, bounds = SCALE_OPS["context"]
    rep = ac.verify_ensemble(make(base, name="c", bounds=bounds), ensemble=ignores_weights, **FAST)
    assert rep["ensemble.conformance"].status == "fail" and rep["ensemble.normalization"].status == "pass"


def test_broken_operator_or_g_is_an_error_not_a_crash():
    make, base, bounds = SCALE_OPS["context"]

    def boom(logits, weights):
        raise RuntimeError("no")

    rep = ac.verify_ensemble(make(base, name="c", bounds=bounds), ensemble=boom, **FAST)
    assert all(r.status == "error" and "RuntimeError" in r.message for r in rep.results)
    bad = make(lambda c: np.zeros((len(c), 3)), name="bad")
    assert all(r.status == "error" for r in ac.verify_ensemble(bad, **FAST).results)


def test_task_importance_is_refused_with_a_reason_not_a_crash(capsys):
    """G mixes teacher distributions with teacher weights; λ[B,M] holds none (this once raised a bare
    ValueError from unpacking its shape, an internal error of the command)."""
    from axiomcheck.frontends.cli import main

    imp = ac.operators("importance")[0]
    with pytest.raises(ac.SpecError, match=f"'{imp.name}' is an operator of the importance scale, whose function returns "
                                           "λ\\[B,M\\], no weight per teacher"):
        ac.verify_ensemble(imp, **FAST)
    assert main(["ensemble", imp.name]) == 2
    assert "no weight per teacher" in capsys.readouterr().err
