"""Operators written for a framework (`framework="torch" | "jax" | "numpy"`), and results that are tensors.

The torch tests skip when PyTorch is not installed (`pip install 'axiomcheck[torch]'`;
CI installs the CPU build).
"""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import axiomcheck as ac
from axiomcheck.calling.frameworks import Adapted, ConversionError, to_numpy
from tests.helpers import context, token

FAST = dict(max_examples=5, sweep_size=16)


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def statuses(report) -> dict[str, str]:
    return {r.axiom: r.status for r in report.results}


def not_passing(report) -> dict[str, str]:
    return {r.axiom: r.message for r in report.results if r.status not in ("pass", "skipped")}


# ============================================================================= torch


def test_a_conforming_torch_operator_passes_on_float64_tensors(torch):
    seen = []

    def entropy_weights(probs, context):
        seen.append((type(probs), probs.dtype, context.dtype, torch.is_inference_mode_enabled()))
        h = -(probs * torch.log(probs.clamp_min(1e-300))).sum(-1)  # [B, K]
        return 0.02 + 0.92 * torch.softmax(-torch.tanh(h), dim=-1)

    op = token(entropy_weights, name="t_entropy", bounds=(0.02, 0.94), framework="torch")
    report = ac.verify(op, **FAST)
    assert not_passing(report) == {}
    assert report.spec["framework"] == "torch"
    assert set(seen) == {(torch.Tensor, torch.float64, torch.float64, True)}
    # float64 in, float64 out: the dtype-aware tolerance is float64's (float32's would be ~1e-6)
    tolerance = float(re.search(r"tolerance ([0-9.e+-]+)\)", report.results[0].message).group(1))
    assert tolerance < 1e-12


def test_a_violating_torch_operator_fails_what_it_breaks(torch):
    def hard_argmax(context):  # a one-hot choice: not positive, not continuous
        z = torch.stack([context[:, 0], -context[:, 0], context[:, 1], -context[:, 1]], dim=-1)
        return torch.nn.functional.one_hot(z.argmax(-1), 4).to(torch.float64)

    report = ac.verify(context(hard_argmax, name="t_argmax", framework="torch"), **FAST)
    got = statuses(report)
    assert got["context.normalization"] == "pass"
    assert got["context.positivity"] == "fail" and got["context.continuity"] == "fail"


