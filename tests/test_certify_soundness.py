"""Violating operators are never proved, and what the core cannot enclose is "unknown", never a crash.

A certificate is only worth something if a wrong operator cannot get one: a
bound broken only in a region far narrower than the sampler's resolution, a
jump, a NaN at one point, an underflow to 0.0 in float32.  And every construct
the interval core does not understand (a Python branch on values, float() of
an array, an unknown numpy function, a conversion to a plain array, mixing
the batch) makes the check "unknown" with a reason naming it.
"""

from __future__ import annotations

import numpy as np
import pytest

import axiomcheck as ac
from axiomcheck.certifier import Certificate, certify_operator
from axiomcheck.library import _numerics as nx
from axiomcheck.report.results import Result
from axiomcheck.sampling.domains import World

_bound_asarray = np.asarray
W3 = World(teachers=3, context_dim=2)


def ctx_op(fn, **kw):
    return ac.context_operator(fn, name=fn.__name__, register=False, world={"teachers": 3, "context_dim": 2}, **kw)


def run(op, axioms=None, max_time=2.0, **kw) -> dict[str, Certificate]:
    return certify_operator(op, W3, axioms=axioms, max_time=max_time, **kw)


# ----------------------------------------------------------------------------- violations


def test_a_bound_broken_only_in_a_tiny_region_is_not_proved():
    """w_0 jumps above its bound only where |c₀ − a| < 1e-7, far below any sampler's resolution."""
    a, width = 0.1234567, 1e-7

    def narrow_bump(context):
        c = np.asarray(context, dtype=np.float64)
        tent = np.maximum(0.0, 1.0 - np.abs(c[:, 0] - a) / width)
        z = np.stack([0.3 * np.tanh(c[:, 0]) + 8.0 * tent, 0.3 * np.tanh(c[:, 1]), np.zeros(len(c))], axis=1)
        return nx.softmax(z)

    hi = nx.softmax_box_bounds([-0.3, -0.3, 0.0], [0.3, 0.3, 0.0])[1]
    op = ctx_op(narrow_bump, bounds=(0.01, hi))
    rng = np.random.default_rng(0)
    w = narrow_bump(rng.uniform(-10, 10, (200_000, 2)))
    assert w.max() <= hi + 1e-12  # a dense sample never sees it
    cert = run(op, ["context.boundedness"], max_time=4.0)["context.boundedness"]
    assert cert.status != "proved"
    if cert.status == "refuted":  # the certifier's own search found the bump: a real, concrete violation
        c = np.array(cert.counterexample["input"]["context"])
        assert narrow_bump(c).max() > hi


def test_a_jump_is_never_proved_continuous():
    def jump(context):
        c = np.asarray(context, dtype=np.float64)
        w0 = np.where(c[:, 0] > 0.3, 0.6, 0.2)
        return np.stack([w0, (1 - w0) / 2, (1 - w0) / 2], axis=1)

    cert = run(ctx_op(jump), ["context.continuity"])["context.continuity"]
    assert cert.status == "unknown" and cert.lipschitz_upper == np.inf
    assert "where" in cert.reason


def test_an_undecided_argmax_gives_no_certificate():
    def hard_best(context):
        c = np.asarray(context, dtype=np.float64)
        return nx.hard_best(np.stack([c[:, 0], c[:, 1], -c[:, 0]], axis=1), 0.6)

    certs = run(ctx_op(hard_best), ["context.continuity", "context.positivity"])
    assert certs["context.continuity"].status == "unknown"
    assert "argmin" in certs["context.continuity"].reason
    assert certs["context.positivity"].status != "proved"  # the poisoned rows are never proved


def test_a_nan_at_one_point_is_not_proved_finite():
    def ratio(context):
        c = np.asarray(context, dtype=np.float64)
        r = c[:, :1] / c[:, :1]  # 0/0 at c₀ = 0
        return np.concatenate([r / 3, r / 3, r / 3], axis=1)

    cert = run(ctx_op(ratio), ["context.finite"])["context.finite"]
    assert cert.status != "proved"


def test_a_float32_underflow_is_not_proved_positive():
    import jax
    import jax.numpy as jnp

    def spread(context):
        return jax.nn.softmax(jnp.stack([30.0 * context[:, 0], -30.0 * context[:, 0], 0.0 * context[:, 1]], axis=1))

    def spread_np(context):
        c = np.asarray(context, dtype=np.float64)
        return nx.softmax(np.stack([30.0 * c[:, 0], -30.0 * c[:, 0], 0.0 * c[:, 1]], axis=1))

    f32 = run(ac.context_operator(spread, name="spread", framework="jax", register=False,
                                  world={"teachers": 3, "context_dim": 2}), ["context.positivity"])
    f64 = run(ctx_op(spread_np), ["context.positivity"])
    # float32: exp(-600) is 0.0, a weight of exactly 0 — the operator really returns it
    assert f32["context.positivity"].status != "proved"
    assert f64["context.positivity"].status == "proved"  # float64 keeps e^-600 > 0


# ----------------------------------------------------------------------------- failing closed


def _branchy(context):
    c = np.asarray(context, dtype=np.float64)
    if (c > 0).all(axis=1):  # a Python branch on values (numpy would refuse it too for a batch > 1)
        return np.full((len(c), 3), 1 / 3)
    return np.full((len(c), 3), 1 / 3)


