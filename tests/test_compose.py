"""Composition: equals the product-then-normalize done by hand; derived bounds are exact and reached."""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest

import axiomcheck as ac
from axiomcheck.sampling.domains import DOMAINS, World
from tests.helpers import SCALE_OPS, softmax, softmax_bounds

FAST = dict(max_examples=30, sweep_size=64)


def ops():
    return [make(base, name=f"c_{s}", bounds=b) for s, (make, base, b) in SCALE_OPS.items()]


def joint(n=16, seed=0):
    fam = DOMAINS["unified"].sweep(np.random.default_rng(seed), World(), n)[1]
    return fam.args


def test_composed_equals_done_by_hand():
    tok, task, ctx = ops()
    u = ac.compose(tok, task, ctx)
    probs, c, losses, sizes = joint()
    w = u(probs, c, losses, sizes)
    by_hand = (tok(probs, c)[:, None, :, None] * task(losses, sizes)[:, :, :, None] * ctx(c)[:, None, :, None])
    by_hand = by_hand / by_hand.sum(axis=2, keepdims=True)
    assert w.shape == (16, 3, 4, 16)
    np.testing.assert_allclose(w, np.broadcast_to(by_hand, w.shape), rtol=1e-12)


def test_subset_and_idempotent_composition():
    tok, task, ctx = ops()
    probs, c, losses, sizes = joint()
    only_ctx = ac.compose(ctx)(probs, c, losses, sizes)
    np.testing.assert_allclose(only_ctx, np.broadcast_to(ctx(c)[:, None, :, None], only_ctx.shape), rtol=1e-12)
    u = ac.compose(tok, ctx)
    again = ac.compose(u)
    np.testing.assert_array_equal(u(probs, c, losses, sizes), again(probs, c, losses, sizes))
    assert ac.compose(u, task)(probs, c, losses, sizes).shape == (16, 3, 4, 16)


def test_compose_rejects_bad_input():
    tok, task, ctx = ops()
    with pytest.raises(ac.SpecError, match="at least one"):
        ac.compose()
    with pytest.raises(ac.SpecError, match="at most one operator per scale"):
        ac.compose(tok, tok)
    with pytest.raises(ac.SpecError, match="takes Operators"):
        ac.compose(tok, "nope")


@ac.importance_operator(name="equal_lambda", register=False)
def equal_lambda(losses, sizes):
    return np.full(sizes.shape, 1.0 / sizes.shape[1])


def test_compose_refuses_every_bad_combination_with_a_spec_error():
    tok, task, ctx = ops()
    learned = ac.context_operator(lambda context, *, params: ctx(context), name="learned", params=[None],
                                  register=False)
    wide = ac.token_operator(lambda probs, context: tok(probs, context[:, :3]), name="wide",
                             world={"context_dim": 5}, register=False)
    narrow = ac.context_operator(lambda context: ctx(context), name="narrow", world={"context_dim": 3},
                                 register=False)
    cases = [
        ((ctx, equal_lambda), {}, "'equal_lambda' is an importance operator"),
        ((equal_lambda,), {}, "declare it on a task operator as importance=equal_lambda"),
        ((tok, learned), {}, "without declared params="),
        ((wide, narrow), {}, "cannot compose ['wide', 'narrow']"),
        ((tok, ctx), {"bounds": 5}, "bounds must be (w_min, w_max), two numbers"),
        ((tok, ctx), {"bounds": ("a", "b")}, "bounds must be (w_min, w_max), two numbers"),
        ((tok, ctx), {"bounds": (0.5, 0.1)}, "w_min must be ≤ w_max"),
        ((tok, ctx), {"lipschitz": "steep"}, "lipschitz must be a finite number ≥ 0"),
        ((tok, ctx), {"lipschitz": -1.0}, "lipschitz must be a finite number ≥ 0"),
        ((tok, ctx), {"name": 7}, "name must be a non-empty string"),
        ((tok, None), {}, "takes Operators"),
        ((ctx, ac.compose(tok, ctx)), {}, "at most one operator per scale"),
    ]
    for args, kw, needle in cases:
        with pytest.raises(ac.SpecError, match=re.escape(needle)):
            ac.compose(*args, **kw)