def make_gate(torch, d: int = 16, k: int = 4):
    """A learned context gate: a Linear layer (parameters with requires_grad) and a floored softmax."""

    class Gate(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(0)
            self.lin = torch.nn.Linear(d, k, dtype=torch.float64)

        def forward(self, context):
            return 0.05 + 0.8 * torch.softmax(self.lin(context), dim=-1)

    return Gate()


def test_an_nn_module_with_requires_grad_parameters_is_an_operator(torch):
    gate = make_gate(torch)
    assert all(p.requires_grad for p in gate.parameters())
    op = ac.context_operator(name="t_gate", bounds=(0.05, 0.85), world={"context_dim": 16}, register=False)(gate)
    assert op.framework == "torch" and op.fn.module is gate  # an nn.Module is called in torch by default
    report = ac.verify(op, **FAST)
    assert not_passing(report) == {}


def test_a_result_that_requires_grad_is_not_blamed_on_the_operator(torch):
    """A numpy-in operator that runs a torch layer and returns its graph-attached output.

    It used to be an error on every check ("the operator raised ... Can't call numpy() on Tensor that
    requires grad"): converting the result is axiomcheck's job, and it now detaches it.
    """
    layer = torch.nn.Linear(3, 4, dtype=torch.float64)

    def with_grad(context):
        out = 0.05 + 0.8 * torch.softmax(torch.tanh(layer(torch.from_numpy(context))), dim=-1)
        assert out.requires_grad
        return out

    report = ac.verify(context(with_grad, name="t_grad", bounds=(0.05, 0.85)), **FAST)
    assert not_passing(report) == {}


def test_a_torch_operator_that_writes_into_its_input_is_seen(torch):
    def clamps_in_place(context):
        context.clamp_(-1.0, 1.0)
        return torch.full((context.shape[0], 4), 0.25, dtype=torch.float64)

    report = ac.verify(context(clamps_in_place, name="t_inplace", framework="torch"), **FAST)
    assert "wrote into its input 'context'" in report.results[0].message


def test_a_conversion_failure_is_axiomchecks_not_the_operators(torch):
    def on_meta(context):  # a tensor with no data: it cannot be brought back to numpy
        return torch.empty((context.shape[0], 4), dtype=torch.float64, device="meta")

    report = ac.verify(context(on_meta, name="t_meta", framework="torch"), **FAST)
    message = report.results[0].message
    assert report.results[0].status == "error"
    assert "could not be called: axiomcheck could not convert the operator's result (torch.Tensor" in message
    assert "not a fault of the operator" in message and "raised" not in message


def test_an_nn_module_gets_its_inputs_on_its_own_device(torch):
    """A module on the `meta` device (no data): the inputs reach it there (no device-mismatch error from
    the operator), and its data-less result is a conversion problem, reported as axiomcheck's."""
    gate = make_gate(torch).to("meta")
    op = ac.context_operator(name="t_gate_meta", world={"context_dim": 16}, register=False)(gate)
    report = ac.verify(op, **FAST)
    message = report.results[0].message
    assert "axiomcheck could not convert the operator's result (torch.Tensor" in message, message
    assert "raised" not in message


def test_inputs_keep_their_dtype_and_a_failed_input_conversion_is_a_conversion_error(torch):
    seen = {}

    def record(x, *, labels, params):
        seen.update(x=x.dtype, labels=labels.dtype, w=params["w"].dtype, b=params["layers"][0].dtype)
        return x

    Adapted(record, "torch")(np.zeros(2), labels=np.zeros(2, np.int64),
                             params={"w": np.ones(3, np.float32), "layers": [np.ones(1)]})
    assert seen == {"x": torch.float64, "labels": torch.int64, "w": torch.float32, "b": torch.float64}
    with pytest.raises(ConversionError, match="could not convert the inputs to torch arrays"):
        Adapted(record, "torch")(np.array([object()]))


def test_a_tensor_result_comes_back_as_numpy(torch):
    t = torch.ones(2, 3, dtype=torch.float64, requires_grad=True) * 2
    out = to_numpy(t)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64 and out.tolist() == [[2.0] * 3] * 2
    assert to_numpy(torch.ones(2, dtype=torch.bfloat16)).dtype == np.float32
    assert to_numpy([torch.ones(2), torch.zeros(2)]).shape == (2, 2)


TORCH_OPS = textwrap.dedent('''
    import torch
    import axiomcheck as ac

    @ac.context_operator(name="iso_torch", bounds=(0.05, 0.85), framework="torch", register=False)
    def iso_torch(context):
        assert isinstance(context, torch.Tensor) and torch.is_inference_mode_enabled()
        z = torch.stack([context.sum(-1), -context.sum(-1), context[:, 0], 0 * context[:, 0]], dim=-1)
        return 0.05 + 0.8 * torch.softmax(torch.tanh(z), dim=-1)
''')


def test_a_torch_operator_runs_in_an_isolated_worker(torch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh worker interpreter rebuilds the operator by import and converts its inputs there too."""
    (tmp_path / "iso_torch_ops.py").write_text(TORCH_OPS)
    monkeypatch.syspath_prepend(str(tmp_path))
    from iso_torch_ops import iso_torch

    report = ac.verify(iso_torch, isolate=True, max_examples=0, sweep_size=8,
                       axioms=["context.normalization", "context.boundedness"])
    assert not_passing(report) == {}


def test_an_nn_module_runs_in_a_forked_worker(torch):
    op = ac.context_operator(name="t_gate_iso", bounds=(0.05, 0.85), world={"context_dim": 16},
                             register=False)(make_gate(torch))
    report = ac.verify(op, isolate=True, max_examples=0, sweep_size=8, axioms=["context.normalization"])
    assert not_passing(report) == {}


def test_a_torch_component_is_called_in_torch_inside_a_composition(torch):
    def torch_ctx(context):
        return torch.full((context.shape[0], 4), 0.25, dtype=torch.float64) + 0 * context[:, :1]

    flat = token(lambda probs, context: np.full(probs.shape[:2], 0.25), name="t_flat", bounds=(0.25, 0.25))
    both = ac.compose(flat, context(torch_ctx, name="t_torch_ctx", bounds=(0.25, 0.25), framework="torch"))
    report = ac.verify(both, max_examples=0, sweep_size=8, axioms=["unified.normalization"])
    assert not_passing(report) == {}


def test_framework_declarations_are_checked_when_the_operator_is_built(torch):
    with pytest.raises(ac.SpecError, match="framework must be one of"):
        context(lambda c: c, name="bad", framework="tensorflow")
    with pytest.raises(ac.SpecError, match="an nn.Module takes torch tensors"):
        ac.context_operator(name="bad", framework="numpy", register=False)(make_gate(torch))


# ============================================================================= jax and numpy


def test_a_jitted_operator_works_by_default_and_with_framework_jax():
    import jax
    import jax.numpy as jnp

    seen = []

    @jax.jit
    def jitted(probs, context):
        h = -(probs * jnp.log(jnp.where(probs > 0, probs, 1.0))).sum(-1)
        return 0.02 + 0.92 * jax.nn.softmax(-jnp.tanh(h), axis=-1)

    def recording(probs, context):
        seen.append(type(probs))
        return jitted(probs, context)

    for framework in (None, "jax"):
        op = token(recording, name="t_jit", bounds=(0.02, 0.94), framework=framework)
        report = ac.verify(op, max_examples=0, sweep_size=8, axioms=["token.normalization", "token.bounded_influence"])
        assert not_passing(report) == {}, framework
    kinds = {t.__module__.split(".")[0] for t in seen}
    assert kinds == {"numpy", "jaxlib"} or kinds == {"numpy", "jax"}


def test_framework_numpy_is_numpy_arrays_in():
    seen = set()

    def flat(context):
        seen.add(type(context))
        return np.full((context.shape[0], 4), 0.25)

    assert not_passing(ac.verify(context(flat, name="t_np", bounds=(0.25, 0.25), framework="numpy"), **FAST)) == {}
    assert seen == {np.ndarray}


def test_import_axiomcheck_and_a_numpy_run_load_no_torch():
    """Neither the package nor a numpy operator's run imports torch (it is an optional extra)."""
    import subprocess

    code = ("import sys, numpy as np, axiomcheck as ac; "
            "op = ac.context_operator(lambda c: np.full((len(c), 4), .25), name='x', register=False); "
            "ac.verify(op, max_examples=0, sweep_size=4); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "False", out.stderr


def test_framework_torch_without_pytorch_is_refused_when_the_operator_is_built(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # as if PyTorch were not installed
    with pytest.raises(ac.SpecError, match=r"framework='torch' needs PyTorch \(pip install 'axiomcheck\[torch\]'\)"):
        context(lambda c: c, name="no_torch", framework="torch")