def _floaty(context):
    c = np.asarray(context, dtype=np.float64)
    s = float(c.sum(axis=1))
    return np.full((len(c), 3), 1 / 3) + 0 * s


def _sine(context):
    c = np.asarray(context, dtype=np.float64)
    return nx.softmax(np.stack([np.sin(c[:, 0]), c[:, 1], 0 * c[:, 1]], axis=1))


def _plain(context):
    return nx.softmax(_bound_asarray(context)[:, [0, 1, 1]])  # bound by name before certification: not intercepted


def _mixer(context):
    c = np.asarray(context, dtype=np.float64)
    w = np.exp(np.stack([c[:, 0], c[:, 1], 0 * c[:, 1]], axis=1))
    return w / w.sum()  # normalized over the whole batch


@pytest.mark.parametrize("fn,says", [(_branchy, "Python branch"), (_floaty, "float()"), (_sine, "np.sin"),
                                     (_plain, "np.asarray"), (_mixer, "batch axis")])
def test_what_cannot_be_enclosed_is_unknown_with_the_call_named(fn, says):
    certs = run(ctx_op(fn), max_time=1.0)
    assert certs and all(c.status == "unknown" for c in certs.values())
    assert any(says in (c.reason or "") for c in certs.values()), {k: c.reason for k, c in certs.items()}
    assert all(c.domain for c in certs.values())  # the domain is stated even then


def test_an_operator_that_raises_on_intervals_is_unknown_not_a_crash():
    def fussy(context):
        raise RuntimeError("no intervals here")

    certs = run(ctx_op(fussy), max_time=1.0)
    assert certs and all(c.status == "unknown" and "RuntimeError" in c.reason for c in certs.values())


# ----------------------------------------------------------------------------- the sampled verdicts


def _fixed(context):
    c = np.asarray(context, dtype=np.float64)
    return nx.softmax(np.stack([np.tanh(c[:, 0]), np.tanh(c[:, 1]), 0 * c[:, 1]], axis=1))


def test_a_sampled_counterexample_that_replays_refutes():
    op = ctx_op(_fixed, bounds=(0.2, 0.45))  # the real maximum is about 0.58: the declaration is wrong
    bad = {"input": {"context": [[10.0, -10.0]]}, "where": "sweep"}
    sampled = {"context.boundedness": Result("context.boundedness", "III.20", "fail", "too big", counterexample=bad)}
    cert = run(op, ["context.boundedness"], sampled=sampled)["context.boundedness"]
    assert cert.status == "refuted" and cert.counterexample["input"]["context"] == [[10.0, -10.0]]
    assert max(cert.counterexample["weights"][0]) > 0.45


def test_a_sampled_failure_that_does_not_replay_keeps_it_from_proved():
    lo, hi = nx.softmax_box_bounds([-1, -1, 0], [1, 1, 0])
    op = ctx_op(_fixed, bounds=(lo, hi))  # correct: it is proved without the sampled result
    assert run(op, ["context.boundedness"])["context.boundedness"].status == "proved"
    fine = {"input": {"context": [[0.0, 0.0]]}, "where": "sweep"}
    sampled = {"context.boundedness": Result("context.boundedness", "III.20", "fail", "odd", counterexample=fine)}
    cert = run(op, ["context.boundedness"], sampled=sampled)["context.boundedness"]
    assert cert.status == "unknown" and "sampled check failed" in cert.reason


def test_a_nondeterministic_operator_gets_no_certificate():
    lo, hi = nx.softmax_box_bounds([-1, -1, 0], [1, 1, 0])
    op = ctx_op(_fixed, bounds=(lo, hi))
    sampled = {"context.deterministic": Result("context.deterministic", "well-posedness", "fail", "changes")}
    certs = run(op, sampled=sampled)
    assert all(c.status == "unknown" and "deterministic" in c.reason for c in certs.values())


# ----------------------------------------------------------------------------- the overflow-safe norm


def _safe_sq_norm(c: np.ndarray, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    diff = c[:, None, :] - mu[None, :, :]
    m = np.abs(diff).max(axis=2, initial=0.0)
    scale = np.where(m > 0.0, m, 1.0)
    r = (diff / scale[:, :, None]) ** 2
    return (m * m) * r.sum(axis=2), scale


MU = np.array([[0.5, -1.0], [2.0, 0.0], [-1.5, 1.5]])


def test_the_overflow_safe_norm_is_proved_continuous():
    def near(context):
        d, _ = _safe_sq_norm(np.asarray(context, dtype=np.float64), MU)
        return nx.softmax(-np.tanh(d / 4.0))

    cert = run(ctx_op(near), ["context.continuity"], max_time=2.0)["context.continuity"]
    assert cert.status == "proved" and np.isfinite(cert.lipschitz_upper)


def test_a_jumping_intermediate_used_elsewhere_keeps_the_jump():
    def leaky(context):
        d, scale = _safe_sq_norm(np.asarray(context, dtype=np.float64), MU)
        return nx.softmax(-np.tanh(d / 4.0) + 0.01 * scale)  # the scale jumps at c = μ_k: so do the weights

    cert = run(ctx_op(leaky), ["context.continuity"], max_time=2.0)["context.continuity"]
    assert cert.status == "unknown" and cert.lipschitz_upper == np.inf
