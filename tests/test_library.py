"""Tests of the built-in operators (axiomcheck.library).

Two layers: direct numpy assertions on hand-made edge inputs (shapes, sums,
declared bounds, safety orders, K = 1), which need nothing but the operators;
then `verify()` over the whole library — every conforming operator passes,
every independence counterexample fails exactly its expected checks, every
misbehaving operator is caught on the right checks.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import axiomcheck.library as lib
from axiomcheck.library import _numerics as nx
from axiomcheck.library import context as ctx_mod
from axiomcheck.library import misbehaving
from axiomcheck.library.independence import EXPECTED_FAILURES, INDEPENDENCE, SCALE_CHECKS
from axiomcheck.library.lookup import get, operators
from axiomcheck.spec.operator import Operator
from axiomcheck.spec.registry import BUILTINS, USER

K, V, D, M = 4, 16, 3, 3
TOL = 1e-12

CONFORMING = [get(name) for names in lib.CONFORMING.values() for name in names]
TOKEN_OPS = [op for op in CONFORMING if op.scale == "token"]
TASK_OPS = [op for op in CONFORMING if op.scale == "task"]
CONTEXT_OPS = [op for op in CONFORMING if op.scale == "context"]


def ids(ops):
    return [op.name for op in ops]


# ----------------------------------------------------------------------------- hand-made inputs


def token_inputs(k: int = K, v: int = V, d: int = D) -> tuple[np.ndarray, np.ndarray]:
    """Edge-case token inputs: one-hot rows (with zeros), uniform, near-one-hot, underflowed logits, ties."""
    rng = np.random.default_rng(0)
    rows = []
    one_hot = np.zeros((k, v))
    one_hot[np.arange(k), np.arange(k) % v] = 1.0
    rows.append(one_hot)
    rows.append(np.full((k, v), 1.0 / v))
    mixed = np.full((k, v), 1.0 / v)
    mixed[0] = 0.0
    mixed[0, 0] = 1.0  # one confident teacher among uniform ones
    rows.append(mixed)
    near = np.full((k, v), 1e-9 / max(v - 1, 1))
    near[:, 0] = 1.0 - 1e-9 if v > 1 else 1.0
    rows.append(near / near.sum(axis=1, keepdims=True))
    logits = rng.standard_normal((k, v)) * 1e3
    rows.append(np.exp(logits - logits.max(axis=1, keepdims=True)) / np.exp(logits - logits.max(axis=1, keepdims=True)).sum(axis=1, keepdims=True))
    rows.append(np.repeat(rng.dirichlet(np.ones(v))[None], k, axis=0))  # tied teachers
    for _ in range(6):
        rows.append(rng.dirichlet(np.full(v, 0.3), size=k))
    probs = np.stack(rows)
    n = probs.shape[0]
    contexts = np.zeros((n, d))
    contexts[1] = 1e6
    contexts[2] = -1e6
    contexts[3, 0] = 1e-12
    contexts[4:] = rng.standard_normal((n - 4, d)) * np.array([1.0, 10.0, 1e3])[np.arange(n - 4) % 3][:, None]
    return probs, contexts


def task_inputs(k: int = K, m: int = M) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    losses = np.stack([
        np.zeros((m, k)),
        np.full((m, k), 1e6),
        np.where(np.arange(k) % 2 == 0, 0.0, 1e6)[None, :].repeat(m, axis=0),
        np.full((m, k), 1e-12),
        rng.uniform(0, 5, (m, k)),
        rng.exponential(1.0, (m, k)),
        np.repeat(rng.uniform(0, 5, (m, 1)), k, axis=1),  # ties
        np.where(np.arange(m) == 0, 0.0, 1e6)[:, None].repeat(k, axis=1),  # one easy task, the rest hopeless
    ])
    sizes = np.stack([np.full(m, 1.0), np.full(m, 1e9), np.geomspace(1, 1e9, m), np.full(m, 1e3),
                      rng.uniform(1, 1e6, m), np.full(m, 7.0), np.geomspace(1e9, 1, m), np.full(m, 50.0)])
    return losses, sizes


def context_inputs(d: int = D) -> np.ndarray:
    rng = np.random.default_rng(2)
    fixed = [np.zeros(d), np.full(d, 1e6), np.full(d, -1e6), np.r_[1e-12, np.zeros(d - 1)],
             np.r_[-1e-12, np.zeros(d - 1)], np.r_[1e6, np.full(d - 1, -1e6)], np.r_[-1e6, np.full(d - 1, 1e6)]]
    return np.concatenate([np.stack(fixed), rng.standard_normal((20, d)),
                           rng.standard_normal((20, d)) * 10, rng.standard_normal((20, d)) * 1e4])


def teacher_rows(op: Operator, w: np.ndarray) -> np.ndarray:
    w = np.asarray(w)
    if op.scale == "token" and w.ndim == 3:
        return np.swapaxes(w, 1, 2).reshape(-1, w.shape[1])
    return w.reshape(-1, w.shape[-1])


def call(op: Operator, k: int = K) -> np.ndarray:
    if op.scale == "token":
        return np.asarray(op(*token_inputs(k)))
    if op.scale == "task":
        return np.asarray(op(*task_inputs(k)))
    return np.asarray(op(context_inputs()) if k == K else op.fn(context_inputs(), teachers=k))


# ----------------------------------------------------------------------------- registry


def test_library_registers_conforming_and_independence_operators():
    registered = {op.name for op in operators()}
    for names in lib.CONFORMING.values():
        assert set(names) <= registered
    assert {op.name for op in INDEPENDENCE.values()} <= registered
    assert not any(name.startswith("bad_") for name in (*USER, *BUILTINS))


def test_all_is_explicit_and_resolvable():
    for name in lib.__all__:
        assert hasattr(lib, name), name


def test_independence_covers_the_fifteen_axioms():
    axioms = {a for checks in SCALE_CHECKS.values() for a in checks[:5]}
    assert set(INDEPENDENCE) == axioms and len(axioms) == 15
    for axiom, op in INDEPENDENCE.items():
        assert op.name == "indep_" + axiom.replace(".", "_")
        assert op.scale == axiom.split(".")[0]
        assert axiom in EXPECTED_FAILURES[axiom]
        assert EXPECTED_FAILURES[axiom] <= set(SCALE_CHECKS[op.scale])


def test_every_task_operator_declares_an_importance():
    for op in TASK_OPS + [o for o in INDEPENDENCE.values() if o.scale == "task"]:
        assert op.importance is not None, op.name


def test_uniform_operators_declare_exact_bounds():
    for name in ("uniform_token", "uniform_task", "uniform_context"):
        assert get(name).bounds == (0.25, 0.25)


# ----------------------------------------------------------------------------- numerics helpers


def test_softmax_box_bounds_match_brute_force():
    rng = np.random.default_rng(3)
    lo, hi = np.array([-1.0, -2.0, 0.0, -0.5]), np.array([0.5, 1.0, 2.0, 0.0])
    w_min, w_max = nx.softmax_box_bounds(lo, hi)
    corners = np.array(np.meshgrid(*zip(lo, hi, strict=True))).reshape(4, -1).T
    inside = lo + (hi - lo) * rng.uniform(size=(5000, 4))
    w = nx.softmax(np.concatenate([corners, inside]))
    assert w.min() >= w_min - TOL and w.max() <= w_max + TOL
    assert np.isclose(w.min(), w_min) and np.isclose(w.max(), w_max)  # corners attain them


def test_impose_order_is_a_continuous_permutation():
    rng = np.random.default_rng(4)
    w = rng.dirichlet(np.ones(K), size=50)
    o = nx.impose_order(w, (0, 2, 1))
    assert np.allclose(np.sort(o, axis=1), np.sort(w, axis=1))
    assert (o[:, 0] >= o[:, 2]).all() and (o[:, 2] >= o[:, 1]).all()
    assert np.array_equal(o[:, 3], w[:, 3])
    delta = rng.normal(size=w.shape) * 1e-7
    assert np.abs(nx.impose_order(w + delta, (0, 2, 1)) - o).max() <= np.abs(delta).max() + 1e-15
    assert np.array_equal(nx.impose_order(w[:, :1], (0, 2, 1)), w[:, :1])  # K = 1: nothing to order


def test_normalized_entropy_and_squash_edges():
    p = np.array([[[1.0, 0.0, 0.0, 0.0], [0.25] * 4]])
    assert np.allclose(nx.normalized_entropy(p), [[0.0, 1.0]])
    assert np.array_equal(nx.normalized_entropy(np.ones((2, 3, 1))), np.zeros((2, 3)))
    q = nx.squash(np.array([0.0, 1e-12, 1.0, 1e6, 1e300]))
    assert q[0] == 0.0 and q[-1] <= 1.0 and np.all(np.diff(q) >= 0) and np.isfinite(q).all()


# ----------------------------------------------------------------------------- conforming: hand-made edges


@pytest.mark.parametrize("op", CONFORMING, ids=ids(CONFORMING))
def test_conforming_shape_sum_bounds_on_edges(op):
    w = call(op)
    n = {"token": token_inputs()[0].shape[0], "task": task_inputs()[0].shape[0], "context": context_inputs().shape[0]}[op.scale]
    allowed = {"token": [(n, K), (n, K, V)], "task": [(n, M, K)], "context": [(n, K)]}[op.scale]
    assert w.shape in allowed and w.dtype == np.float64
    rows = teacher_rows(op, w)
    assert np.isfinite(rows).all()
    assert np.abs(rows.sum(axis=1) - 1.0).max() <= 8 * np.finfo(float).eps * K
    assert (rows > 0).all()
    lo, hi = op.bounds
    assert rows.min() >= lo - TOL and rows.max() <= hi + TOL, (rows.min(), rows.max(), op.bounds)


@pytest.mark.parametrize("op", CONFORMING, ids=ids(CONFORMING))
def test_conforming_single_teacher_gives_one(op):
    w = call(op, k=1)
    assert w.shape[-1] == 1 or (op.scale == "token" and w.shape[1] == 1)
    assert np.allclose(w, 1.0)


@pytest.mark.parametrize("op", TOKEN_OPS, ids=ids(TOKEN_OPS))
def test_token_operators_take_any_vocab(op):
    for v in (1, 2, 7, 50):
        probs, context = token_inputs(K, v)
        w = np.asarray(op(probs, context))
        assert w.shape in [(probs.shape[0], K), (probs.shape[0], K, v)]
        assert np.isfinite(w).all() and (w > 0).all()
        assert np.allclose(teacher_rows(op, w).sum(axis=1), 1.0)


def _safe_rows(op: Operator, w: np.ndarray, inputs) -> np.ndarray:
    """Rows of weights `[N, K]` the declared safety ordering applies to."""
    if op.scale == "token":
        return w[:, :, list(op.safety.tokens)].swapaxes(1, 2).reshape(-1, K) if w.ndim == 3 else w
    return w[np.asarray(op.safety.contexts(inputs))]


SAFE_OPS = [op for op in CONFORMING if op.safety is not None]


@pytest.mark.parametrize("op", SAFE_OPS, ids=ids(SAFE_OPS))
def test_conforming_safety_order_on_edges(op):
    inputs = context_inputs() if op.scale == "context" else token_inputs()[1]
    w = call(op)
    rows = _safe_rows(op, w, inputs)
    assert rows.shape[0] > 0
    for better, worse in op.safety.ordered_pairs():
        assert (rows[:, better] >= rows[:, worse] - TOL).all(), (better, worse)


@pytest.mark.parametrize("op", CONTEXT_OPS, ids=ids(CONTEXT_OPS))
def test_context_operators_are_continuous_across_the_safety_boundary(op):
    rng = np.random.default_rng(5)
    c = rng.standard_normal((32, D))
    for eps in (1e-6, 1e-9):
        plus, minus = c.copy(), c.copy()
        plus[:, 0], minus[:, 0] = eps, -eps
        assert np.abs(op(plus) - op(minus)).max() <= 10 * eps + 1e-12


def test_token_safety_reorders_only_on_safety_tokens():
    probs, context = token_inputs()
    w = lib.entropy_exp(probs, context)
    base = nx.softmax(-2.0 * nx.normalized_entropy(probs))
    off = [i for i in range(V) if i not in (3, 7)]
    assert np.allclose(w[:, :, off], base[:, :, None])
    assert np.allclose(np.sort(w[:, :, 3], axis=1), np.sort(base, axis=1))


@pytest.mark.parametrize("op", TASK_OPS, ids=ids(TASK_OPS))
def test_task_importance_is_a_positive_convex_combination(op):
    losses, sizes = task_inputs()
    lam = np.asarray(op.importance(losses, sizes))
    assert lam.shape == sizes.shape
    assert (lam > 0).all() and np.allclose(lam.sum(axis=1), 1.0)


def test_inverse_loss_survives_zero_and_huge_losses():
    losses = np.array([[[0.0, 1e6, 1e6, 1e6]], [[1e6, 0.0, 0.0, 0.0]]])
    w = lib.inverse_loss(losses, np.ones((2, 1)))
    assert np.isfinite(w).all() and np.isclose(w[0, 0, 0], 0.625, atol=1e-5) and w[1, 0, 0] >= 0.0625 - TOL


def test_size_tempered_is_near_uniform_with_little_data():
    losses = np.array([[[0.0, 5.0, 5.0, 5.0]]])
    w_small = lib.size_tempered(losses, np.array([[1.0]]))
    w_big = lib.size_tempered(losses, np.array([[1e9]]))
    assert np.abs(w_small - 0.25).max() < 0.01 and w_big[0, 0, 0] > 0.5


def test_builtins_are_batch_independent_and_deterministic():
    probs, context = token_inputs()
    losses, sizes = task_inputs()
    cs = context_inputs()
    for op in CONFORMING:
        args = {"token": (probs, context), "task": (losses, sizes), "context": (cs,)}[op.scale]
        full = np.asarray(op(*args))
        assert np.array_equal(full, np.asarray(op(*args)))
        for i in (0, 3):
            one = np.asarray(op(*(a[i:i + 1] for a in args)))
            assert np.allclose(one[0], full[i], rtol=0, atol=1e-14)


# ----------------------------------------------------------------------------- independence: hand-made edges


def test_independence_operators_break_their_axiom_on_a_hand_made_input():
    probs, context = token_inputs()
    losses, sizes = task_inputs()
    cs = context_inputs()
    w = lib.independence.indep_token_normalization(probs, context)
    assert np.abs(w.sum(axis=1) - 1).max() > 0.5
    w = lib.independence.indep_token_positivity(probs, context)
    assert (w == 0.0).any() and np.allclose(w.sum(axis=1), 1.0)
    w = lib.independence.indep_token_bounded_influence(probs, context)
    assert (w > 0).all() and w.min() < 1e-15
    far = probs[:1], np.full((1, D), 1e6)
    assert lib.independence.indep_token_bounded_influence(*far).min() > 0
    w = lib.independence.indep_token_safety_monotonicity(probs, context)
    assert (w[:, 1, 3] > w[:, 0, 3] + 1e-6).any()

    w = lib.independence.indep_task_normalization(losses, sizes)
    assert np.abs(w.sum(axis=2) - 1).max() > 0.1
    w = lib.independence.indep_task_positivity(losses, sizes)
    assert (w == 0.0).any() and np.allclose(w.sum(axis=2), 1.0)
    w = lib.independence.indep_task_boundedness(losses, sizes)
    assert (w > 0).all() and w.min() < 1e-5
    lam = lib.independence.indep_task_pareto_compatibility.importance(losses, sizes)
    assert np.allclose(lam.sum(axis=1), 1.0) and (lam < 0).any()

    w = lib.independence.indep_context_normalization(cs)
    assert (w.sum(axis=1) > 1.5).all()
    w = lib.independence.indep_context_positivity(cs)
    assert (w == 0.0).any() and np.allclose(w.sum(axis=1), 1.0)
    w = lib.independence.indep_context_boundedness(cs)
    assert (w > 0).all() and w.min() < 1e-10
    w = lib.independence.indep_context_safety_prioritization(cs)
    safe = ctx_mod.safe_context(cs)
    assert (w[safe, 1] > w[safe, 0]).all()


def test_hard_selection_counterexamples_jump():
    """Two teachers almost tied: an input change of 1e-6 moves 0.2 of weight (0.6/0.4 swap)."""
    eps = 1e-6
    a = np.array([[[0.5, 0.5], [0.5 + eps, 0.5 - eps]]])  # teacher 1 very slightly more confident
    b = np.array([[[0.5 + eps, 0.5 - eps], [0.5, 0.5]]])
    c = np.zeros((1, D))
    wa = lib.independence.indep_token_regularity(a, c)
    wb = lib.independence.indep_token_regularity(b, c)
    assert np.abs(wa - wb).max() > 0.19
    la, lb = np.array([[[1.0, 1.0 + eps]]]), np.array([[[1.0 + eps, 1.0]]])
    assert np.abs(lib.independence.indep_task_continuity(la, np.ones((1, 1)))
                  - lib.independence.indep_task_continuity(lb, np.ones((1, 1)))).max() > 0.19
    ca, cb = np.array([[0.3, 0.4, 0.0]]), np.array([[0.3, 0.4, 0.0]])
    proj = nx.project(ca, K)[0]
    top2 = np.argsort(proj)[-2:]
    # move along the direction that swaps the two largest domain scores
    grad = nx.mixing(K, D)[top2[0]] - nx.mixing(K, D)[top2[1]]
    t = (proj[top2[1]] - proj[top2[0]]) / (grad @ grad)
    ca, cb = ca + (t - 1e-7) * grad, ca + (t + 1e-7) * grad
    assert np.abs(ca - cb).max() < 1e-6
    assert np.abs(lib.independence.indep_context_continuity(ca)
                  - lib.independence.indep_context_continuity(cb)).max() > 0.19


def test_boundedness_counterexamples_declare_bounds_that_hold_near_the_origin():
    """Their declared bounds are what a user sees on typical inputs; only far-out inputs break them."""
    g = np.linspace(-1.0, 1.0, 21)
    cube = np.array(np.meshgrid(g, g, g)).reshape(3, -1).T
    op = INDEPENDENCE["context.boundedness"]
    w = op(cube)
    assert w.min() >= op.bounds[0] and w.max() <= op.bounds[1]
    op = INDEPENDENCE["token.bounded_influence"]
    probs, _ = token_inputs()
    unit = cube[np.linalg.norm(cube, axis=1) <= 1.0][: probs.shape[0]]
    w = op(probs[: unit.shape[0]], unit)
    assert w.min() >= op.bounds[0] - TOL and w.max() <= op.bounds[1] + TOL
    op = INDEPENDENCE["task.boundedness"]
    losses = np.random.default_rng(6).uniform(0, 1, (50, M, K))
    w = op(losses, np.ones((50, M)))
    assert w.min() >= op.bounds[0] - TOL and w.max() <= op.bounds[1] + TOL


@pytest.mark.parametrize("axiom", sorted(INDEPENDENCE))
def test_independence_operators_are_well_posed_for_one_teacher(axiom):
    op = INDEPENDENCE[axiom]
    w = call(op, k=1)
    assert np.isfinite(w).all() and w.shape[{"token": 1, "task": 2, "context": 1}[op.scale]] == 1


# ----------------------------------------------------------------------------- misbehaving: direct


def test_misbehaving_operators_misbehave_directly():
    probs, context = token_inputs()
    losses, sizes = task_inputs()
    cs = context_inputs()
    with pytest.raises(ZeroDivisionError):
        misbehaving.bad_raises(cs)
    assert np.isnan(misbehaving.bad_nan(losses, sizes)).any()
    assert misbehaving.bad_shape(cs).shape == (cs.shape[0], K + 1)
    assert np.issubdtype(misbehaving.bad_dtype(probs, context).dtype, np.integer)
    assert not np.array_equal(misbehaving.bad_nondeterministic(probs, context),
                              misbehaving.bad_nondeterministic(probs, context))
    full = misbehaving.bad_batch_dependent(cs)
    assert not np.allclose(misbehaving.bad_batch_dependent(cs[:5]), full[:5])
    assert set(misbehaving.MISBEHAVING) == set(misbehaving.EXPECTED_MISBEHAVIOR)


def test_slow_operator_sleeps_for_its_parameter():
    import time

    op = misbehaving.slow_operator(0.05)
    t = time.perf_counter()
    w = op(context_inputs())
    assert time.perf_counter() - t >= 0.05 and np.allclose(w, 0.25)


def test_register_all_adds_and_can_be_undone():
    from axiomcheck.spec.registry import unregister

    try:
        ops = misbehaving.register_all()
        assert all(get(op.name) is op for op in ops)
    finally:
        for name in misbehaving.MISBEHAVING:
            unregister(name)
    assert not any(name.startswith("bad_") for name in (*USER, *BUILTINS))


# ----------------------------------------------------------------------------- through verify()


def _verify(op, **kw):
    from axiomcheck.engine import verify

    kw.setdefault("max_examples", 100)
    return verify(op, **kw)


@pytest.mark.parametrize("op", CONFORMING, ids=ids(CONFORMING))
def test_conforming_operator_passes_verify(op):
    report = _verify(op)
    assert report.passed, {r.axiom: r.message for r in report.results if not r.ok}
    assert set(report.statuses()) == set(SCALE_CHECKS[op.scale])
    expect_skipped = set() if op.safety is not None or op.scale == "task" else {f"{op.scale}.{'safety_monotonicity' if op.scale == 'token' else 'safety_prioritization'}"}
    assert {a for a, s in report.statuses().items() if s == "skipped"} == expect_skipped


@pytest.mark.parametrize("axiom", sorted(INDEPENDENCE))
def test_independence_operator_fails_exactly_its_axiom(axiom):
    op = INDEPENDENCE[axiom]
    report = _verify(op)
    failing = set(report.failing()) & set(SCALE_CHECKS[op.scale])
    assert failing == EXPECTED_FAILURES[axiom], {r.axiom: r.message for r in report.results if not r.ok}
    assert all(report[a].status == "fail" for a in failing)  # violated, not an operator error


@pytest.mark.parametrize("axiom", ["token.regularity", "task.positivity", "context.boundedness"])
def test_independence_holds_for_other_seeds(axiom):
    op = INDEPENDENCE[axiom]
    for seed in (1, 2):
        assert set(_verify(op, seed=seed, max_examples=30).failing()) == EXPECTED_FAILURES[axiom]


@pytest.mark.parametrize("name", sorted(misbehaving.MISBEHAVING))
def test_misbehaving_operator_is_caught(name):
    op = misbehaving.MISBEHAVING[name]
    kw = {}
    if name == "bad_slow":
        op, kw = misbehaving.slow_operator(2.0), {"timeout": 0.5}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NaN weights make numpy warn inside the checks
        report = _verify(op, **kw)
    statuses = report.statuses()
    assert not report.passed
    assert all(statuses[a] in ("fail", "error") for a in misbehaving.EXPECTED_MISBEHAVIOR[name]), statuses
    if name in ("bad_shape", "bad_dtype", "bad_slow"):
        assert all(s == "error" for s in statuses.values()), statuses
    if name in ("bad_nondeterministic", "bad_batch_dependent"):
        # the values themselves are fine: only the well-posedness of the calls is wrong
        for prop in ("normalization", "positivity", "finite", "shape"):
            assert statuses[f"{op.scale}.{prop}"] == "pass", statuses
