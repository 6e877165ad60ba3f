"""Checking at the vocabulary sizes people train with: byte budget, realistic families, summaries, same verdicts."""

from __future__ import annotations

import json

import numpy as np
import pytest

import axiomcheck as ac
from axiomcheck.checks import properties as P
from axiomcheck.engine import Settings, Verifier
from axiomcheck.report import summary
from axiomcheck.sampling import budget, largev
from axiomcheck.sampling.domains import DOMAINS, World
from tests.helpers import entropy, softmax, token


def _old_max_abs_diff(W1, W2):
    """The formula max_abs_diff had before it stopped copying to float64 (kept here to compare)."""
    with np.errstate(invalid="ignore"):
        d = np.abs(W1.astype(np.float64) - W2.astype(np.float64))
    same = (W1 == W2) | (np.isnan(W1) & np.isnan(W2))
    d = np.where(same, 0.0, d)
    d = np.where(np.isnan(d), np.inf, d)
    return d.reshape(d.shape[0], -1).max(axis=1, initial=0.0)


def test_max_abs_diff_matches_the_float64_formula_on_nan_inf_and_views():
    rng = np.random.default_rng(3)
    a = rng.random((6, 5, 4))
    b = a.copy()
    b[1, 2, 3] += 1e-12
    a[2, 0, 0], b[2, 0, 0] = np.nan, np.nan  # same NaN: no difference
    a[3, 1, 1], b[3, 1, 1] = np.inf, np.inf  # same inf: no difference
    a[4, 0, 2], b[4, 0, 2] = np.inf, -np.inf
    b[5, 3, 0] = np.nan
    for x, y in ((a, b), (np.swapaxes(a, 1, 2), np.swapaxes(b, 1, 2))):
        assert P.max_abs_diff(x, y).tolist() == _old_max_abs_diff(x, y).tolist()
    got = P.max_abs_diff(a, b).tolist()
    assert got[0] == 0.0 and got[2] == 0.0 and got[3] == 0.0 and got[4] == np.inf and got[5] == np.inf
    assert 0 < got[1] < 1e-11
    # float32 stays float32 inside, the result is float64 and still sees a one-ulp difference
    f = a.astype(np.float32)
    g = f.copy()
    g[0, 0, 0] = np.nextafter(g[0, 0, 0], np.float32(2))
    assert P.max_abs_diff(f, g).dtype == np.float64 and P.max_abs_diff(f, g)[0] > 0


def test_nonfinite_rows_once_per_array():
    W = np.array([[[1.0, np.nan]], [[np.inf, 0.0]], [[0.5, 0.5]]])
    bad, nan, inf = P.nonfinite_rows(W)
    assert bad[:, 0].tolist() == [True, True, False]
    assert nan[:, 0].tolist() == [True, False, False] and inf[:, 0].tolist() == [False, True, False]
    assert P.nonfinite_rows(W)[0] is bad  # remembered, not recomputed
    assert P.nonfinite_rows(W.copy())[0] is not bad


