"""A PyTorch training loop with the weight guard: a tiny student distils K = 4 random teachers through an
adaptive weighting operator written in torch (a floored softmax over each teacher's confidence); when the
loop breaks the operator's schedule from step 3 on, the guard reports its first violation at step 3 and at
the data-set index of the sample.  The guard page's PyTorch example runs as written.

Skips when PyTorch is not installed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import axiomcheck as ac

torch = pytest.importorskip("torch")

K, V, D = 4, 8, 6  # teachers, classes, features
N_DATA, BATCH, STEPS, BREAK_AT = 48, 12, 6, 3
BOUNDS = (0.05, 0.85)  # a floor of 0.05 on a softmax over K = 4: w_k ∈ [0.05, 0.05 + 0.8]
ROOT = Path(__file__).resolve().parents[1]


class ConfidenceRouter(torch.nn.Module):
    """probs[B, K, V], context[B, D] -> weights[B, K]: floor + (1 − K·floor) · softmax(sharpness · confidence),
    a teacher's confidence being its largest class probability."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("floor", torch.tensor(0.05))
        self.register_buffer("sharpness", torch.tensor(4.0))

    def forward(self, probs, context):
        conf = probs.amax(dim=-1)
        return self.floor + (1 - K * self.floor) * torch.softmax(self.sharpness * conf, dim=-1)


def problem():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N_DATA, D, generator=g)
    teacher_logits = torch.einsum("nd,kdv->knv", x, 2.0 * torch.randn(K, D, V, generator=g))  # [K, N, V]
    order = torch.randperm(N_DATA, generator=g)  # the data-set indices, in the order the batches take them
    return x, teacher_logits, order


def batch_at(order, step):
    start = (step * BATCH) % N_DATA
    return order[start:start + BATCH]


def train(router, guard, break_at=None):
    """SGD on the student's KD loss against the router-weighted teacher ensemble; the guard checks the
    weights each step's loss receives.  From `break_at` on, the loop drops the router's floor and sharpens
    it (a schedule bug): its weights leave the declared bounds."""
    x, teacher_logits, order = problem()
    torch.manual_seed(1)
    student = torch.nn.Linear(D, V)
    opt = torch.optim.SGD(student.parameters(), lr=0.5)
    losses = []
    for step in range(STEPS):
        if step == break_at:
            router.floor.fill_(0.0)
            router.sharpness.fill_(60.0)
        idx = batch_at(order, step)
        probs = torch.softmax(teacher_logits[:, idx], dim=-1)  # [K, B, V]
        with torch.no_grad():
            weights = router(probs.transpose(0, 1), x[idx]).T  # [K, B]
        guard.update(weights, step=step, positions=idx)
        target = (weights[..., None] * probs).sum(0)  # the weighted ensemble, [B, V]
        loss = -(target * torch.log_softmax(student(x[idx]), dim=-1)).sum(-1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def operator(router):
    return ac.token_operator(router, name="confidence_router", bounds=BOUNDS, register=False)


def test_a_conforming_operator_trains_the_student_and_every_guarded_property_holds():
    router = ConfidenceRouter()
    guard = ac.torch_guard(operator(router), teachers=K)
    losses = train(router, guard)
    assert losses[-1] < losses[0]  # the student learns
    rep = guard.report()
    assert rep.operator == "confidence_router" and rep.statuses() == {
        "runtime.normalization": "pass", "runtime.positivity": "pass", "runtime.bounds": "pass",
        "runtime.safety": "skipped"}
    assert rep["runtime.bounds"].estimate.checked == STEPS * BATCH
    est = rep["runtime.bounds"].estimate
    assert min(est.observed_min) >= BOUNDS[0] and max(est.observed_max) <= BOUNDS[1]


def test_a_broken_schedule_is_reported_at_its_first_step_and_sample():
    router = ConfidenceRouter()
    guard = ac.torch_guard(operator(router), teachers=K)
    train(router, guard, break_at=BREAK_AT)
    # what the guard must find, computed here directly from the weights of the broken steps
    x, teacher_logits, order = problem()
    broken = ConfidenceRouter()
    broken.floor.fill_(0.0)
    broken.sharpness.fill_(60.0)
    tol = 8 * K * float(torch.finfo(torch.float32).eps)
    outside = []
    for step in range(BREAK_AT, STEPS):
        idx = batch_at(order, step)
        w = broken(torch.softmax(teacher_logits[:, idx], dim=-1).transpose(0, 1), x[idx])  # [B, K]
        out = ((w < BOUNDS[0] - tol) | (w > BOUNDS[1] + tol)).any(dim=1)
        outside += [(step, int(idx[b])) for b in range(BATCH) if out[b]]
    assert outside and outside[0][0] == BREAK_AT

    res = {r.axiom: r for r in guard.results()}
    bounds = res["runtime.bounds"]
    assert bounds.status == "fail"
    assert (bounds.estimate.first_step, bounds.estimate.first_position) == outside[0]
    assert bounds.estimate.violations == len(outside)
    assert f"first at step {BREAK_AT}, position {outside[0][1]}" in bounds.message
    assert bounds.counterexample["step"] == BREAK_AT and len(bounds.counterexample["weights"]) == K
    assert res["runtime.normalization"].status == "pass" and res["runtime.positivity"].status == "pass"


def _pytorch_example() -> str:
    text = (ROOT / "docs" / "guard.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S) if "ac.torch_guard" in b]
    assert len(blocks) == 1, "docs/guard.md shows one PyTorch loop"
    return blocks[0]


def test_the_guard_page_s_pytorch_loop_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    try:
        exec(compile(_pytorch_example(), "docs/guard.md", "exec"), namespace)
    finally:
        if any(op.name == "confidence_router" for op in ac.operators()):
            ac.unregister("confidence_router")
    report = namespace["report"]
    assert report.statuses() == {"runtime.normalization": "pass", "runtime.positivity": "pass",
                                 "runtime.bounds": "pass", "runtime.safety": "skipped"}
    assert "'runtime.bounds': 'pass'" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "reports" / "training").iterdir()) == [
        "junit.xml", "report.html", "report.json", "summary.md"]
