"""The weight guard: conforming weights pass all four properties, each violation is counted and located
(step, position, token) under jax.jit, states merge, and the state turns into `runtime.*` Results that
the report writers show as observed in training."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import axiomcheck as ac
from axiomcheck.kernels import (
    GuardSpec,
    guard_init,
    guard_merge,
    guard_merge_runs,
    guard_report,
    guard_results,
    guard_update,
    kd_loss,
    training_run,
)
from axiomcheck.report.results import Report, RuntimeEstimate

K, N, V = 3, 6, 5
S = (1, 3)  # safety-critical token ids
PAIRS = ((0, 1), (0, 2))  # teacher 0 is the safest
SPEC = GuardSpec(teachers=K, bounds=(0.1, 0.7), safety_tokens=S, safety_pairs=PAIRS)
IDS = ["runtime.normalization", "runtime.positivity", "runtime.bounds", "runtime.safety"]


def conforming(per_token: bool = True) -> np.ndarray:
    """Weights in the bounds, normalized, with teacher 0 the largest everywhere."""
    base = np.array([0.5, 0.3, 0.2], np.float32)
    w = np.broadcast_to(base[:, None, None], (K, N, V)).copy()
    return w if per_token else w[:, :, 0].copy()


@pytest.fixture(scope="module")
def update():
    """guard_update under jax.jit (the step number traced, the spec static)."""
    return jax.jit(lambda state, w, step: guard_update(state, w, step, SPEC))


def run_steps(update, steps):
    state = guard_init(SPEC)
    for t, w in steps:
        state = update(state, jnp.asarray(w), t)
    return state


def by_id(results):
    return {r.axiom: r for r in results}


# ----------------------------------------------------------------------------- conforming weights


@pytest.mark.parametrize("per_token", [True, False])
def test_conforming_weights_pass_all_four(update, per_token):
    w = conforming(per_token)
    state = run_steps(update, [(t, w) for t in range(4)])
    assert state.violations.tolist() == [0, 0, 0, 0]
    rows = N * V if per_token else N
    safety_rows = N * len(S) if per_token else N  # token-independent weights apply to S at every position
    assert state.checked.tolist() == [4 * rows, 4 * rows, 4 * rows, 4 * safety_rows]
    assert state.first_step.tolist() == [-1, -1, -1, -1]
    np.testing.assert_allclose(state.w_min, [0.5, 0.3, 0.2], rtol=1e-6)
    np.testing.assert_allclose(state.w_max, [0.5, 0.3, 0.2], rtol=1e-6)
    assert float(state.max_norm_error) <= 1e-6
    assert float(state.min_safety_margin) == pytest.approx(0.2, rel=1e-6)
    res = by_id(guard_results(state, SPEC))
    assert list(res) == IDS
    assert {r.status for r in res.values()} == {"pass"}
    assert "held on all" in res["runtime.normalization"].message
    assert res["runtime.bounds"].estimate.observed_min == pytest.approx([0.5, 0.3, 0.2], rel=1e-6)


# ----------------------------------------------------------------------------- each property violated


def test_normalization_violation_is_counted_and_located(update):
    bad = conforming()
    bad[:, 4, 2] *= 1.2  # sum 1.2 at position 4, token 2 (order and bounds kept)
    later = conforming()
    later[:, 0, :] *= 1.1  # 5 more vectors at step 9, position 0
    state = run_steps(update, [(0, conforming()), (7, bad), (8, conforming()), (9, later)])
    assert state.violations.tolist() == [1 + V, 0, 0, 0]
    assert state.first_step[0] == 7 and state.first_position[0] == 4 and state.first_token[0] == 2
    assert float(state.first_value[0]) == pytest.approx(0.2, abs=1e-6)
    assert float(state.max_norm_error) == pytest.approx(0.2, abs=1e-6)
    res = by_id(guard_results(state, SPEC))
    assert [res[i].status for i in IDS] == ["fail", "pass", "pass", "pass"]
    r = res["runtime.normalization"]
    assert "first at step 7, position 4, token 2" in r.message and f"{1 + V} of {4 * N * V}" in r.message
    assert r.counterexample == {"step": 7, "position": 4, "token": 2,
                                "weights": pytest.approx([0.6, 0.36, 0.24], rel=1e-6)}
    assert isinstance(r.estimate, RuntimeEstimate) and r.estimate.violations == 1 + V


def test_positivity_violation_also_breaks_the_declared_lower_bound(update):
    bad = conforming()
    bad[:, 2, 0] = [0.6, 0.4, 0.0]  # a zero weight: not positive, and below w_min = 0.1
    state = run_steps(update, [(0, conforming()), (3, bad)])
    assert state.violations.tolist() == [0, 1, 1, 0]
    assert state.first_step.tolist() == [-1, 3, 3, -1]
    assert state.first_position[1] == 2 and state.first_token[1] == 0
    assert state.first_detail[1] == 2 and float(state.first_value[1]) == 0.0  # teacher 2's weight
    res = by_id(guard_results(state, SPEC))
    assert [res[i].status for i in IDS] == ["pass", "fail", "fail", "pass"]
    assert "got w_2 = 0 first at step 3, position 2, token 0" in res["runtime.positivity"].message


def test_bounds_violation_names_the_teacher_outside(update):
    bad = conforming()
    bad[:, 5, 4] = [0.8, 0.1, 0.1]  # teacher 0 above w_max = 0.7; normalized, positive, order kept
    bad[:, 5, 3] = [0.75, 0.15, 0.1]  # an earlier token of the same position, also outside
    state = run_steps(update, [(2, bad), (3, bad)])
    assert state.violations.tolist() == [0, 0, 4, 0]
    assert state.first_step[2] == 2 and state.first_position[2] == 5 and state.first_token[2] == 3
    assert state.first_detail[2] == 0 and float(state.first_value[2]) == pytest.approx(0.75)
    r = by_id(guard_results(state, SPEC))["runtime.bounds"]
    assert r.status == "fail" and "got w_0 = 0.75 first at step 2, position 5, token 3" in r.message
    assert r.estimate.observed_max[0] == pytest.approx(0.8) and r.estimate.worst == pytest.approx(0.1, abs=1e-6)


def test_safety_violation_only_on_the_safety_critical_tokens(update):
    off_s = conforming()
    off_s[:, 1, 0] = [0.2, 0.5, 0.3]  # order broken on token 0, which is not in S: no violation
    on_s = off_s.copy()
    on_s[:, 3, 3] = [0.3, 0.25, 0.45]  # token 3 ∈ S: teacher 2 above the safest
    state = run_steps(update, [(0, off_s), (1, off_s), (5, on_s)])
    assert state.violations.tolist() == [0, 0, 0, 1]
    assert state.first_step[3] == 5 and state.first_position[3] == 3 and state.first_token[3] == 3
    assert state.first_detail[3] == 1  # the pair (0, 2)
    assert float(state.first_value[3]) == pytest.approx(-0.15)
    res = by_id(guard_results(state, SPEC))
    assert [res[i].status for i in IDS] == ["pass", "pass", "pass", "fail"]
    r = res["runtime.safety"]
    assert "teacher 0 is ranked safer than teacher 2" in r.message and "step 5, position 3, token 3" in r.message
    assert r.estimate.first_pair == [0, 2]


def test_token_independent_weights_are_ordered_at_every_position(update):
    w = conforming(per_token=False)
    w[:, 4] = [0.3, 0.5, 0.2]
    state = run_steps(update, [(6, w)])
    assert state.violations.tolist() == [0, 0, 0, 1]
    assert state.first_position[3] == 4 and state.first_token[3] == -1
    assert "token" not in guard_results(state, SPEC)[3].counterexample


def test_nan_and_inf_break_the_properties_they_take_part_in_and_are_counted(update):
    bad = conforming()
    bad[1, 0, 1] = np.nan  # token 1 is in S: the pair (0, 1) compares with NaN there
    bad[2, 5, 0] = np.inf  # token 0 is not in S; +inf is > 0, so positivity holds there (as in verify)
    state = run_steps(update, [(4, bad)])
    assert state.violations.tolist() == [2, 1, 2, 1]
    assert int(state.nonfinite) == 2 and np.isinf(float(state.max_norm_error))
    assert np.isfinite(np.asarray(state.w_min)).all()  # the range keeps the finite weights only
    assert "held NaN or ±inf" in by_id(guard_results(state, SPEC))["runtime.normalization"].message


def test_positions_report_the_caller_s_sample_index(update):
    bad = conforming()
    bad[:, 2, 0] *= 2.0
    state = guard_update(guard_init(SPEC), jnp.asarray(bad), 11, SPEC, positions=jnp.arange(100, 100 + N))
    assert state.first_position[0] == 102 and state.first_step[0] == 11


def test_nothing_declared_means_skipped_with_the_range_reported():
    spec = GuardSpec(teachers=K)
    state = guard_update(guard_init(spec), jnp.asarray(conforming()), 0, spec)
    res = by_id(guard_results(state, spec))
    assert [res[i].status for i in IDS] == ["pass", "pass", "skipped", "skipped"]
    assert "no bounds declared; observed in training: w_0 ∈ [0.5, 0.5]" in res["runtime.bounds"].message
    assert [r.status for r in guard_results(guard_init(spec), spec)] == ["skipped"] * 4


# ----------------------------------------------------------------------------- inside a training step


def test_guard_rides_in_a_jitted_scanned_train_step_and_leaves_the_loss_alone():
    rng = np.random.default_rng(0)
    teacher = jnp.asarray(rng.standard_normal((K, N, V)), jnp.float32)
    student0 = jnp.asarray(rng.standard_normal((N, V)), jnp.float32)
    w_all = np.stack([conforming()] * 5)
    w_all[3, :, 2, 1] = [0.2, 0.5, 0.3]  # step 3: the order broken on token 1 ∈ S at position 2
    w_all = jnp.asarray(w_all)

    @jax.jit
    def train(student, ws):
        def step(carry, xs):
            z, state = carry
            t, w = xs
            loss, g = jax.value_and_grad(lambda z: kd_loss(z, teacher, w))(z)
            return (z - 0.1 * g, guard_update(state, w, t, SPEC)), loss

        return jax.lax.scan(step, (student, guard_init(SPEC)), (jnp.arange(5), ws))

    (_, state), losses = train(student0, w_all)
    assert state.violations.tolist() == [0, 0, 0, 1]
    assert (state.first_step[3], state.first_position[3], state.first_token[3]) == (3, 2, 1)

    @jax.jit
    def plain(student, ws):
        def step(z, w):
            loss, g = jax.value_and_grad(lambda z: kd_loss(z, teacher, w))(z)
            return z - 0.1 * g, loss

        return jax.lax.scan(step, student, ws)[1]

    np.testing.assert_array_equal(losses, plain(student0, w_all))


def test_guard_inside_a_differentiated_loss_with_learned_weights():
    rng = np.random.default_rng(1)
    teacher = jnp.asarray(rng.standard_normal((K, N, V)), jnp.float32)
    student = jnp.asarray(rng.standard_normal((N, V)), jnp.float32)

    def loss(logits_w):  # the weights are a function of the parameters being trained
        w = jax.nn.softmax(logits_w, axis=0)
        return kd_loss(student, teacher, w), guard_update(guard_init(SPEC), w, 0, SPEC)

    params = jnp.zeros((K, N))
    (value, state), grad = jax.jit(jax.value_and_grad(loss, has_aux=True))(params)
    assert state.violations.tolist() == [0, 0, 0, 0]  # uniform weights: w_0 = w_1 = w_2 keeps the order
    assert state.checked.tolist() == [N, N, N, N]
    # the gradient is the loss's alone (the guard adds none); jitted vs eager float32 differ in the last ulps
    np.testing.assert_allclose(grad, jax.grad(lambda p: kd_loss(student, teacher, jax.nn.softmax(p, axis=0)))(params),
                               rtol=1e-5, atol=1e-9)


def test_vmapped_runs_merge_to_the_earliest_first_violation():
    a, b = conforming(), conforming()
    a[:, 1, 0] *= 1.2  # run 0 breaks normalization at position 1 (step 9)
    b[:, 4, 4] *= 1.2  # run 1 at position 4 (step 2)
    steps = jnp.asarray([9, 2])
    batched = jax.jit(jax.vmap(lambda w, t: guard_update(guard_init(SPEC), w, t, SPEC)))(jnp.stack([a, b]), steps)
    merged = guard_merge_runs(batched)
    assert merged.violations.tolist() == [2, 0, 0, 0]
    assert (merged.first_step[0], merged.first_position[0]) == (2, 4)
    one = jax.jit(lambda w, t: guard_update(guard_init(SPEC), w, t, SPEC))
    pairwise = guard_merge(one(a, 9), one(b, 2))
    assert pairwise.first_position.tolist() == merged.first_position.tolist()
    res = guard_results(batched, SPEC)  # a state with a leading run axis is merged on the way
    assert "first at step 2, position 4, token 4" in res[0].message and res[0].estimate.violations == 2
    assert "over 1 training step in each of 2 runs" in res[0].message and res[0].estimate.runs == 2


def test_counts_saturate_instead_of_wrapping():
    state = guard_init(SPEC)._replace(checked=jnp.full((4,), np.iinfo(np.int32).max - 3, jnp.int32))
    state = guard_update(state, jnp.asarray(conforming()), 0, SPEC)
    assert state.checked.tolist() == [np.iinfo(np.int32).max] * 4


def test_bfloat16_weights_are_checked_at_their_own_precision():
    w = jnp.asarray(conforming()).astype(jnp.bfloat16)  # 0.3 and 0.2 round: the sum is 1 within bf16 ulps
    state = guard_update(guard_init(SPEC), w, 0, SPEC)
    assert state.violations.tolist() == [0, 0, 0, 0]
    assert float(state.tolerance) == pytest.approx(8 * 2.0 ** -7 * K)


# ----------------------------------------------------------------------------- the spec


def test_spec_from_an_operator_takes_its_bounds_and_token_safety_order():
    tok = ac.token_operator(lambda p, c: np.full(p.shape[:2], 1 / p.shape[1]), name="g_tok", bounds=(0.1, 0.6),
                            safety=ac.Safety(tokens=[2, 5], order=[1, 0, 2]), register=False)
    spec = GuardSpec.from_operator(tok, 3)
    assert spec.bounds == (0.1, 0.6) and spec.safety_tokens == (2, 5)
    assert spec.safety_pairs == ((1, 0), (1, 2), (0, 2))
    ctx = ac.context_operator(lambda c: np.full((c.shape[0], 3), 1 / 3), name="g_ctx", bounds=(0.2, 0.5),
                              register=False)
    comp = GuardSpec.from_operator(ac.compose(tok, ctx), 3)
    assert comp.safety_pairs == spec.safety_pairs
    assert comp.bounds == pytest.approx(tuple(ac.derived_bounds([tok, ctx], 3)["bounds"]))


@pytest.mark.parametrize("kwargs, needle", [
    ({"bounds": (0.5, 0.1)}, "w_min ≤ w_max"),
    ({"safety_tokens": (1,), "safety_pairs": ((0, 3),)}, "two different teachers in 0..2"),
    ({"safety_tokens": (1,)}, "both safety_tokens and safety_pairs"),
    ({"tolerance": -1.0}, "tolerance must be a finite number ≥ 0"),
])
def test_bad_spec_is_refused(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        GuardSpec(teachers=K, **kwargs)


def test_bad_weights_shape_or_token_outside_the_vocabulary_is_refused():
    with pytest.raises(ValueError, match=r"\[K, N\] or \[K, N, V\] with K = 3"):
        guard_update(guard_init(SPEC), jnp.ones((2, N)), 0, SPEC)
    with pytest.raises(ValueError, match="token 3 is outside the vocabulary V = 2"):
        guard_update(guard_init(SPEC), jnp.ones((K, N, 2)) / K, 0, SPEC)


# ----------------------------------------------------------------------------- results and reports


def _failing_report(update):
    bad = conforming()
    bad[:, 3, 3] = [0.3, 0.25, 0.45]
    return guard_report(run_steps(update, [(0, conforming()), (5, bad)]), SPEC, "my_op", "token",
                        reproduce="python train.py", seed=3)


def test_report_round_trips_through_json_with_typed_estimates(update):
    rep = _failing_report(update)
    assert rep.operator == "my_op" and rep.spec["safety"] == {"tokens": list(S), "pairs": [list(p) for p in PAIRS]}
    again = Report.from_dict(json.loads(rep.to_json()))
    assert again.statuses() == rep.statuses() == dict(zip(IDS, ["pass", "pass", "pass", "fail"], strict=True))
    assert isinstance(again["runtime.safety"].estimate, RuntimeEstimate)
    assert again["runtime.safety"].estimate.first_step == 5
    assert all(r.reproduce == "python train.py" and r.seed == 3 for r in again.results)


def test_catalogue_rows_of_the_runtime_ids():
    for axiom in IDS:
        a = ac.AXIOMS[axiom]
        assert a.scale == "runtime" and a.kind == "runtime" and a.property == axiom.split(".")[1]
    assert "observed in training" in ac.explain("runtime.safety")


def test_the_report_writers_show_runtime_results_as_observed_in_training(update, tmp_path):
    import io

    from axiomcheck.output.files import RUN_JSON_SCHEMA, render, write_all
    from axiomcheck.output.text import Renderer

    run = training_run([_failing_report(update)])
    assert run.exit_code == 1 and [o.axiom for o in run.outcomes()] == IDS
    out = io.StringIO()
    Renderer(out, fancy=False).run(run)
    text = out.getvalue()
    assert "UNEXPECTED, observed in training" in text
    assert "training · my_op · runtime.safety (paper III.5, observed in training): expected pass, got fail" in text
    md = render(run, "markdown")
    assert "observed in training" in md and "runtime.safety" in md
    junit = render(run, "junit")
    assert junit.count('<property name="observed" value="in training" />') == 4
    assert "failures=\"1\"" in junit
    html = render(run, "html")
    assert html.count("<span class='tag train'>observed in training</span>") >= 4
    doc = json.loads(render(run, "json"))
    assert set(RUN_JSON_SCHEMA["required"]) <= set(doc)
    item = doc["suites"][0]["items"][0]
    assert item["report"]["results"][3]["estimate"]["first_position"] == 3
    written = write_all(run, tmp_path / "training")
    assert sorted(p.name for p in written.values()) == ["junit.xml", "report.html", "report.json", "summary.md"]


def test_an_ordinary_result_gets_no_training_label():
    from axiomcheck.output.common import observed_in_training

    assert observed_in_training("runtime.bounds") and not observed_in_training("token.bounded_influence")
    assert not observed_in_training("dynamics.convergence")
