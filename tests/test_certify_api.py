"""`certify_operator` and `ac.region`: the ids covered per scale, the stated domain, bad input, the safety set.

Every certificate states its domain as text and data; a bad domain is a clear
`ValueError`; a region is both a predicate the sampled engine calls and a set
the certifier reads, while a Python predicate makes the safety check unknown.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import axiomcheck as ac
from axiomcheck.certifier import CERTIFICATE_STATUSES, Certificate, Region, certify_operator
from axiomcheck.library import _numerics as nx
from axiomcheck.sampling.domains import World

W3 = World(teachers=3, context_dim=2)


def soft(context):
    c = np.asarray(context, dtype=np.float64)
    return nx.softmax(np.stack([np.tanh(c[:, 0]), np.tanh(c[:, 1]) + 2.0 * np.clip(1 + c[:, 0], 0, 1),
                                np.zeros(len(c))], axis=1))


def test_the_ids_covered_follow_the_scale_and_each_certificate_states_its_domain():
    op = ac.context_operator(soft, name="soft", register=False, world={"teachers": 3, "context_dim": 2})
    certs = certify_operator(op, W3, max_time=1.5)
    assert sorted(certs) == ["context.boundedness", "context.continuity", "context.finite",
                             "context.normalization", "context.positivity"]  # no safety declared: not applicable
    for c in certs.values():
        assert isinstance(c, Certificate) and c.status in CERTIFICATE_STATUSES
        assert c.domain == "context ∈ [-10, 10]^2"
        assert c.domain_data == {"context": {"lo": -10.0, "hi": 10.0, "shape": [2]}}
        json.dumps(c.to_dict(), allow_nan=False)  # plain data
    assert certs["context.continuity"].metric == "‖Δcontext‖∞"


def test_a_declared_domain_is_used_and_stated():
    op = ac.context_operator(soft, name="soft", register=False, world={"teachers": 3, "context_dim": 2})
    certs = certify_operator(op, W3, max_time=1.0, axioms=["context.finite"],
                             domain={"context": ([-1.0, 0.0], [1.0, 5.0])})
    c = certs["context.finite"]
    assert c.domain == "context ∈ [-1, 1] × [0, 5]"
    assert c.domain_data["context"] == {"lo": [-1.0, 0.0], "hi": [1.0, 5.0], "shape": [2]}
    # the enclosure is that of the smaller box: w_2 = 1 / (1 + e^tanh(c0) + e^(tanh(c1)+2g)) is larger there
    wide = certify_operator(op, W3, max_time=1.0, axioms=["context.finite"])["context.finite"]
    assert c.bound[1] <= wide.bound[1]


@pytest.mark.parametrize("domain,says", [({"contxt": (-1, 1)}, "does not take"),
                                         ({"context": (1, -1)}, "lo ≤ hi"),
                                         ({"context": (-np.inf, 1)}, "finite"),
                                         ({"context": "wide"}, "(lo, hi)")])
def test_a_bad_domain_is_a_clear_error(domain, says):
    op = ac.context_operator(soft, name="soft", register=False, world={"teachers": 3, "context_dim": 2})
    with pytest.raises(ValueError, match=says.replace("(", r"\(").replace(")", r"\)")):
        certify_operator(op, W3, domain=domain)


def test_task_and_importance_scales_state_their_domains():
    task = certify_operator(ac.get("softmax_performance"), World(), max_time=1.0, axioms=["task.finite"])
    d = task["task.finite"]
    assert "losses ∈ [0, 1e+06]^3×4" in d.domain and "sizes ∈ [1, 1e+09]^3 (certified in log sizes)" in d.domain
    assert d.status == "proved"
    imp = ac.importance_operator(lambda losses, sizes: np.full(np.asarray(sizes).shape, 1 / 3), name="imp",
                                 register=False)
    certs = certify_operator(imp, World(), max_time=1.0)
    assert sorted(certs) == ["importance.continuity", "importance.finite", "importance.nonnegativity",
                             "importance.normalization"]
    assert all(c.status == "proved" for c in certs.values())


def test_labels_are_enumerated_and_said_so():
    def label_weight(probs, context, *, labels):
        p = np.asarray(probs, dtype=np.float64)
        py = np.take_along_axis(p, np.asarray(labels)[:, None, None].repeat(p.shape[1], 1), axis=2)[:, :, 0]
        return nx.softmax(0.9 * py + 0.1, axis=1)

    op = ac.token_operator(label_weight, name="label_weight", register=False, world={"teachers": 2, "vocab": 4})
    c = certify_operator(op, World(teachers=2, vocab=4), max_time=2.0, axioms=["token.positivity"])["token.positivity"]
    assert "labels ∈ {0, …, 3} (each)" in c.domain and c.domain_data["labels"]["enumerated"]
    assert c.status == "proved"


# ----------------------------------------------------------------------------- regions


def test_a_region_is_the_predicate_the_sampled_engine_calls():
    r = ac.region(lo=[0.0, None], hi={1: 2.0})
    c = np.array([[0.5, 1.0], [-0.5, 1.0], [0.5, 3.0], [0.0, 2.0]])
    assert r(c).tolist() == [True, False, False, True]
    assert ac.region(lo=[0.0, None], hi={1: 2.0}, strict=True)(c).tolist() == [True, False, False, False]
    h = ac.region(a=[1.0, 1.0], b=1.0)
    assert h(c).tolist() == [True, False, True, True] and h.text(2) == "1·c_0 + 1·c_1 ≥ 1"
    assert isinstance(r, Region) and r.dims() == 2
    with pytest.raises(ValueError, match="needs contexts"):
        r(np.zeros((3, 1)))
    with pytest.raises(ValueError, match="empty set"):
        ac.region(lo={0: 1.0}, hi={0: 0.0})


def test_the_safety_order_is_proved_on_a_region_and_unknown_on_a_predicate():
    spec = dict(name="soft", register=False, world={"teachers": 3, "context_dim": 2})
    # on c₀ ≥ 0 the gate is 1: the logit of teacher 1 is tanh(c1) + 2 > tanh(c0) > 0 = logit of teacher 2
    good = ac.context_operator(soft, safety=ac.Safety(contexts=ac.region(lo={0: 0.0}), order=[1, 0, 2]), **spec)
    cert = certify_operator(good, W3, max_time=2.0, axioms=["context.safety_prioritization"])
    c = cert["context.safety_prioritization"]
    assert c.status == "proved" and "c_0 ≥ 0" in c.domain and c.bound[0] >= -1e-14
    bad = ac.context_operator(soft, safety=ac.Safety(contexts=ac.region(lo={0: 0.0}), order=[2, 1, 0]), **spec)
    c = certify_operator(bad, W3, max_time=2.0, axioms=["context.safety_prioritization"])
    assert c["context.safety_prioritization"].status == "refuted"
    opaque = ac.context_operator(soft, safety=ac.Safety(contexts=lambda x: x[:, 0] >= 0, order=[1, 0, 2]), **spec)
    c = certify_operator(opaque, W3, max_time=1.0, axioms=["context.safety_prioritization"])
    assert c["context.safety_prioritization"].status == "unknown"
    assert c["context.safety_prioritization"].reason.startswith("the safety set is a Python predicate")


def test_the_builtin_safety_set_is_the_same_predicate_as_before():
    from axiomcheck.library.context import CONTEXT_SAFETY, safe_context

    c = np.random.default_rng(0).normal(size=(500, 3))
    c[:50, 0] = 0.0
    assert np.array_equal(CONTEXT_SAFETY.contexts(c), safe_context(c))
    assert CONTEXT_SAFETY.contexts.__name__ == "safe_context"  # as reports name it


def test_a_composition_is_certified_on_the_inputs_its_components_read():
    ctx = ac.context_operator(soft, name="soft_ctx", register=False, world={"teachers": 3, "context_dim": 2})
    task = ac.task_operator(lambda losses, sizes: nx.softmax(-nx.squash(nx.f64(losses)), axis=2), name="soft_task",
                            register=False)
    op = ac.compose(ctx, task)
    certs = certify_operator(op, World(teachers=3, context_dim=2, tasks=2), max_time=2.0,
                             axioms=["unified.normalization", "unified.finite", "unified.positivity"])
    c = certs["unified.normalization"]
    assert c.status == "proved"  # the product-then-normalize is a softmax of the summed log-weights
    assert c.domain.startswith("context ∈ [-10, 10]^2; losses ∈ [0, 1e+06]^2×3")
    assert "probs" not in c.domain_data  # no component reads the teachers' distributions
    assert certs["unified.finite"].status == "proved" and certs["unified.positivity"].status == "proved"


def _slow_search_setup():
    from axiomcheck.certifier import bnb
    from axiomcheck.certifier.space import build

    dom = build(ac.get("ordinal_safety"), World(teachers=3, context_dim=3))
    return bnb, dom, bnb.roots(dom)


ROUND_S = 0.4  # one evaluation of the searches below (a sleep: the timing is not the machine's)


def test_the_lipschitz_search_keeps_its_time_budget():
    """A search that cannot converge stops before a round that would overrun the budget (it ran one
    round past it, so a 10 s budget took 18 s on a slow operator)."""
    import time

    bnb, dom, start = _slow_search_setup()

    def evaluate(boxes):
        time.sleep(ROUND_S)
        return boxes

    def bound(ev, boxes, target):  # never within the gap: only the clock can stop the search
        return np.full(len(boxes), 1e9), np.ones((len(boxes), dom.n)), []

    t0 = time.perf_counter()
    res = bnb.lipschitz(dom, start, evaluate, bound, lambda b: np.ones(len(b)), 1.0, 0.1, bnb.Deadline(1.0))
    took = time.perf_counter() - t0
    assert took <= 1.0, took
    assert res.upper == 1e9 and res.boxes > len(start)  # it did search, and reports what it reached


def test_the_proof_search_keeps_its_time_budget():
    import time

    bnb, dom, start = _slow_search_setup()

    def evaluate(boxes):
        time.sleep(ROUND_S)
        return boxes

    def judge(ev, boxes):  # never decided
        B = len(boxes)
        return bnb.Judged(np.zeros(B, bool), np.ones(B), np.zeros(B), np.ones(B), np.ones((B, dom.n)))

    t0 = time.perf_counter()
    proof = bnb.prove(dom, start, evaluate, judge, lambda boxes: None, bnb.Deadline(1.0))
    took = time.perf_counter() - t0
    assert took <= 1.0, took
    assert not proof.proved and "time budget" in proof.reason
