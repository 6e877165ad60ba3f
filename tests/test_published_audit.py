"""The audit's verdicts hold numerically: on hostile inputs every port fails the value checks its docstring
says it fails and no other, and every repaired variant passes them (positivity, normalization, bounds,
finiteness, batch independence, no jump).  The engine confirms the same verdicts once it takes keyword
inputs (`test_published_suite.py`)."""

from __future__ import annotations

import numpy as np
import pytest

from axiomcheck.checks import properties as P
from axiomcheck.library import published
from axiomcheck.library.port import CHECK_IDS, Port
from tests.published_inputs import batches, call, lerp, param_sets

PORTS = published.PORTS
REPAIRED = [p for p in PORTS if p.repairs is not None and not p.fails]


def _tol(k: int) -> float:
    return P.tolerance_for(np.dtype(np.float64), k)


def _violations(port: Port, w: np.ndarray) -> set[str]:
    """The value checks (finite, normalization, positivity/nonnegativity, bounds) that `w` breaks."""
    kind = port.kind
    k = w.shape[1]
    out = set()
    finite = np.isfinite(w).all(axis=1)
    if not finite.all():
        out.add(f"{kind}.finite")
    err = np.abs(w.sum(axis=1) - 1.0)
    if not (err <= _tol(k)).all():
        out.add(f"{kind}.normalization")
    low = w.min(axis=1)
    if kind == "token":
        if not (low > 0).all():
            out.add("token.positivity")
        # declared bounds up to the tolerance; without them, some w_min > 0 (≥ the smallest normal float)
        lo, hi = port.declare.get("bounds", (np.finfo(np.float64).tiny, np.inf))
        tol = _tol(k) if "bounds" in port.declare else 0.0
        if not ((low >= lo - tol) & (w.max(axis=1) <= hi + tol)).all():
            out.add("token.bounded_influence")
    elif not (low >= 0).all():
        out.add("importance.nonnegativity")
    return out


VALUE_CHECKS = {"finite", "normalization", "positivity", "nonnegativity", "bounded_influence"}


def _observed(port: Port, seed: int = 0) -> set[str]:
    seen: set[str] = set()
    for params in param_sets(port):
        for _, inputs in batches(port.kind, seed):
            seen |= _violations(port, call(port, inputs, params))
    return seen


@pytest.mark.parametrize("port", PORTS, ids=lambda p: p.name)
def test_value_checks_fail_exactly_where_the_verdict_says(port):
    expected = {a for a in port.fails if a.split(".")[1] in VALUE_CHECKS}
    assert _observed(port) == expected


@pytest.mark.parametrize("port", REPAIRED, ids=lambda p: p.name)
@pytest.mark.parametrize("seed", [1, 2])
def test_repaired_variants_conform_on_other_seeds(port, seed):
    assert _observed(port, seed) == set()


@pytest.mark.parametrize("port", [p for p in PORTS if p.kind == "token"], ids=lambda p: p.name)
def test_one_teacher_gets_a_finite_weight_unless_the_formula_breaks(port):
    """The engine feeds K = 1 to the finite and shape checks; only ports that fail finiteness anyway may fail."""
    outs = [call(port, inputs, params) for params in param_sets(port) for _, inputs in batches("token", k=1)]
    assert all(w.shape == (48, 1) for w in outs)
    if "token.finite" not in port.fails:
        assert all(np.isfinite(w).all() for w in outs)