def test_a_composition_with_an_importance_operator_in_a_suite_exits_2_naming_the_item(tmp_path, monkeypatch, capsys):
    from axiomcheck.frontends import cli

    monkeypatch.chdir(tmp_path)
    (tmp_path / "ops.py").write_text(
        "import numpy as np\nimport axiomcheck as ac\n\n"
        "@ac.importance_operator(name='lam', register=False)\n"
        "def lam(losses, sizes):\n    return np.full(sizes.shape, 1.0 / sizes.shape[1])\n")
    (tmp_path / "s.toml").write_text('[suite]\nname = "s"\n\n[[item]]\ncompose = ["uniform_context", "ops:lam"]\n')
    code = cli.main(["run", "s.toml"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "s.toml:5: [[item]] #1, key 'compose': cannot compose ['uniform_context', 'lam']: compose() takes " \
           "token, task and context operators; 'lam' is an importance operator" in err, err


def test_a_composed_operator_is_called_with_its_components_keyword_inputs():
    def label_weights(probs, context, *, labels):
        return softmax(np.log(probs[np.arange(len(labels)), :, labels] + 1e-12))

    def history_weights(losses, sizes, *, history, step=0):
        return softmax(-losses - history[:, -1][:, :, None])

    tok = ac.token_operator(label_weights, name="by_label", register=False)
    task = ac.task_operator(history_weights, name="by_history", register=False)
    u = ac.compose(tok, task)
    assert str(inspect.signature(u)) == "(probs, context, losses, sizes, *, labels, history, step)"
    probs, c, losses, sizes = joint()
    labels, history = np.arange(len(probs)) % 16, np.ones((len(probs), 2, 3))
    w = u(probs, c, losses, sizes, labels=labels, history=history)
    assert w.shape == (16, 3, 4, 16) and np.allclose(w.sum(axis=2), 1.0)
    by_hand = tok(probs, c, labels=labels)[:, None, :, None] * task(losses, sizes, history=history)[..., None]
    by_hand = np.broadcast_to(by_hand / by_hand.sum(axis=2, keepdims=True), w.shape)  # the same for every token
    np.testing.assert_allclose(w, by_hand, rtol=1e-10)
    # the optional `step` may be given; a missing required input or an unknown one is a TypeError naming it
    assert u(probs, c, losses, sizes, labels=labels, history=history, step=np.zeros(16, int)).shape == w.shape
    with pytest.raises(TypeError, match=r"missing keyword input\(s\): 'labels' \(read by by_label\)"):
        u(probs, c, losses, sizes, history=history)
    with pytest.raises(TypeError, match=r"unexpected keyword input\(s\) \['label'\]; it takes: labels, history"):
        u(probs, c, losses, sizes, label=labels, history=history)


def test_log_space_keeps_tiny_factors():
    tiny = ac.context_operator(lambda c: np.tile([1e-200, 1e-200, 1e-200, 1.0 - 3e-200], (len(c), 1)),
                               name="tiny", register=False)
    also = ac.context_operator(lambda c: np.tile([1e-200, 1e-200, 1e-200, 1.0], (len(c), 1)), name="t2",
                               register=False)
    task = ac.task_operator(lambda losses, s: np.full(losses.shape, 1e-200), name="t3", register=False)
    probs, c, losses, sizes = joint()
    w = ac.compose(tiny, task)(probs, c, losses, sizes)
    assert np.all(np.isfinite(w)) and np.allclose(w.sum(axis=2), 1)
    del also


def test_derived_bounds_are_exact_and_reached():
    # Components that can take any feasible weight vector: a lookup of the extreme configurations.
    K = 4
    lo_hi = {"token": (0.1, 0.5), "task": (0.15, 0.4), "context": (0.2, 0.3)}
    dummies = [getattr(ac, f"{s}_operator")(lambda *a: None, name=f"d_{s}", bounds=b, register=False)
               for s, b in lo_hi.items()]
    d = ac.derived_bounds(dummies, K)
    lo, hi = d["bounds"]
    for which, value in (("max", hi), ("min", lo)):
        conf = d["attained_by"][which]
        vecs = [np.array(conf[f"d_{s}"]) for s in lo_hi]
        for (s, (a, b)), v in zip(lo_hi.items(), vecs):
            assert abs(v.sum() - 1) < 1e-12 and v.min() >= a - 1e-12 and v.max() <= b + 1e-12, s
        prod = np.prod(vecs, axis=0)
        assert abs(prod[0] / prod.sum() - value) < 1e-12  # reached: the bound is tight
    # No feasible configuration goes beyond the derived bounds (random feasible components).
    rng = np.random.default_rng(0)
    n = 20000
    vecs = []
    for a, b in lo_hi.values():
        x = rng.uniform(a, b, (n, K))
        for _ in range(60):  # alternate projections onto Σ = 1 and the box
            x = np.clip(x + (1 - x.sum(axis=1, keepdims=True)) / K, a, b)
        vecs.append(x)
    ok = np.all([np.abs(v.sum(axis=1) - 1) < 1e-9 for v in vecs], axis=0)
    p = np.prod(vecs, axis=0)[ok]
    w = p / p.sum(axis=1, keepdims=True)
    assert ok.sum() > 1000
    assert lo - 1e-12 <= w.min() and w.max() <= hi + 1e-12
    # the naive "component bounds carry over" is wrong: the product can leave [0.1, 0.5]
    assert lo < 0.1 or hi > 0.5


def test_unified_verified_with_derived_bounds_and_component_bounds_kept_or_not():
    tok, task, ctx = ops()
    u = ac.compose(tok, task, ctx)
    rep = ac.verify(u, **FAST)
    assert rep.derived["bounds"] is not None
    assert rep["unified.boundedness"].status == "pass"
    assert "derived" in rep["unified.boundedness"].message
    assert rep.passed, rep.failing()
    # asking the unified weight to keep the token component's bounds: it does not, and says where
    keep = ac.compose(tok, task, ctx, bounds=(0.2, 0.3))
    r = ac.verify(keep, **FAST)["unified.boundedness"]
    assert r.status == "fail" and r.counterexample["input"]


def test_task_factor_overturns_safety_and_is_named():
    order = [0, 1, 2, 3]
    ctx = ac.context_operator(lambda c: softmax(np.clip(c[:, :1], 0, 1) * np.linspace(1, 0, 4)[None]),
                              name="c_safe", bounds=softmax_bounds(1), register=False,
                              safety=ac.Safety(contexts=lambda c: c[:, 0] > 0, order=order))
    assert ac.verify(ctx, **FAST).passed
    task = ac.task_operator(lambda losses, s: softmax(-losses / (1 + losses)), name="t", bounds=softmax_bounds(1), register=False)
    r = ac.verify(ac.compose(task, ctx), **FAST)["unified.safety_monotonicity"]
    assert r.status == "fail"
    assert "overturned by the task factor" in r.message
    # without the task factor the order survives composition
    assert ac.verify(ac.compose(ctx), **FAST)["unified.safety_monotonicity"].status == "pass"
