"""Declarations are validated when an operator is built; the registry behaves."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import axiomcheck as ac


def uniform4(c):
    return np.full((c.shape[0], 4), 0.25)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(bounds=(0.0, 0.5)), "w_min must be > 0"),
        (dict(bounds=(-0.1, 0.5)), "w_min must be > 0"),
        (dict(bounds=(0.6, 0.5)), "w_min must be ≤ w_max"),
        (dict(bounds=(0.1, float("inf"))), "finite"),
        (dict(lipschitz=-1.0), "lipschitz"),
        (dict(safety=ac.Safety(tokens=[1], order=[0, 1])), "token-scale safety|context-scale safety"),
    ],
)
def test_bad_declarations_raise_when_built(kwargs, match):
    with pytest.raises(ac.SpecError, match=match):
        ac.context_operator(uniform4, name="bad", register=False, **kwargs)


def test_safety_declarations_are_validated():
    with pytest.raises(ac.SpecError, match="twice"):
        ac.Safety(tokens=[3], order=[0, 2, 0])
    with pytest.raises(ac.SpecError, match="exactly one"):
        ac.Safety(tokens=[3])
    with pytest.raises(ac.SpecError, match="exactly one"):
        ac.Safety(tokens=[3], order=[0, 1], pairs=[(0, 1)])
    with pytest.raises(ac.SpecError, match="both ways"):
        ac.Safety(tokens=[3], pairs=[(0, 1), (1, 0)])
    with pytest.raises(ac.SpecError, match="callable"):
        ac.Safety(contexts=3, order=[0, 1])
    assert ac.Safety(tokens=[1], pairs=[(2, 0)]).ordered_pairs() == ((2, 0),)


def test_non_callable_and_wrong_scale_spec():
    with pytest.raises(ac.SpecError, match="callable"):
        ac.context_operator(42, name="x", register=False)
    with pytest.raises(ac.SpecError, match="importance"):
        ac.context_operator(uniform4, name="x", importance=lambda a, b: a, register=False)
    with pytest.raises(ac.SpecError, match="task scale declares no safety"):
        ac.task_operator(lambda losses, s: losses, name="x", safety=ac.Safety(tokens=[1], order=[0, 1]), register=False)


def test_registry_roundtrip_and_clash():
    op = ac.context_operator(uniform4, name="test_registry_u", bounds=(0.25, 0.25))
    try:
        assert ac.get("test_registry_u") is op
        assert op in ac.operators("context")
        other = ac.context_operator(lambda c: uniform4(c), name="test_registry_u", register=False)
        with pytest.raises(ac.SpecError, match="already registered"):
            ac.register(other)
        ac.register(other, replace=True)
        assert ac.get("test_registry_u") is other
    finally:
        ac.unregister("test_registry_u")
    with pytest.raises(KeyError, match="no operator named"):
        ac.get("test_registry_u")


def test_an_operator_is_called_exactly_like_its_function():
    """Keyword inputs and params pass through, so the decorated object serves in training code."""

    def ca_mkd(probs, context, *, labels, temperature=1.0):
        ce = -np.log(probs[np.arange(len(labels)), :, labels])
        e = np.exp(-(ce - ce.min(axis=1, keepdims=True)) / temperature)
        return e / e.sum(axis=1, keepdims=True)

    op = ac.token_operator(ca_mkd, name="ca_mkd_like", register=False)
    p = np.random.default_rng(0).dirichlet(np.ones(16), size=(3, 4))
    y = np.array([1, 2, 3])
    np.testing.assert_array_equal(op(p, np.zeros((3, 2)), labels=y), ca_mkd(p, np.zeros((3, 2)), labels=y))
    np.testing.assert_array_equal(op(p, None, labels=y, temperature=2.0), ca_mkd(p, None, labels=y, temperature=2.0))
    assert str(inspect.signature(op)) == "(probs, context, *, labels, temperature=1.0)"
    with pytest.raises(TypeError, match="labels"):  # the function's own error, as without the decorator
        op(p, None)

    net = ac.context_operator(lambda context, *, params: np.tanh(context @ params), name="net",
                              params=[np.ones((3, 4))], register=False)
    assert net(np.zeros((2, 3)), params=np.ones((3, 4))).shape == (2, 4)
    gate = ac.context_operator(lambda context, teachers=4: np.full((len(context), teachers), 1 / teachers),
                               name="gate", register=False)
    assert gate(np.zeros((2, 3)), teachers=2).shape == (2, 2)


def test_operator_is_callable_and_immutable():
    op = ac.context_operator(uniform4, name="u", register=False)
    assert op(np.zeros((2, 3))).shape == (2, 4)
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        op.name = "other"
    assert op.replace(bounds=(0.25, 0.25)).bounds == (0.25, 0.25)
    assert "fn(context[B,D])" in op.signature


def test_the_registry_lists_an_operator_whose_function_has_no_module():
    """A function made by exec() without a __name__ has __module__ None; registering one before the first
    listing used to make `ac.operators()` raise AttributeError (the built-ins load once per process)."""
    import subprocess
    import sys

    code = ("import axiomcheck as ac\nns = {}\nexec('def f(context):\\n    return context', ns)\n"
            "ac.context_operator(ns['f'], name='no_module_op')\n"
            "print([o.name for o in ac.operators() if o.name == 'no_module_op'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['no_module_op']"