def _split_calls(port: Port, inputs: dict, params) -> list[np.ndarray]:
    n = inputs["probs" if port.kind == "token" else "history"].shape[0]
    whole = call(port, inputs, params)
    rev = call(port, inputs, params, rows=np.arange(n)[::-1])[::-1]
    halves = np.concatenate([call(port, inputs, params, rows=np.arange(n // 2)),
                             call(port, inputs, params, rows=np.arange(n // 2, n))])
    return [whole, rev, halves]


@pytest.mark.parametrize("port", PORTS, ids=lambda p: p.name)
def test_batch_independence_fails_only_for_ae_kd(port):
    differs = False
    for params in param_sets(port):
        for _, inputs in batches(port.kind):
            whole, rev, halves = _split_calls(port, inputs, params)
            same = np.isfinite(whole)
            differs |= not (np.allclose(whole[same], rev[same], rtol=0, atol=_tol(whole.shape[1]))
                            and np.allclose(whole[same], halves[same], rtol=0, atol=_tol(whole.shape[1])))
    assert differs == (f"{port.kind}.batch_independent" in port.fails)


@pytest.mark.parametrize("port", PORTS, ids=lambda p: p.name)
def test_every_port_is_deterministic_and_keeps_its_inputs(port):
    for params in param_sets(port)[:1]:
        for _, inputs in batches(port.kind)[:3]:
            before = {k: v.copy() for k, v in inputs.items()}
            a, b = call(port, inputs, params), call(port, inputs, params)
            assert np.array_equal(a, b, equal_nan=True)
            assert all(np.array_equal(before[k], inputs[k], equal_nan=True) for k in inputs)


def _jumps(port: Port, a: dict, b: dict, params) -> bool:
    """The engine's jump rule near a: ‖Δw‖ at t = 1e-9 still ≥ a quarter of ‖Δw‖ at t = 256e-9 (or NaN)."""
    w0 = call(port, a, params)
    d_end = np.abs(call(port, lerp(a, b, 1e-9), params) - w0).max(axis=1)
    d_back = np.abs(call(port, lerp(a, b, 256e-9), params) - w0).max(axis=1)
    noise = 1.5e-8
    nan = ~np.isfinite(d_end) | ~np.isfinite(d_back)
    return bool((nan | ((d_end > noise) & (d_end >= d_back / 4) & (d_back > noise))).any())


def _any_jump(port: Port) -> bool:
    fams = batches(port.kind)
    for params in param_sets(port)[:2]:
        for i, (_, a) in enumerate(fams):
            for j, (_, b) in enumerate(fams):
                if i != j and _jumps(port, a, b, params):
                    return True
    return False


# ae_kd's weights belong to the batch, not to a point; ca_mkd is NaN exactly where a label's logit is −inf
# (finiteness fails there) and continuous elsewhere: the engine's segments keep a −inf mask fixed, this
# test's straight lerp does not, so it would count the NaN endpoint as a jump.
CONTINUOUS = [p for p in PORTS if f"{p.kind}.regularity" not in p.fails and f"{p.kind}.continuity" not in p.fails
              and p.name not in ("ae_kd", "ca_mkd")]


@pytest.mark.parametrize("port", CONTINUOUS, ids=lambda p: p.name)
def test_no_jump_near_hostile_points(port):
    assert not _any_jump(port)


@pytest.mark.parametrize("name", ["ca_mkd", "ebkd", "mmkd_meta", "mtkd_rl", "dwa", "gradnorm"])
def test_discontinuous_ports_jump(name):
    assert _any_jump(published.BY_NAME[name])


def test_ebkd_has_no_limit_at_all_one_hot_teachers():
    e = np.eye(3)
    base = np.stack([e[0], e[1], e[2]])[None]  # three one-hot teachers: 0/0
    u = np.full(3, 1 / 3)
    for t in (1e-3, 1e-6, 1e-9):
        only_first = base.copy()
        only_first[0, 0] = (1 - t) * e[0] + t * u  # teacher 0 gains entropy, the others stay one-hot
        w = published.BY_NAME["ebkd"].fn(only_first, None)
        assert w[0, 0] == pytest.approx(0.0) and w[0, 1] == pytest.approx(1.0)
        all_three = (1 - t) * base + t * u  # all gain the same entropy
        assert np.allclose(published.BY_NAME["ebkd"].fn(all_three, None), 2 / 3)


def test_gradnorm_update_jumps_where_the_sign_flips():
    port = published.BY_NAME["gradnorm"]
    ck = port.declare["params"][0]
    w, g = ck["weights"], ck["grad_norms"]
    big = w * g
    # choose L(n) for task 0 so that G_0 equals its target exactly, then step across it
    r0 = (big[0] / big.mean()) ** (1 / 1.5)
    lt_rest = np.array([1.0, 1.0])
    lt0 = r0 * lt_rest.sum() / (3 - r0)  # r_0 = lt0 / mean(lt0, 1, 1)
    around = []
    for eps in (-1e-9, 1e-9):
        h = np.array([[[1.0, 1.0, 1.0], [lt0 + eps, 1.0, 1.0]]])
        around.append(port.fn(None, None, history=h, params=ck)[0])
    assert np.abs(around[0] - around[1]).max() > 0.05
    rep = published.BY_NAME["gradnorm_repaired"]
    lam = [rep.fn(None, None, history=np.array([[[1.0, 1.0, 1.0], [lt0 + e, 1.0, 1.0]]]), params=ck)[0]
           for e in (-1e-9, 1e-9)]
    assert np.abs(lam[0] - lam[1]).max() < 1e-6


def test_the_faithful_failures_show_on_the_inputs_the_docstrings_name():
    by = published.BY_NAME
    z = np.zeros((1, 4, 16))
    z[0, 1, 5] = -np.inf  # the label's logit masked under teacher 1
    p = np.exp(z) / np.exp(z).sum(axis=2, keepdims=True)
    y = np.array([5])
    assert np.isnan(by["ca_mkd"].fn(p, None, labels=y, teacher_logits=z)).all()
    z2 = np.zeros((1, 4, 16))
    z2[0, 0, 5] = -1e4  # a cross-entropy 1e4 nats above the others: weight exactly 0
    w = by["ca_mkd"].fn(p, None, labels=y, teacher_logits=z2)
    assert w[0, 0] == 0.0 and np.isclose(w.sum(), 1.0)
    assert np.isfinite(by["ca_mkd_repaired"].fn(p, None, labels=y)).all()
    q = np.eye(16)[[0]]  # a student one-hot on a token the teachers put little mass on
    rl = by["mtkd_rl"].fn(p, None, labels=np.array([3]), student=q, teacher_logits=z,
                          features=np.zeros((1, 8)), params=by["mtkd_rl"].declare["params"][0])
    assert np.isnan(rl).all()
    h = np.array([[[0.0, 1.0, 1.0], [0.0, 1.0, 1.0]]])  # a task whose loss is zero at both steps
    assert np.isnan(by["dwa"].fn(None, None, history=h, step=np.array([5]))).all()
    assert np.isclose(by["dwa_repaired"].fn(None, None, history=h, step=np.array([5])).sum(), 1.0)


def test_the_mmkd_verdict_depends_on_the_checkpoint():
    port = published.BY_NAME["mmkd_meta_probs"]
    calm, sharp = param_sets(port)
    seen = [set(), set()]
    for _, inputs in batches("token"):
        seen[0] |= _violations(port, call(port, inputs, calm))
        seen[1] |= _violations(port, call(port, inputs, sharp))
    assert seen == [set(), {"token.positivity", "token.bounded_influence"}]


# ----------------------------------------------------------------------------- the records


def test_every_scheme_has_a_conforming_repair_when_it_fails():
    for port in PORTS:
        if port.repairs is None:
            repairs = [published.BY_NAME[n] for n in published.REPAIRED[port.name]]
            assert bool(repairs) == bool(port.fails), port.name
            assert not repairs or any(not r.fails for r in repairs), port.name
    assert len(published.SCHEMES) >= 10


def test_reads_lists_every_keyword_the_function_takes():
    from tests.published_inputs import keywords

    for port in PORTS:
        kw = set(keywords(port.fn))
        positional = {"probs", "context"} if port.kind == "token" else {"losses", "sizes"}
        assert kw <= set(port.reads) <= kw | positional, port.name


def test_every_docstring_cites_states_reads_and_verdict():
    for port in PORTS:
        doc = port.fn.__doc__ or ""
        assert "Reads:" in doc and "Verdict:" in doc, port.name
        if port.repairs is None:
            assert "Equation" in doc and any(str(y) in doc for y in range(2015, 2026)), port.name


@pytest.mark.parametrize("bad, match", [
    ({"kind": "task"}, "kind must be one of"),
    ({"fails": ("token.pareto_compatibility",), "why": "x"}, "not token check ids"),
    ({"fails": ("token.positivity",)}, "say why"),
    ({"why": "no failure listed"}, "say why"),
    ({"fails": ("token.finite",), "why": "x", "errors": ("token.finite",)}, "fail and to error"),
])
def test_port_records_refuse_inconsistent_entries(bad, match):
    fields = {"name": "x", "kind": "token", "fn": lambda probs, context: None, "scheme": "X", "reads": ()}
    with pytest.raises(ValueError, match=match):
        Port(**{**fields, **bad})


def test_expected_covers_every_check_of_the_kind():
    for port in PORTS:
        assert list(port.expected) == list(CHECK_IDS[port.kind])
        assert {a for a, v in port.expected.items() if v == "fail"} == set(port.fails)
        assert {a for a, v in port.expected.items() if v == "error"} == set(port.errors)
    assert published.BY_NAME["ae_kd"].expected["token.regularity"] == "error"


@pytest.mark.parametrize("name", ["uncertainty_weighting", "uncertainty_weighting_repaired", "gradnorm",
                                  "gradnorm_repaired", "dwa", "dwa_repaired"])
def test_a_single_task_gets_importance_one(name):
    port = published.BY_NAME[name]
    inputs = {"losses": np.ones((5, 1, 4)), "sizes": np.ones((5, 1)), "history": np.ones((5, 2, 1)),
              "step": np.full(5, 9)}
    for params in param_sets(port):
        assert call(port, inputs, params).tolist() == [[1.0]] * 5


def test_build_makes_an_operator_and_explains_a_keyword_the_decorator_lacks():
    op = published.BY_NAME["hinton_kd"].build(register=False)
    assert op.name == "hinton_kd" and op.scale == "token"
    odd = Port("odd", "token", published.BY_NAME["hinton_kd"].fn, "X", (), declare={"no_such_keyword": 1})
    with pytest.raises(RuntimeError, match="does not take"):
        odd.build(register=False)
