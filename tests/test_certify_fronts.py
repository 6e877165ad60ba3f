"""The three front ends run an unmodified operator on interval arrays, and agree with the operator.

For each front end (numpy through NEP 13/18, JAX through its jaxpr, torch
through `__torch_function__`), a handful of operators built from the calls
people use are evaluated on boxes; the real operator's output at points of
each box must lie inside the enclosure (and on zero-width boxes the enclosure
must be tight).  A call without a rule makes the check unknown, naming it.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import axiomcheck as ac
from axiomcheck.calling.frameworks import adapt
from axiomcheck.certifier import certify_operator
from axiomcheck.certifier import evaluate as E
from axiomcheck.certifier import space as Dm
from axiomcheck.library import _numerics as nx
from axiomcheck.sampling.domains import World

WORLD = World(teachers=3, context_dim=4)
HAS_TORCH = importlib.util.find_spec("torch") is not None
RNG = np.random.default_rng(7)


def np_ops():
    W = RNG.normal(size=(4, 3))

    def mix(c):
        c = np.asarray(c, dtype=np.float64)
        z = np.einsum("bd,dk->bk", np.tanh(c), W) + np.clip(c[:, :1], -1, 1) ** 2 - np.abs(c[:, 1:2])
        z = z + np.where(c[:, 2:3] > 5.0, 0.1, 0.0) + np.maximum(c @ W, 0.0) * 0.1
        return nx.softmax(z)

    def stats(c):
        c = np.asarray(c, dtype=np.float64)
        m = c.mean(axis=1, keepdims=True)
        v = np.sqrt(((c - m) ** 2).mean(axis=1, keepdims=True) + 1.0)
        z = np.concatenate([m, v, np.log1p(np.exp(-np.abs(c[:, :1])))], axis=1)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def sorted_mix(c):
        c = np.asarray(c, dtype=np.float64)
        w = nx.softmax(np.stack([c[:, 0], c[:, 1] * 0.5, np.logaddexp(0.0, c[:, 2])], axis=1))
        return nx.impose_order(w, (0, 2, 1))

    return [mix, stats, sorted_mix]


def jax_ops():
    import jax
    import jax.numpy as jnp

    W = jnp.asarray(RNG.normal(size=(4, 3)), dtype=jnp.float32)

    def jmix(c):
        z = jnp.tanh(c) @ W + jnp.clip(c[:, :1], -1.0, 1.0) ** 2 - jnp.abs(c[:, 1:2])
        z = z + jnp.where(c[:, 2:3] > 5.0, 0.1, 0.0) + jax.nn.relu(c @ W) * 0.1
        return jax.nn.softmax(z, axis=-1)

    def jstats(c):
        m = jnp.mean(c, axis=1, keepdims=True)
        v = jnp.sqrt(jnp.mean((c - m) ** 2, axis=1, keepdims=True) + 1.0)
        z = jnp.concatenate([m, v, jax.nn.sigmoid(c[:, :1])], axis=1)
        return jnp.exp(jax.nn.log_softmax(z, axis=1))

    def jtake(c):
        idx = jnp.array([2, 0, 1])
        z = jnp.take(c, idx, axis=1) * jnp.array([1.0, 0.5, 0.25]) + jax.lax.dynamic_slice_in_dim(c, 1, 3, axis=1)
        return jax.nn.softmax(jnp.maximum(z, -3.0), axis=1)

    return [jmix, jstats, jtake]


def torch_ops():
    import torch
    import torch.nn.functional as F

    W = torch.from_numpy(RNG.normal(size=(4, 3)))

    def tmix(c):
        z = torch.tanh(c) @ W + torch.clamp(c[:, :1], -1.0, 1.0) ** 2 - torch.abs(c[:, 1:2])
        z = z + torch.where(c[:, 2:3] > 5.0, 0.1, 0.0) + F.relu(c @ W) * 0.1
        return F.softmax(z, dim=-1)

    def tstats(c):
        m = c.mean(dim=1, keepdim=True)
        z = torch.cat([m, torch.sigmoid(c[:, :1]), c.max(dim=1, keepdim=True).values], dim=1)
        return torch.exp(F.log_softmax(z, dim=1))

    return [tmix, tstats]


def _check(fn, framework):
    op = ac.context_operator(fn, name=fn.__name__, framework=framework, register=False,
                             world={"teachers": 3, "context_dim": 4})
    dom = Dm.build(op, WORLD)
    lo = RNG.uniform(-6, 6, (40, 4))
    hi = lo + RNG.uniform(0, 0.5, (40, 4)) * (RNG.random((40, 4)) < 0.8)
    ev = E.on_boxes(op, dom, lo, hi)
    real = adapt(op.fn, framework)
    for t in np.linspace(0, 1, 5):
        u = lo + t * (hi - lo)
        w = np.asarray(real(u), dtype=np.float64)
        assert np.all(ev.W.lo[:, 0] <= w) and np.all(w <= ev.W.hi[:, 0]), fn.__name__
    pt = lo[:5]
    tight = E.on_boxes(op, dom, pt, pt.copy()).W
    assert np.all(tight.hi - tight.lo <= 1e-4 if framework == "jax" else tight.hi - tight.lo <= 1e-12)


@pytest.mark.parametrize("fn", np_ops(), ids=lambda f: f.__name__)
def test_numpy_operators_are_enclosed(fn):
    _check(fn, None)


@pytest.mark.parametrize("fn", jax_ops(), ids=lambda f: f.__name__)
def test_jax_operators_are_enclosed_through_their_jaxpr(fn):
    _check(fn, "jax")


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed (make torch)")
@pytest.mark.parametrize("fn", torch_ops() if HAS_TORCH else [], ids=lambda f: f.__name__)
def test_torch_operators_are_enclosed_through_torch_function(fn):
    _check(fn, "torch")


def test_jax_softmax_is_recognised_as_a_softmax():
    import jax

    def soft(c):
        return jax.nn.softmax(c[:, :3], axis=-1)

    op = ac.context_operator(soft, name="soft", framework="jax", register=False,
                             world={"teachers": 3, "context_dim": 4})
    ev = E.on_boxes(op, Dm.build(op, WORLD), np.full((1, 4), -10.0), np.full((1, 4), 10.0))
    assert "norm" in ev.W.tags  # Σ = 1 proved through the softmax rule, not loose interval arithmetic
    assert ev.W.hi.max() <= 1.0 and ev.W.lo.min() >= 0.0  # in float32 1 − 4e-9 is 1.0: reachable


def test_an_unknown_jax_primitive_is_named():
    import jax.numpy as jnp

    def sine(c):
        return jnp.stack([jnp.sin(c[:, 0]), c[:, 1], c[:, 2]], axis=1) * 0 + 1 / 3

    op = ac.context_operator(sine, name="sine", framework="jax", register=False,
                             world={"teachers": 3, "context_dim": 4})
    certs = certify_operator(op, WORLD, max_time=1.0, axioms=["context.finite"])
    assert certs["context.finite"].status == "unknown" and "'sin'" in certs["context.finite"].reason


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed (make torch)")
def test_an_unknown_torch_function_is_named():
    import torch

    def sine(c):
        return torch.stack([torch.sin(c[:, 0]), c[:, 1], c[:, 2]], dim=1) * 0 + 1 / 3

    op = ac.context_operator(sine, name="sine", framework="torch", register=False,
                             world={"teachers": 3, "context_dim": 4})
    certs = certify_operator(op, WORLD, max_time=1.0, axioms=["context.finite"])
    assert certs["context.finite"].status == "unknown" and "'sin'" in certs["context.finite"].reason
