"""Keyword inputs (labels, student, teacher_logits, features, history, step), learned params, task importance.

For every input: an operator that reads it and conforms, and one whose violation
only shows through that input (the same formula with the input frozen passes).
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import axiomcheck as ac
from axiomcheck._softmax import softmax
from axiomcheck.sampling.domain_inputs import WithInputs
from axiomcheck.sampling.domains import DOMAINS, World
from axiomcheck.spec.inputs import INPUTS, keyword_inputs

FAST = dict(max_examples=15)


def _softmax_rows(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _floor(w, eps=0.02):
    return (1 - w.shape[-1] * eps) * w + eps


def statuses(report, *ids):
    return {i: report[i].status for i in ids}


# ----------------------------------------------------------------------------- labels


def ca_mkd_raw(probs, context, *, labels):
    """Softmax over teachers of −CE(p_k, label): NaN when every teacher gives the label probability 0."""
    p = probs[np.arange(len(labels)), :, labels]
    return _softmax_rows(np.log(p))


def ca_mkd_floored(probs, context, *, labels):
    """Smoothed confidence in the label: log(p + 0.01) is Lipschitz (log p itself is not, near p = 0)."""
    p = probs[np.arange(len(labels)), :, labels]
    return _floor(_softmax_rows(np.log(p + 0.01)))


def ca_mkd_frozen(probs, context):
    """The same formula with the label frozen at 0 (the workaround of baking a label in)."""
    return ca_mkd_floored(probs, context, labels=np.zeros(len(probs), dtype=np.int64))


def test_labels_are_passed_as_int64_ids_in_range():
    seen = {}

    def spy(probs, context, *, labels):
        seen.setdefault("dtype", labels.dtype)
        assert labels.shape == probs.shape[:1]
        assert ((labels >= 0) & (labels < probs.shape[2])).all()
        return np.full(probs.shape[:2], 1.0 / probs.shape[1])

    rep = ac.verify(ac.token_operator(spy, name="spy", register=False), **FAST)
    assert rep.passed, rep.failing()
    assert seen["dtype"] == np.int64


def test_a_weight_that_collapses_when_the_label_has_probability_zero_fails_through_labels():
    raw = ac.verify(ac.token_operator(ca_mkd_raw, name="ca_raw", register=False), **FAST)
    assert raw["token.positivity"].status == "fail"
    assert raw["token.finite"].status == "fail"
    assert "labels" in raw["token.finite"].counterexample["input"]
    floored = ac.verify(ac.token_operator(ca_mkd_floored, name="ca_floor", register=False), **FAST)
    assert statuses(floored, "token.normalization", "token.positivity", "token.finite") == \
        dict.fromkeys(("token.normalization", "token.positivity", "token.finite"), "pass")


def test_labels_are_held_fixed_on_regularity_segments_and_the_metric_says_so():
    rep = ac.verify(ac.token_operator(ca_mkd_floored, name="ca_floor2", register=False), **FAST)
    reg = rep["token.regularity"]
    assert reg.status == "pass", reg.message  # a label jump would be a discontinuity if labels were interpolated
    assert "labels held fixed" in reg.estimate["metric"]
    assert rep.spec["inputs"] == ["probs", "context", "labels"]


def test_the_sweep_has_the_label_edge_cases():
    d = WithInputs(DOMAINS["token"], ("labels",), safety_tokens=(3,))
    fams = {f.name: f for f in d.sweep(np.random.default_rng(0), World(), 16)}
    probs, _, labels = fams["labels=zero_under_all"].args
    assert (probs[np.arange(16), :, labels] == 0).all()
    probs, _, labels = fams["labels=zero_under_one"].args
    assert ((probs[np.arange(16), :, labels] == 0).sum(axis=1) >= 1).all()
    np.testing.assert_allclose(probs.sum(-1), 1.0)
    assert set(fams["labels=safety_token"].args[2]) == {3}


# ----------------------------------------------------------------------------- student


def agreement_gate(probs, context, *, student):
    """Uniform weights, except teacher 0 alone when the student is ≥ 0.99 sure of a token no teacher favours."""
    K = probs.shape[1]
    w = np.full(probs.shape[:2], 1.0 / K)
    top = student.argmax(axis=1)
    wrong = (student.max(axis=1) >= 0.99) & (top != probs.mean(axis=1).argmax(axis=1))
    w[wrong] = np.eye(K)[0]
    return w


def student_agreement(probs, context, *, student):
    d = np.abs(probs - student[:, None, :]).sum(-1)
    return _floor(_softmax_rows(-d))


def test_a_rule_that_breaks_only_when_the_student_is_confidently_wrong():
    bad = ac.verify(ac.token_operator(agreement_gate, name="gate", register=False), **FAST)
    assert bad["token.positivity"].status == "fail"
    ce = bad["token.positivity"].counterexample["input"]
    assert max(ce["student"][0]) >= 0.99
    good = ac.verify(ac.token_operator(student_agreement, name="agree", register=False), **FAST)
    assert good.passed, good.failing()
    assert "‖Δstudent‖∞" in good["token.regularity"].estimate["metric"]


# ----------------------------------------------------------------------------- teacher_logits


def test_probs_are_exactly_the_softmax_of_teacher_logits():
    def strict(probs, context, *, teacher_logits):
        z = teacher_logits - teacher_logits.max(axis=-1, keepdims=True)
        e = np.exp(z)
        if not np.array_equal(probs, e / e.sum(axis=-1, keepdims=True)):
            raise AssertionError("probs is not softmax(teacher_logits)")
        return np.full(probs.shape[:2], 1.0 / probs.shape[1])

    rep = ac.verify(ac.token_operator(strict, name="strict", register=False), **FAST)
    assert rep.passed, [rep[i].message for i in rep.failing()]


def test_labels_that_rewrite_probs_keep_probs_the_softmax_of_the_logits():
    d = WithInputs(DOMAINS["token"], ("teacher_logits", "labels"))
    for fam in d.sweep(np.random.default_rng(2), World(), 8):
        probs, _, z, labels = fam.args
        np.testing.assert_array_equal(probs, softmax(z), err_msg=fam.name)
        if fam.name == "labels=zero_under_all":
            assert (probs[np.arange(8), :, labels] == 0).all()


def test_masked_logits_give_probability_exactly_zero():
    d = WithInputs(DOMAINS["token"], ("teacher_logits",))
    fams = {f.name: f for f in d.sweep(np.random.default_rng(1), World(), 8)}
    probs, _, z = fams["teacher_logits=masked"].args
    assert np.isneginf(z).any() and (probs[np.isneginf(z)] == 0).all()
    assert np.abs(fams["teacher_logits=extreme"].args[2]).max() >= 1e4


def naive_logsumexp(probs, context, *, teacher_logits):
    """Confidence = log Σ exp(z) without the max shift: overflows at logits of 1e4."""
    conf = np.log(np.exp(teacher_logits).sum(axis=-1))
    return _floor(_softmax_rows(conf))


def stable_logsumexp(probs, context, *, teacher_logits):
    finite = np.where(np.isfinite(teacher_logits), teacher_logits, -np.inf)
    top = finite.max(axis=-1, keepdims=True)
    conf = top[..., 0] + np.log(np.exp(finite - top).sum(axis=-1))
    return _floor(_softmax_rows(np.tanh(conf / 1e4)))


def test_extreme_logits_reach_the_function():
    bad = ac.verify(ac.token_operator(naive_logsumexp, name="naive", register=False), **FAST)
    assert bad["token.finite"].status == "fail"
    good = ac.verify(ac.token_operator(stable_logsumexp, name="stable", register=False), **FAST)
    assert statuses(good, "token.finite", "token.normalization", "token.positivity") == \
        dict.fromkeys(("token.finite", "token.normalization", "token.positivity"), "pass")


# ----------------------------------------------------------------------------- features


def raw_features(context, *, features, teachers):
    return _softmax_rows(features[:, :1] * np.arange(teachers)[None, :])


def squashed_features(context, *, features, teachers):
    return _floor(_softmax_rows(np.tanh(features[:, :1]) * np.arange(teachers)[None, :]))


def test_features_far_out_break_an_unsquashed_rule():
    bad = ac.verify(ac.context_operator(raw_features, name="raw_f", register=False), **FAST)
    assert bad["context.positivity"].status == "fail"
    good = ac.verify(ac.context_operator(squashed_features, name="sq_f", register=False), **FAST)
    assert good.passed, good.failing()


def test_world_features_sizes_the_feature_vector():
    seen = []

    def spy(context, *, features):
        seen.append(features.shape[1])
        return np.full((len(context), 4), 0.25)

    ac.verify(ac.context_operator(spy, name="spy_f", register=False), features=5, max_examples=0)
    assert set(seen) == {5}


# ----------------------------------------------------------------------------- history and step


def dwa_raw(losses, sizes, *, history):
    """Dynamic Weight Average: λ = M·softmax(r/T), r_t = L_t(n−1)/L_t(n−2)."""
    r = history[:, -1] / history[:, -2]
    return history.shape[2] * _softmax_rows(r / 2.0)


def dwa_repaired(losses, sizes, *, history):
    r = np.clip(history[:, -1] / np.maximum(history[:, -2], 1e-3), 0.0, 10.0)
    return _softmax_rows(r / 2.0)


def test_importance_from_history_dwa_sums_to_m_and_the_report_says_renormalize():
    rep = ac.verify(ac.importance_operator(dwa_raw, name="dwa_raw", register=False), **FAST)
    norm = rep["importance.normalization"]
    assert norm.status == "fail"
    assert "renormalize by 3 to conform" in norm.message
    assert rep["importance.finite"].status == "fail"  # 0/0 on a zero history
    good = ac.verify(ac.importance_operator(dwa_repaired, name="dwa_fixed", register=False), **FAST)
    assert good.passed, [good[i].message for i in good.failing()]
    assert {r.axiom for r in good.results} == {
        "importance.normalization", "importance.nonnegativity", "importance.continuity",
        "importance.pareto_compatibility", "importance.finite", "importance.shape", "importance.deterministic",
        "importance.batch_independent"}


def test_importance_nonnegativity_fails_on_a_negative_coefficient():
    def signed(losses, sizes, *, history):
        lam = _softmax_rows(-history[:, -1])
        lam[:, 0] -= 0.5
        lam[:, 1] += 0.5
        return lam

    rep = ac.verify(ac.importance_operator(signed, name="signed", register=False), **FAST)
    assert rep["importance.nonnegativity"].status == "fail"
    assert rep["importance.normalization"].status == "pass"


def warmup_one_teacher(losses, sizes, *, step):
    K = losses.shape[2]
    w = np.full(losses.shape, 1.0 / K)
    w[step == 0] = np.eye(K)[0]
    return w


def smooth_warmup(losses, sizes, *, step):
    K = losses.shape[2]
    a = (1 - np.exp(-step / 1000.0))[:, None, None]
    first = np.broadcast_to(np.eye(K)[0], losses.shape)
    return _floor(a * np.full(losses.shape, 1.0 / K) + (1 - a) * first, 0.05)


def test_a_schedule_that_breaks_only_at_step_zero():
    bad = ac.verify(ac.task_operator(warmup_one_teacher, name="warm", register=False), **FAST)
    assert bad["task.positivity"].status == "fail"
    assert bad["task.positivity"].counterexample["input"]["step"] == [0]
    good = ac.verify(ac.task_operator(smooth_warmup, name="warm_ok", register=False), **FAST)
    assert good.passed, good.failing()


def test_a_task_operator_may_take_an_importance_operator():
    imp = ac.importance_operator(dwa_repaired, name="dwa_imp", register=False)
    op = ac.task_operator(smooth_warmup, name="with_imp", importance=imp, register=False)
    rep = ac.verify(op, **FAST)
    assert rep["task.pareto_compatibility"].status == "pass"
    raw = ac.importance_operator(dwa_raw, name="dwa_imp_raw", register=False)
    bad = ac.verify(ac.task_operator(smooth_warmup, name="with_raw", importance=raw, register=False), **FAST)
    assert bad["task.pareto_compatibility"].status == "fail"


# ----------------------------------------------------------------------------- params


def meta_net(context, *, params):
    h = np.tanh(context @ params["W1"] + params["b1"])
    return _softmax_rows(h @ params["W2"])


def _mlp(rng, scale):
    return {"W1": rng.standard_normal((3, 8)), "b1": np.zeros(8), "W2": rng.standard_normal((8, 4)) * scale}


def test_a_learned_operator_that_conforms_for_one_checkpoint_and_not_another():
    rng = np.random.default_rng(0)
    good, collapsed = _mlp(rng, 0.5), _mlp(rng, 1e4)
    ok = ac.verify(ac.context_operator(meta_net, name="mmkd_ok", params=[good], register=False), **FAST)
    assert ok.passed, ok.failing()
    rep = ac.verify(ac.context_operator(meta_net, name="mmkd", params=[good, collapsed], register=False), **FAST)
    pos = rep["context.positivity"]
    assert pos.status == "fail"
    assert pos.message.startswith("with params[1]:")
    assert pos.counterexample["params"] == "params[1]"
    assert "2 parameter set(s)" == rep.spec["params"]


def test_params_drawn_from_a_callable_name_the_seed():
    def draw(rng):
        return _mlp(rng, 1e4 if rng.random() < 0.5 else 0.5)

    rep = ac.verify(ac.context_operator(meta_net, name="drawn", params=draw, params_draws=4, register=False),
                    seed=3, **FAST)
    pos = rep["context.positivity"]
    assert pos.status == "fail" and "params draw seed=" in pos.message
    assert rep.spec["params"].endswith("4 draws")


def test_params_declarations_are_validated():
    with pytest.raises(ac.SpecError, match="no `params` keyword"):
        ac.context_operator(lambda c: c, name="x", params=[1], register=False)
    with pytest.raises(ac.SpecError, match="no params= were declared"):
        ac.context_operator(meta_net, name="y", register=False)
    with pytest.raises(ac.SpecError, match="non-empty list"):
        ac.context_operator(meta_net, name="z", params={"W1": 1}, register=False)
    with pytest.raises(ac.SpecError, match="declares no bounds"):
        ac.importance_operator(dwa_repaired, name="b", bounds=(0.1, 0.9), register=False)


# ----------------------------------------------------------------------------- plumbing


def test_only_named_inputs_are_passed_and_kwargs_names_nothing():
    assert keyword_inputs(lambda probs, context, **kw: None, "token") == ()
    assert keyword_inputs(lambda losses, sizes, *, history, labels: None, "task") == ("history",)
    assert set(INPUTS) == {"labels", "student", "teacher_logits", "features", "history", "step"}


def test_a_composition_takes_the_union_of_its_parts_inputs():
    t = ac.token_operator(ca_mkd_floored, name="t_lab", register=False)
    c = ac.context_operator(squashed_features, name="c_feat", register=False)
    u = ac.compose(t, c)
    assert list(inspect.signature(u.fn).parameters)[4:] == ["labels", "features"]
    rep = ac.verify(u, **FAST)
    assert rep["unified.normalization"].status == "pass"
    assert rep.spec["inputs"] == ["probs", "context", "losses", "sizes", "labels", "features"]


def test_an_isolated_worker_gets_the_keyword_inputs():
    rep = ac.verify("tests.test_inputs:ca_mkd_op", isolate=True, max_examples=0, axioms=["token.positivity"])
    assert rep["token.positivity"].status == "fail"


def test_softmax_keeps_minus_inf_at_exactly_zero():
    p = softmax(np.array([[0.0, -np.inf, 1e4]]))
    assert p[0, 1] == 0.0 and np.isfinite(p).all()


ca_mkd_op = ac.token_operator(ca_mkd_raw, name="tests_ca_mkd_raw", register=False)


# ----------------------------------------------------------------------------- hostile operators with keyword inputs


def test_writing_into_a_keyword_input_is_an_error():
    def mutates(probs, context, *, labels):
        labels[:] = 0
        return np.full(probs.shape[:2], 1.0 / probs.shape[1])

    rep = ac.verify(ac.token_operator(mutates, name="mut_labels", register=False), max_examples=5)
    assert {r.status for r in rep.results if r.axiom != "token.safety_monotonicity"} == {"error"}
    assert "wrote into its input 'labels'" in rep["token.normalization"].message


def test_an_importance_returning_inf_fails_finite():
    def infinite(losses, sizes, *, history):
        return np.full((len(losses), losses.shape[1]), np.inf)

    rep = ac.verify(ac.importance_operator(infinite, name="inf_imp", register=False), max_examples=5)
    assert rep["importance.finite"].status == "fail"


def test_a_learned_operator_that_raises_names_its_parameter_set():
    def raises(context, *, params):
        raise ValueError("bad checkpoint")

    rep = ac.verify(ac.context_operator(raises, name="raises_p", params=[1, 2], register=False), max_examples=5)
    norm = rep["context.normalization"]
    assert norm.status == "error"
    assert norm.message.startswith("with params[0]:") and "ValueError: bad checkpoint" in norm.message


# ----------------------------------------------------------------------------- every input at its extreme at once


def needs_every_extreme(probs, context, *, labels, student, features):
    """Uniform, except teacher 0 gets weight 0 when all of these hold together: every teacher one-hot and
    giving the label probability 0, a student ≥ 0.99 sure of another token, and features beyond 1e4."""
    rows = np.arange(len(labels))
    k = probs.shape[1]
    hit = ((probs.max(axis=2) == 1.0).all(axis=1) & (probs[rows, :, labels] == 0).all(axis=1)
           & (student[rows, labels] < 1e-2) & (student.max(axis=1) > 0.99) & (np.abs(features).max(axis=1) > 1e4))
    w = np.full(probs.shape[:2], 1.0 / k)
    w[hit] = np.r_[0.0, np.full(k - 1, 1.0 / (k - 1))]
    return w


def test_the_sweep_puts_every_input_at_its_extreme_at_once():
    d = WithInputs(DOMAINS["token"], ("labels", "student", "features"))
    fams = {f.name: f for f in d.sweep(np.random.default_rng(0), World(), 16)}
    joint = fams["one_hot+labels=zero_under_all+student=confidently_wrong+features=far_out"]
    probs, _, labels, student, features = joint.args
    rows = np.arange(joint.size)
    assert (probs[rows, :, labels] == 0).all()
    assert (student[rows, labels] < 1e-2).all() and (student.max(axis=1) > 0.99).all()
    assert (np.abs(features).max(axis=1) > 1e4).all()
    assert (probs.max(axis=2) == 1.0).mean() > 0.5  # one-hot teachers, unless the label held all the mass
    # each extreme family of the positional inputs is paired with them, and every input's other extremes
    assert {n.split("+")[0] for n in fams if "+labels=" in n} == {"one_hot", "near_one_hot", "extreme_logits"}
    assert "one_hot+labels=zero_under_one+student=one_hot+features=zeros" in fams


@pytest.mark.parametrize("seed", range(5))
def test_a_violation_that_needs_every_input_at_its_extreme_is_found_at_every_seed(seed):
    op = ac.token_operator(needs_every_extreme, name="every_extreme", register=False)
    r = ac.verify(op, seed=seed, max_examples=0, axioms=["token.positivity"])["token.positivity"]
    assert r.status == "fail", r.message  # by the sweep alone: no search needed
    assert "min w_k = 0 (teacher 0)" in r.message


def test_joint_extremes_on_the_task_scale():
    def zero_history_huge_step(losses, sizes, *, history, step):
        """λ < 0 for task 0 only when the losses and the whole history are 0 and the step is huge."""
        m = sizes.shape[1]
        lam = np.full(sizes.shape, 1.0 / m)
        hit = (history == 0).all(axis=(1, 2)) & (step > 10**8) & (losses == 0).all(axis=(1, 2))
        lam[hit] = np.r_[-0.1, np.full(m - 1, 1.1 / (m - 1))]
        return lam

    op = ac.importance_operator(zero_history_huge_step, name="joint_task", register=False)
    r = ac.verify(op, max_examples=0, axioms=["importance.nonnegativity", "importance.normalization"])
    assert r.statuses() == {"importance.nonnegativity": "fail", "importance.normalization": "pass"}
    assert "history=zeros+step=large" in r["importance.nonnegativity"].message
    d = WithInputs(DOMAINS["importance"], ("history", "step"))
    names = [f.name for f in d.sweep(np.random.default_rng(0), World(), 8)]
    assert "zero_losses+history=zeros+step=large" in names


@pytest.mark.parametrize("name", ["teachers", "params"])
def test_no_keyword_input_takes_a_reserved_name(name):
    """`teachers` (K) and `params` (a parameter set) reach an operator by name already; a keyword
    input of that name would be drawn per sample and clash with them."""
    from axiomcheck.spec.inputs import INPUTS, RESERVED, KeywordInput

    with pytest.raises(ValueError, match=f"cannot be named '{name}'"):
        KeywordInput(name, "int", ("one",), lambda fam, d, base: (None, base), None)
    assert not set(RESERVED) & set(INPUTS)
