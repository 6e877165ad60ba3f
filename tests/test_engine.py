"""Every check of the engine on an operator that satisfies it and one that violates it."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

import axiomcheck as ac
from tests.helpers import SCALE_OPS, context, softmax, softmax_bounds, task, token, variant

SCALES = ("token", "task", "context")
FAST = dict(max_examples=30, sweep_size=64)


def status(report: ac.Report, prop: str) -> str:
    matches = [r for r in report.results if ac.AXIOMS[r.axiom].property == prop]
    assert len(matches) == 1, (prop, report.statuses())
    return matches[0].status


def result(report: ac.Report, prop: str) -> ac.Result:
    return next(r for r in report.results if ac.AXIOMS[r.axiom].property == prop)


@pytest.mark.parametrize("scale", SCALES)
def test_reference_operator_passes_every_check(scale):
    make, base, bounds = SCALE_OPS[scale]
    report = ac.verify(make(base, name=f"ref_{scale}", bounds=bounds), **FAST)
    assert report.passed, {r.axiom: r.message for r in report.results if not r.ok}
    assert all(r.status in ("pass", "skipped") for r in report.results)


@pytest.mark.parametrize("scale", SCALES)
def test_normalization_violated(scale):
    def scaled(w, *args):
        return 0.97 * w

    report = ac.verify(variant(scale, scaled, bounds=(1e-3, 0.99)), **FAST)
    r = result(report, "normalization")
    assert r.status == "fail"
    assert "must be 1" in r.message and "got 0.97" in r.message
    assert r.counterexample and "input" in r.counterexample
    # the operator is a closure with no importable name: the reproduction is a Python call
    assert r.reproduce.startswith("ac.verify(") and "seed=0" in r.reproduce and r.axiom in r.reproduce
    # the other value checks still hold
    assert status(report, "positivity") == "pass"
    assert status(report, "bounds") == "pass"


@pytest.mark.parametrize("scale", SCALES)
def test_positivity_violated_by_underflow(scale):
    def underflow(w, *args):
        if w.shape[-1] == 1:
            return w
        w = w.copy()
        w[..., 0] = 0.0  # teacher 0 gets exactly 0.0
        return w / w.sum(axis=-1, keepdims=True)

    report = ac.verify(variant(scale, underflow, bounds=None), **FAST)
    assert status(report, "positivity") == "fail"
    assert "must be > 0" in result(report, "positivity").message
    assert status(report, "normalization") == "pass"


@pytest.mark.parametrize("scale", SCALES)
def test_declared_bounds_violated(scale):
    make, base, (lo, hi) = SCALE_OPS[scale]
    op = make(base, name=f"tight_{scale}", bounds=(lo, 0.26))
    report = ac.verify(op, **FAST)
    r = result(report, "bounds")
    assert r.status == "fail" and "[w_min, w_max]" in r.message
    assert status(report, "normalization") == "pass"


def test_bounds_pass_reports_observed_range():
    make, base, bounds = SCALE_OPS["context"]
    r = result(ac.verify(make(base, name="c", bounds=bounds), **FAST), "bounds")
    assert r.status == "pass"
    est = r.estimate
    assert len(est["observed_min"]) == 4 and min(est["observed_min"]) >= bounds[0]
    assert max(est["observed_max"]) <= bounds[1]


# ---------------------------------------------------------------- regularity


def argmax_token(probs, ctx):
    """0.6 to the lowest-entropy teacher, 0.4/(K−1) to the others: bounded, positive, discontinuous."""
    from tests.helpers import entropy

    h = entropy(probs)
    k = h.shape[1]
    w = np.full(h.shape, 0.4 / max(k - 1, 1))
    w[np.arange(h.shape[0]), np.argmin(h, axis=1)] = 0.6 if k > 1 else 1.0
    return w


def test_hard_argmax_selection_is_a_discontinuity():
    report = ac.verify(token(argmax_token, name="argmax", bounds=(0.1, 0.6)), **FAST)
    r = result(report, "regularity")
    assert r.status == "fail"
    assert "jump" in r.message and "1/r" in r.message
    assert r.estimate["discontinuous_pairs"] > 0
    assert "other_input" in r.counterexample
    # everything else about it is fine
    assert set(report.failing()) == {"token.regularity"}


def test_softmax_of_linear_map_is_lipschitz_and_estimate_is_a_lower_bound():
    make, base, bounds = SCALE_OPS["token"]
    r = result(ac.verify(make(base, name="lin", bounds=bounds, lipschitz=10.0), **FAST), "regularity")
    assert r.status == "pass", r.message
    est = r.estimate
    # d softmax / d z ≤ 1/2 per unit of score; the scores move by ≤ 3 per unit of ‖Δp‖∞
    assert 0 < est["lipschitz_lower_bound"] <= 1.5
    assert est["discontinuous_pairs"] == 0 and est["non_lipschitz_pairs"] == 0
    assert est["radii"][0] > est["radii"][-1] and est["metric"].startswith("max(‖Δprobs‖∞")


def test_declared_lipschitz_below_the_estimate_fails():
    make, base, bounds = SCALE_OPS["token"]
    r = result(ac.verify(make(base, name="lin", bounds=bounds, lipschitz=0.05), **FAST), "regularity")
    assert r.status == "fail"
    assert "declared L = 0.05" in r.message and "lower bound" in r.message


def entropy_softmax(probs, ctx):
    from tests.helpers import entropy

    return softmax(-entropy(probs))


def test_entropy_at_the_simplex_edge_is_continuous_but_not_lipschitz():
    bounds = softmax_bounds(np.log(16))
    r = result(ac.verify(token(entropy_softmax, name="ent", bounds=bounds), **FAST), "regularity")
    assert r.status == "pass"
    assert r.estimate["non_lipschitz_pairs"] > 0 and r.estimate["discontinuous_pairs"] == 0
    assert "no Lipschitz constant" in r.message
    # the same operator with a declared L cannot keep it
    r = result(ac.verify(token(entropy_softmax, name="ent", bounds=bounds, lipschitz=1.0), **FAST), "regularity")
    assert r.status == "fail"


def step_context(c):
    k = np.arange(4.0)
    return softmax(np.where(c[:, :1] > 0, 1.0, 0.0) * k[None, :])


def test_context_step_is_a_discontinuity_and_task_jump_too():
    r = result(ac.verify(context(step_context, name="step", bounds=softmax_bounds(3)), **FAST), "regularity")
    assert r.status == "fail" and "jump" in r.message

    def rounded(losses, sizes):
        return softmax(-np.round(losses / (1 + losses), 1) * 3)

    r = result(ac.verify(task(rounded, name="round", bounds=softmax_bounds(3)), **FAST), "regularity")
    assert r.status == "fail"
    r = result(ac.verify(task(SCALE_OPS["task"][1], name="smooth", bounds=SCALE_OPS["task"][2]), **FAST), "regularity")
    assert r.status == "pass"


# ---------------------------------------------------------------- safety


def safe_token(probs, ctx):
    """Per-token weights; on S = {3, 7} the weights are sorted into the safety order 0 > 2 > 1 > 3."""
    w = softmax(-3.0 * probs[..., 0])
    out = np.repeat(w[:, :, None], probs.shape[2], axis=2)
    if w.shape[1] == 4:
        ranked = -np.sort(-w, axis=1)  # descending
        sorted_w = np.empty_like(w)
        sorted_w[:, [0, 2, 1, 3]] = ranked
        out[:, :, [3, 7]] = sorted_w[:, :, None]
    return out


def test_token_safety_holds_and_is_broken():
    safety = ac.Safety(tokens=[3, 7], order=[0, 2, 1, 3])
    good = token(safe_token, name="safe", bounds=softmax_bounds(3), safety=safety)
    rep = ac.verify(good, **FAST)
    assert status(rep, "safety") == "pass", result(rep, "safety").message
    assert rep.passed
    bad = token(safe_token, name="unsafe", bounds=softmax_bounds(3), safety=ac.Safety(tokens=[3, 7], order=[1, 2, 0]))
    r = result(ac.verify(bad, **FAST), "safety")
    assert r.status == "fail" and "ranked safer" in r.message
    assert "token i=" in r.message and r.counterexample["pair"]
    # weights that ignore S break the order somewhere
    plain = token(SCALE_OPS["token"][1], name="plain", bounds=softmax_bounds(3), safety=safety)
    assert status(ac.verify(plain, **FAST), "safety") == "fail"


def test_context_safety_holds_and_is_broken():
    pred = lambda c: c[:, 0] > 0  # noqa: E731
    good = context(SCALE_OPS["context"][1], name="ord", bounds=softmax_bounds(1.5),
                   safety=ac.Safety(contexts=pred, order=[3, 2, 1, 0]))
    rep = ac.verify(good, **FAST)
    assert status(rep, "safety") == "pass", result(rep, "safety").message
    bad = good.replace(safety=ac.Safety(contexts=pred, order=[0, 1]))
    r = result(ac.verify(bad, **FAST), "safety")
    assert r.status == "fail" and "safety-critical contexts" in r.message


def test_safety_skipped_when_undeclared_or_never_sampled():
    make, base, bounds = SCALE_OPS["context"]
    assert status(ac.verify(make(base, name="c", bounds=bounds), **FAST), "safety") == "skipped"
    never = make(base, name="c2", bounds=bounds, safety=ac.Safety(contexts=lambda c: c[:, 0] > 1e12, order=[3, 0]))
    r = result(ac.verify(never, **FAST), "safety")
    assert r.status == "skipped" and "no sampled input" in r.message


def test_safety_outside_the_world_is_an_error_not_a_crash():
    op = token(SCALE_OPS["token"][1], name="plain", bounds=softmax_bounds(3),
               safety=ac.Safety(tokens=[3, 7], order=[0, 2, 1]))
    r = result(ac.verify(op, vocab=6, **FAST), "safety")
    assert r.status == "error" and "outside the world's vocabulary" in r.message
    r = result(ac.verify(op.replace(safety=ac.Safety(tokens=[3], order=[0, 5])), **FAST), "safety")
    assert r.status == "error" and "names teacher 5" in r.message


# ---------------------------------------------------------------- Pareto


def test_pareto_with_valid_and_negative_importance():
    make, base, bounds = SCALE_OPS["task"]

    def by_size(losses, sizes):
        return sizes / sizes.sum(axis=1, keepdims=True)

    def centred(losses, sizes):
        m = losses.mean(axis=2)
        lam = 1.0 / m.shape[1] + (m - m.mean(axis=1, keepdims=True))
        return lam

    rep = ac.verify(make(base, name="t", bounds=bounds, importance=by_size), **FAST)
    assert status(rep, "pareto") == "pass" and rep.passed
    r = result(ac.verify(make(base, name="t", bounds=bounds, importance=centred), **FAST), "pareto")
    assert r.status == "fail" and "must be ≥ 0" in r.message and r.counterexample["importance"]
    r = result(ac.verify(make(base, name="t", bounds=bounds), **FAST), "pareto")
    assert r.status == "skipped" and "importance" in r.message


# ---------------------------------------------------------------- well-posedness


def test_nan_on_far_out_contexts_is_a_finite_failure():
    def nan_far(w, c):
        w = w.copy()
        w[np.abs(c).max(axis=1) > 100] = np.nan
        return w

    report = ac.verify(variant("context", nan_far), **FAST)
    assert status(report, "finite") == "fail"
    assert not report.passed
    # NaN never passes a value check
    assert status(report, "normalization") == "fail"


def test_wrong_shape_and_dtype_are_errors_with_a_full_report():
    wrong = context(lambda c: np.full((c.shape[0], 3), 1 / 3), name="three", bounds=(0.2, 0.5))
    rep = ac.verify(wrong, **FAST)
    assert len(rep.results) == len(ac.axioms.for_scale("context"))
    assert status(rep, "shape") == "error" and "(256, 3)" not in result(rep, "shape").message
    assert "got (64, 3)" in result(rep, "shape").message
    assert all(r.status == "error" for r in rep.results)
    ints = context(lambda c: np.ones((c.shape[0], 4), dtype=np.int64), name="ints")
    r = result(ac.verify(ints, **FAST), "shape")
    assert r.status == "error" and "floating" in r.message


def test_operator_that_raises_on_some_inputs_is_reported_with_the_input():
    def picky(losses, sizes):
        if (losses > 1e5).any():
            raise ValueError("loss too large")
        return softmax(-losses / (1 + losses))

    rep = ac.verify(task(picky, name="picky", bounds=softmax_bounds(1)), **FAST)
    assert not rep.passed
    msgs = [r.message for r in rep.results if r.status == "error"]
    assert msgs and all("ValueError: loss too large" in m for m in msgs)
    assert any("huge_losses" in m for m in msgs)
    assert not any(r.status == "pass" and ac.AXIOMS[r.axiom].property == "normalization" for r in rep.results)


def test_hanging_operator_times_out():
    def slow(c):
        time.sleep(2.0)
        return np.full((c.shape[0], 4), 0.25)

    t0 = time.perf_counter()
    rep = ac.verify(context(slow, name="slow", bounds=(0.25, 0.25)), timeout=0.2, **FAST)
    assert time.perf_counter() - t0 < 2.0
    assert all(r.status == "error" for r in rep.results)
    assert "time limit" in rep.results[0].message


def test_nondeterminism_detected_and_not_mistaken_for_a_jump():
    rng = np.random.default_rng(0)

    def noisy(w, *args):
        return w + 1e-4 * rng.random(w.shape) * 0 + rng.random(w.shape) * 1e-4

    rep = ac.verify(variant("context", noisy, bounds=None), **FAST)
    assert status(rep, "deterministic") == "fail"
    assert status(rep, "regularity") == "error" and "non-deterministic" in result(rep, "regularity").message
    assert status(rep, "batch_independent") == "error"


def test_batch_dependence_detected():
    def centred(w, c):
        return softmax(np.tanh(c[:, :1] - c[:, :1].mean()) * np.arange(4.0)[None])

    rep = ac.verify(variant("context", centred), **FAST)
    r = result(rep, "batch_independent")
    assert r.status == "fail" and "rest of its batch" in r.message
    assert status(rep, "deterministic") == "pass"


def test_single_teacher_well_posedness():
    def breaks_at_k1(probs, ctx):
        w = softmax(2.0 * probs[..., 0])
        return w / (w.shape[1] - 1) if w.shape[1] == 1 else w  # 1/0 → inf at K = 1

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = ac.verify(token(breaks_at_k1, name="k1", bounds=softmax_bounds(2)), **FAST)
    r = result(rep, "finite")
    assert r.status == "fail" and "K = 1" in r.message


# ---------------------------------------------------------------- reports and reproducibility


def test_same_seed_same_report_and_strict_json():
    op = variant("token", lambda w, *a: 0.9 * w, bounds=None)
    a = ac.verify(op, seed=3, **FAST).to_dict()
    b = ac.verify(op, seed=3, **FAST).to_dict()
    a.pop("elapsed_s"), b.pop("elapsed_s")
    assert a == b
    text = ac.verify(variant("context", lambda w, c: np.where(c > 100, np.nan, 1.0)[:, :1] * w), **FAST).to_json()
    # Strict JSON: no NaN/Infinity tokens (a message may still say "NaN on 2%").
    json.loads(text, parse_constant=lambda token: pytest.fail(f"non-strict JSON token {token}"))


def test_counterexample_is_minimal_batch_and_replays():
    op = variant("context", lambda w, c: 0.5 * w, bounds=None)
    r = result(ac.verify(op, **FAST), "normalization")
    ce = r.counterexample
    ctx = np.array(ce["input"]["context"])
    assert ctx.shape == (1, 3)
    assert abs(op(ctx).sum() - 0.5) < 1e-12
    # a closure has no importable name, so the reproduction is a Python call that replays the check
    assert r.reproduce.startswith("ac.verify(op, seed=0") and "axioms=['context.normalization']" in r.reproduce
    FAST_MAX = FAST["max_examples"]
    assert f"max_examples={FAST_MAX}" in r.reproduce
    replay = eval(r.reproduce.split("  #")[0], {"ac": ac, "op": op})
    assert replay["context.normalization"].status == "fail"


def test_verify_by_registered_name_and_unknown_axiom():
    make, base, bounds = SCALE_OPS["context"]
    op = make(base, name="registered_for_test", bounds=bounds, register=True)
    try:
        rep = ac.verify("registered_for_test", axioms=["context.normalization"], **FAST)
        assert [r.axiom for r in rep.results] == ["context.normalization"]
        # registered only in this process, so a new shell would not know the name: the Python call
        assert rep.results[0].reproduce.startswith("ac.verify(op, ")
    finally:
        ac.unregister(op.name)
    with pytest.raises(KeyError, match="unknown axiom"):
        ac.verify(op, axioms=["context.nope"])


def test_context_operator_told_k_through_a_teachers_keyword():
    def adaptive(c, teachers=4):
        return softmax(np.tanh(c[:, :1]) * np.arange(float(teachers))[None, :])

    op = context(adaptive, name="adaptive", bounds=softmax_bounds(3, k=3))
    rep = ac.verify(op, teachers=3, **FAST)
    assert rep.passed, rep.failing()
    # K = 1 is exercised too: an operator that breaks there is caught
    def breaks_at_one(c, teachers=4):
        w = adaptive(c, teachers)
        return w / (teachers - 1) if teachers == 1 else w

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = result(ac.verify(context(breaks_at_one, name="b1", bounds=softmax_bounds(3)), **FAST), "finite")
    assert r.status == "fail" and "K = 1" in r.message


def test_batch_dependence_is_not_also_called_a_discontinuity():
    def standardized(w, c):
        z = (c[:, :1] - c[:, :1].mean()) / (c[:, :1].std() + 1.0)
        return softmax(np.tanh(z) * np.arange(4.0)[None])

    rep = ac.verify(variant("context", standardized), **FAST)
    assert status(rep, "batch_independent") == "fail"
    assert status(rep, "regularity") == "error" and "rest of its batch" in result(rep, "regularity").message
