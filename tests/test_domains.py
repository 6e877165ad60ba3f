"""The samplers themselves: they do produce the edge cases the checks rely on."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from axiomcheck.sampling.domains import DOMAINS, World
from axiomcheck.sampling.families import dist_pool

WORLD = World(teachers=4, vocab=16, context_dim=3, tasks=3)


def families(scale, n=64, world=WORLD, seed=0):
    return {f.name: f.args for f in DOMAINS[scale].sweep(np.random.default_rng(seed), world, n)}


def test_token_families_are_distributions_with_the_edge_cases():
    fams = families("token")
    for name, (probs, ctx) in fams.items():
        assert probs.shape == (64, 4, 16) and ctx.shape == (64, 3), name
        assert np.all(probs >= 0) and np.allclose(probs.sum(-1), 1.0), name
    one_hot = fams["one_hot"][0]
    assert np.all((one_hot == 0) | (one_hot == 1)) and np.all(one_hot.max(-1) == 1)
    assert np.allclose(fams["uniform"][0], 1 / 16)
    near = fams["near_one_hot"][0]
    assert np.all(near.max(-1) > 0.98) and np.all(near.max(-1) < 1) and np.all(near > 0)
    tied = fams["tied_teachers"][0]
    assert np.array_equal(tied, np.repeat(tied[:, :1], 4, axis=1))
    assert np.any(fams["extreme_logits"][0] == 0.0), "extreme logits must underflow some entries to 0"
    two = fams["two_way_tie"][0]
    assert np.all(np.sort(two, -1)[..., -2:] == 0.5)


def test_context_families_reach_far_out_and_the_boundary():
    fams = families("context")
    assert np.abs(fams["far_out"][0]).min() >= 1e3 and np.abs(fams["far_out"][0]).max() <= 1e6
    b = fams["boundary"][0][:, 0]
    assert np.any(b == 0.0) and np.all(np.abs(b) <= 1e-6)
    assert np.all(fams["zeros"][0] == 0)
    ties = fams["ties"][0]
    assert np.all(ties == ties[:, :1])


def test_task_families_cover_zero_huge_and_tied_losses():
    fams = families("task")
    for name, (losses, sizes) in fams.items():
        assert losses.shape == (64, 3, 4) and sizes.shape == (64, 3), name
        assert np.all(losses >= 0) and np.all(sizes >= 1), name
    assert np.all(fams["zero_losses"][0] == 0)
    assert fams["huge_losses"][0].min() >= 1e3
    tied = fams["tied_losses"][0]
    assert np.all(tied == tied[..., :1])
    assert set(np.unique(fams["extreme_sizes"][1])) == {1.0, 1e9}


@pytest.mark.parametrize("scale", ["token", "task"])
def test_single_teacher_world(scale):
    fams = families(scale, world=World(teachers=1))
    for args in fams.values():
        k_axis = 1 if scale == "token" else 2
        assert args[0].shape[k_axis] == 1


def test_unified_joins_token_and_task_inputs():
    fams = families("unified", n=8)
    for probs, ctx, losses, sizes in fams.values():
        assert probs.shape == (8, 4, 16) and ctx.shape == (8, 3) and losses.shape == (8, 3, 4) and sizes.shape == (8, 3)


def test_sweep_is_seeded():
    a, b = families("token", seed=5), families("token", seed=5)
    assert all(np.array_equal(a[k][0], b[k][0]) for k in a)
    c = families("token", seed=6)
    assert not np.array_equal(a["dirichlet_1"][0], c["dirichlet_1"][0])


def test_dirichlet_concentration_changes_spread():
    rng = np.random.default_rng(0)
    sharp = dist_pool("dirichlet_0.1", rng, 500, 16).max(-1).mean()
    flat = dist_pool("dirichlet_10", rng, 500, 16).max(-1).mean()
    assert sharp > 0.5 > flat


@settings(max_examples=40, deadline=None, database=None)
@given(DOMAINS["token"].strategy(WORLD))
def test_token_strategy_draws_valid_batches(args):
    probs, ctx = args
    assert 1 <= probs.shape[0] <= 2 and probs.shape[1:] == (4, 16) and ctx.shape == (probs.shape[0], 3)
    assert np.all(probs >= 0) and np.allclose(probs.sum(-1), 1)


@settings(max_examples=40, deadline=None, database=None)
@given(DOMAINS["task"].strategy(WORLD))
def test_task_strategy_draws_valid_batches(args):
    losses, sizes = args
    assert losses.shape[1:] == (3, 4) and np.all(losses >= 0) and np.all(sizes >= 1)


def test_strategies_shrink_towards_simple_inputs():
    from hypothesis import find

    # the simplest token batch is one sample whose teachers all agree; the simplest context is zeros
    ex = find(DOMAINS["token"].strategy(WORLD), lambda a: True, settings=settings(database=None))
    assert ex[0].shape == (1, 4, 16) and np.allclose(ex[0].sum(-1), 1)
    assert np.array_equal(ex[0], np.repeat(ex[0][:, :1], 4, axis=1))
    ex = find(DOMAINS["context"].strategy(WORLD), lambda a: True, settings=settings(database=None))
    assert ex[0].shape == (1, 3) and np.all(ex[0] == 0)


def test_distance_and_interpolation_are_consistent():
    d = DOMAINS["task"]
    a = families("task", n=16)["uniform_losses"]
    b = families("task", n=16, seed=1)["uniform_losses"]
    mid = d.interpolate(a, b, 0.5)
    assert np.allclose(d.distance(a, mid), d.distance(a, b) / 2)
    assert np.all(mid[1] > 0)