def test_budget_leaves_the_default_world_alone_and_binds_at_128k():
    small = budget.plan_for("token", World(), (), sweep_size=256, regularity_pairs=256)
    assert (small.sweep_samples, small.binding, small.pairs, small.mixed_limit) == (256, False, 256, None)
    big = budget.plan_for("token", World(teachers=8, vocab=128_256), (), sweep_size=256, regularity_pairs=256)
    one_sample = 8 * (2 * 8 * 128_256 + 3)
    assert big.binding and big.sweep_samples == max(2, budget.DEFAULT_BATCH_BYTES // one_sample)
    assert big.sweep_samples * one_sample <= budget.DEFAULT_BATCH_BYTES
    assert big.pairs == budget.MIN_PAIRS and big.keep(21) == 1 and big.mixed_limit == budget.MIN_PAIRS
    # keyword inputs count: teacher_logits doubles the inputs
    kw = budget.plan_for("token", World(teachers=8, vocab=32_000), ("teacher_logits",), sweep_size=256,
                         regularity_pairs=256)
    plain = budget.plan_for("token", World(teachers=8, vocab=32_000), (), sweep_size=256, regularity_pairs=256)
    assert kw.per_batch < plain.per_batch


def test_row_recipes_support_top_and_exact_zeros():
    V = 50_000
    r = largev.row(largev.Recipe("zipf", 1.1, support=300, top=40_000, seed=7), V)
    assert int(np.argmax(r)) == 40_000 and int((r > 0).sum()) == 300 and abs(r.sum() - 1) < 1e-12
    peaked = largev.row(largev.Recipe("peaked", 1.0, support=V, top=123), V)
    assert peaked[123] >= 0.999 and (peaked > 0).all()
    one_hot = largev.row(largev.Recipe(), V)  # what shrinking ends at
    assert one_hot[0] == 1.0 and one_hot.sum() == 1.0


@pytest.mark.parametrize("rounding, dtype", [("bfloat16", None), ("float16", np.float16)])
def test_half_precision_rows_lie_on_their_grid(rounding, dtype):
    r = largev.row(largev.Recipe("zipf", 1.0, support=5000, top=3, seed=1, rounding=rounding), 5000)
    if dtype is None:  # bfloat16: the low 16 bits of the float32 pattern are zero
        assert not (r.astype(np.float32).view(np.uint32) & np.uint32(0xFFFF)).any()
    else:
        assert np.array_equal(r, r.astype(dtype).astype(np.float64))
    assert r.sum() != 1.0  # rounded, not renormalized: as a half-precision teacher emits it


@pytest.mark.parametrize("where", ["head", "tail", "masked"])
def test_safety_tokens_placed_in_head_tail_or_mask(where):
    S = (3, 7)
    r = largev.row(largev.Recipe("zipf", 1.0, support=2000, top=500, seed=9, safety=where), 2000, S)
    order = np.argsort(-r)
    if where == "head":
        assert set(order[:2].tolist()) == set(S)
    elif where == "tail":
        nz = np.flatnonzero(r > 0)
        assert set(nz[np.argsort(r[nz])[:2]].tolist()) == set(S)
    else:
        assert r[list(S)].tolist() == [0.0, 0.0] and abs(r.sum() - 1) < 1e-12


def test_large_vocab_sweep_has_the_realistic_families():
    d = largev.LargeVocab(DOMAINS["token"], (3, 7))
    fams = {f.name: f for f in d.sweep(np.random.default_rng(0), World(vocab=1000), 4)}
    for name in largev.LARGE_FAMILIES + largev.SAFETY_FAMILIES + ("dirichlet_1", "one_hot"):
        assert name in fams
        assert fams[name].args[0].shape == (4, 4, 1000)
    assert (fams["peaked"].args[0].max(axis=-1) >= 0.999).all()
    assert (fams["safety_masked"].args[0][..., [3, 7]] == 0).all()
    assert (fams["top_k"].args[0] == 0).any()  # exact zeros beyond the support


def _high_token_bug(probs, context):
    """Entropy weights that lose 20 % of their mass when teacher 0's top token has an id ≥ 16."""
    w = softmax(-entropy(probs))
    high = probs[:, 0].argmax(axis=-1) >= 16
    return np.where(high[:, None], 0.8 * w, w)


def test_a_violation_only_at_token_ids_from_16_is_found_at_32k_and_shrunk_to_a_readable_row():
    op = token(_high_token_bug, name="high_token_bug")
    small = ac.verify(op, max_examples=10, axioms=["token.normalization"])
    assert small.statuses() == {"token.normalization": "pass"}  # V = 16 has no token 16
    r = ac.verify(op, teachers=2, vocab=32_000, max_examples=20, axioms=["token.normalization"])
    res = r["token.normalization"]
    assert res.status == "fail", res.message
    # shrunk to the smallest row that still fails, and the message summarizes it: ids, entropy, support
    assert "a shrunk search example" in res.message
    assert "top 16=1; H = 0 nats; support 1 of 32000" in res.message, res.message
    assert res.counterexample["input"]["probs"]["rows"][0]["top"] == [[16, 1.0]]
    assert len(json.dumps(res.counterexample)) < 10_000  # no V-long lists in the report
    assert res.arrays["input/probs"].shape == (1, 2, 32_000)


def test_summary_shows_the_safety_tokens_and_groups_tied_teachers():
    p = np.zeros((1, 3, 600))
    p[0, :, 10] = 1.0
    p[0, 2] = 0.0
    p[0, 2, [3, 500]] = [0.25, 0.75]
    shown, arrays = summary.sample(("probs", "context"), (p, np.zeros((1, 3))), (3, 7))
    text = summary.inline_from(shown)
    assert "teachers 0, 1 (identical): top 10=1" in text
    assert "teacher 2: top 500=0.75, 3=0.25" in text and "S: 3=0.25, 7=0" in text
    assert "context=[0., 0., 0.]" in text
    assert set(arrays) == {"input/probs", "input/context"}


def test_streaming_sweep_records_what_the_kept_sweep_records():
    """When the byte budget binds, value checks read each batch at once; same findings as reading it later."""
    op = ac.get("indep_token_normalization")
    per_sample = 8 * budget.sample_elements("token", World())
    kept = Verifier(op, World(), Settings(sweep_size=32, max_examples=0, shrink=False))
    streamed = Verifier(op, World(), Settings(sweep_size=64, max_examples=0, shrink=False,
                                              batch_bytes=32 * per_sample))
    assert not kept.plan.binding and streamed.plan.binding and streamed.plan.sweep_samples == 32
    for v in (kept, streamed):
        v.sweep()
        v.checks()
    for axiom in ("token.normalization", "token.positivity", "token.bounded_influence", "token.safety_monotonicity"):
        a, b = kept.evidence[axiom], streamed.evidence[axiom]
        assert a.samples == b.samples and a.share == b.share, axiom
        assert (a.finding is None) == (b.finding is None)
        if a.finding is not None:
            assert a.finding.message == b.finding.message
    assert all(e.observed and e.family.size <= 16 for e in streamed.evaluated)


REPRESENTATIVE = ("inverse_variance", "indep_token_safety_monotonicity", "indep_token_regularity")


@pytest.mark.parametrize("name", REPRESENTATIVE)
def test_same_verdicts_at_32k_as_at_16(name):
    """Checks that do not depend on V give the same verdicts at V = 32 000 (all operators: the benchmark)."""
    fast = dict(max_examples=15, shrink=False)
    assert ac.verify(name, vocab=32_000, **fast).statuses() == ac.verify(name, **fast).statuses()


def test_keyword_inputs_at_a_large_vocabulary():
    @ac.token_operator(name="label_weights", register=False)
    def label_weights(probs, context, *, labels):
        p = probs[np.arange(len(labels)), :, labels]  # [B, K]: each teacher's probability of the label
        return softmax(np.log(p + 1e-3))

    r = ac.verify(label_weights, vocab=2048, max_examples=10, shrink=False,
                  axioms=["token.normalization", "token.finite"])
    assert r.statuses() == {"token.normalization": "pass", "token.finite": "pass"}, r.results
