"""The weight guard inside the dynamics training loop (the digits students' SGD), and the demo's
report files of what it observed."""

from __future__ import annotations

import json

import jax
import numpy as np

from axiomcheck.dynamics import _train as tr
from axiomcheck.dynamics.demo import write_training_reports
from axiomcheck.kernels import GuardSpec, guard_report

K, N, V, F = 3, 20, 5, 4
STEPS, BATCH = 40, 4
SEEDS = np.array([11, 12], np.uint32)


def sampled(seed: int) -> list[np.ndarray]:
    """The indices each SGD step of `_train._sgd` samples for a run seeded `seed` (the same key splits)."""
    key = jax.random.PRNGKey(seed)
    out = []
    for _ in range(STEPS):
        key, sub = jax.random.split(key)
        out.append(np.asarray(jax.random.randint(sub, (BATCH,), 0, N)))
    return out


def test_sgd_carries_the_guard_and_finds_the_first_step_that_sampled_a_bad_weight():
    rng = np.random.default_rng(0)
    phi = rng.standard_normal((N, F))
    logits = rng.standard_normal((K, N, V))
    w = np.full((2, K, N), 1.0 / K)
    bad = 7
    w[1, :, bad] = [0.5, 0.5, 0.3]  # run 1: sample 7's weights sum to 1.3
    spec = GuardSpec(teachers=K, bounds=(0.2, 0.6))
    thetas, state = tr.sgd_checkpoints(phi, logits, w, SEEDS, l2=1e-3, eta0=0.5, steps=STEPS, batch=BATCH,
                                       checkpoints=[STEPS], guard=spec)
    plain = tr.sgd_checkpoints(phi, logits, w, SEEDS, l2=1e-3, eta0=0.5, steps=STEPS, batch=BATCH,
                               checkpoints=[STEPS])
    np.testing.assert_array_equal(thetas, plain)  # the guard does not change the training
    assert np.shape(state.steps) == (2,) and state.steps.tolist() == [STEPS, STEPS]  # padded runs dropped
    hits = [t for t, idx in enumerate(sampled(int(SEEDS[1]))) if bad in idx]
    draws = sum(int((idx == bad).sum()) for idx in sampled(int(SEEDS[1])))
    assert hits, "the test needs run 1 to sample the bad index at least once"
    # weights reach the kernel per token ([K, B, V]): each draw of sample 7 is V violating vectors
    assert state.violations.tolist() == [[0, 0, 0, 0], [draws * V, 0, 0, 0]]
    assert state.checked[1, 0] == STEPS * BATCH * V
    assert (state.first_step[1, 0], state.first_position[1, 0], state.first_token[1, 0]) == (hits[0], bad, 0)
    assert state.first_step[0].tolist() == [-1] * 4
    rep = guard_report(state, spec, "op", "context")
    assert rep.statuses() == {"runtime.normalization": "fail", "runtime.positivity": "pass",
                              "runtime.bounds": "pass", "runtime.safety": "skipped"}
    assert f"first at step {hits[0]}, position {bad}, token 0" in rep["runtime.normalization"].message


def test_the_demo_writes_the_guard_s_reports_with_the_report_writers(tmp_path):
    spec = GuardSpec(teachers=K, bounds=(0.2, 0.6))
    state = tr.sgd_checkpoints(np.ones((N, F)), np.zeros((K, N, V)), np.full((1, K, N), 1.0 / K), SEEDS[:1],
                               l2=1e-3, eta0=0.1, steps=5, batch=2, checkpoints=[5], guard=spec)[1]
    runtime = {"uniform": guard_report(state, spec, "uniform", "unified").to_dict()}
    files = write_training_reports(runtime, str(tmp_path / "training"))
    assert sorted(p.rsplit("/", 1)[1] for p in files) == ["junit.xml", "report.html", "report.json", "summary.md"]
    doc = json.loads((tmp_path / "training" / "report.json").read_text(encoding="utf-8"))
    outcomes = doc["suites"][0]["items"][0]["outcomes"]
    assert [(o["axiom"], o["status"]) for o in outcomes] == [
        ("runtime.normalization", "pass"), ("runtime.positivity", "pass"), ("runtime.bounds", "pass"),
        ("runtime.safety", "skipped")]
    assert doc["ok"] is True
    for name in ("summary.md", "report.html"):
        assert "observed in training" in (tmp_path / "training" / name).read_text(encoding="utf-8")
