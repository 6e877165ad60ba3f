"""Which formulation the kernels run (streamed or textbook), as a function of backend and sizes.

No accelerator is needed: the backend and the device's memory are stood in for, and a spy
on the textbook formulation records whether the kernels took it.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from axiomcheck.kernels import formulation as fm
from axiomcheck.kernels import fused_linear as fl
from axiomcheck.kernels import (
    fused_linear_kd_loss_and_grad,
    kd_loss,
    kd_loss_and_grad,
    pick_formulation,
    textbook_bytes,
)

# the module, not the function the package exports under the same name
kl = importlib.import_module("axiomcheck.kernels.kd_loss")

K, N, V, D = 3, 12, 19, 5


def test_cpu_always_streams_and_accelerators_take_the_textbook_when_it_fits():
    small, huge = textbook_bytes(4, 512, 32000), textbook_bytes(4, 65536, 128256)
    budget = 35 * 2**30  # a quarter of an H200's memory
    assert small < budget < huge
    for backend in ("gpu", "tpu", "cuda", "rocm"):
        assert pick_formulation(backend, small, budget) == "textbook"
        assert pick_formulation(backend, huge, budget) == "streamed"
        assert pick_formulation(backend, budget, budget) == "textbook"  # the bound is inclusive
        assert pick_formulation(backend, budget + 1, budget) == "streamed"
    assert pick_formulation("cpu", small, budget) == "streamed"
    assert pick_formulation("cpu", 0, budget) == "streamed"


def test_textbook_bytes_grow_with_every_size():
    base = textbook_bytes(4, 512, 1000)
    assert textbook_bytes(4, 1024, 1000) == 2 * base
    assert textbook_bytes(4, 512, 2000) == 2 * base
    assert textbook_bytes(8, 512, 1000) > base
    assert textbook_bytes(4, 512, 1000, linear=True) > base


class FakeDevice:
    def __init__(self, stats):
        self.stats = stats

    def memory_stats(self):
        if isinstance(self.stats, Exception):
            raise self.stats
        return self.stats


def test_memory_budget_is_a_share_of_the_device_memory_or_a_fallback():
    assert fm.memory_budget(FakeDevice({"bytes_limit": 1000})) == int(1000 * fm.ACCELERATOR_MEMORY_FRACTION)
    assert fm.memory_budget(FakeDevice(None)) == fm.FALLBACK_BUDGET_BYTES
    assert fm.memory_budget(FakeDevice({})) == fm.FALLBACK_BUDGET_BYTES
    assert fm.memory_budget(FakeDevice(RuntimeError("no stats"))) == fm.FALLBACK_BUDGET_BYTES


@pytest.fixture
def accelerator(monkeypatch):
    """Pretend the default backend is a GPU with a given budget; spy on the textbook path."""
    calls = []
    monkeypatch.setattr(fm.jax, "default_backend", lambda: "gpu")

    def set_budget(nbytes):
        monkeypatch.setattr(fm, "memory_budget", lambda device=None: nbytes)

    for mod, name in ((kl, "textbook_loss"), (fl, "textbook_linear_loss")):
        real = getattr(mod, name)

        def spy(*a, _real=real, _name=name, **kw):
            calls.append(_name)
            return _real(*a, **kw)

        monkeypatch.setattr(mod, name, spy)
    return set_budget, calls


def inputs(seed=0):
    rng = np.random.default_rng(seed)
    f = np.float32
    return (rng.standard_normal((N, V)).astype(f), rng.standard_normal((K, N, V)).astype(f),
            rng.uniform(0.1, 1, (K, N)).astype(f), rng.standard_normal((N, D)).astype(f),
            rng.standard_normal((V, D)).astype(f))


def test_kernels_follow_the_choice_on_an_accelerator(accelerator):
    set_budget, calls = accelerator
    s, t, w, h, head = inputs()
    fits = textbook_bytes(K, N, V, linear=True)

    set_budget(fits)  # fits: textbook, for the logit and the fused kernels alike
    text = kd_loss_and_grad(s, t, w, divergence="jsd")
    kd_loss(s, t, w)
    fused_text = fused_linear_kd_loss_and_grad(h, head, w, teacher_logits=t)
    assert calls == ["textbook_loss", "textbook_loss", "textbook_linear_loss"]

    calls.clear()
    set_budget(textbook_bytes(K, N, V) - 1)  # too big for the budget: streamed
    streamed = kd_loss_and_grad(s, t, w, divergence="jsd")
    fused_streamed = fused_linear_kd_loss_and_grad(h, head, w, teacher_logits=t)
    set_budget(fits)
    kd_loss_and_grad(s, t, w, block_size=4)  # an explicit block size asks for streaming
    fused_linear_kd_loss_and_grad(h, head, w, teacher_logits=t, formulation="streamed")
    assert calls == []
    kd_loss_and_grad(s, t, w, formulation="textbook", block_size=4)  # explicit wins
    assert calls == ["textbook_loss"]

    np.testing.assert_allclose(text[0], streamed[0], rtol=2e-6)
    np.testing.assert_allclose(text[1], streamed[1], rtol=2e-5, atol=1e-7)
    np.testing.assert_allclose(fused_text[0], fused_streamed[0], rtol=2e-6)
    for a, b in zip(fused_text[1], fused_streamed[1], strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6)


def test_cpu_keeps_streaming_whatever_the_budget(monkeypatch):
    calls = []
    monkeypatch.setattr(fm.jax, "default_backend", lambda: "cpu")
    monkeypatch.setattr(fm, "memory_budget", lambda device=None: 1 << 60)
    monkeypatch.setattr(kl, "textbook_loss", lambda *a, **k: calls.append(1))
    s, t, w, _, _ = inputs(1)
    kd_loss_and_grad(s, t, w)
    assert calls == []


def test_fused_default_block_follows_the_backend(monkeypatch):
    """128 MiB of block temporaries on the CPU, 1 GiB on an accelerator, never fewer
    than 32 positions nor more than N."""
    monkeypatch.setattr(fl.jax, "default_backend", lambda: "cpu")
    assert fl.default_fused_block(2048, 4, 32000) == 131  # (4 + 4) · 32000 · 4 bytes a position
    assert fl.default_fused_block(2048, 4, 128256) == 32  # 128 MiB of (4 + 4) · 128256 floats
    assert fl.default_fused_block(2048, 4, 262144) == 32  # would be 16: the floor
    assert fl.default_fused_block(20, 4, 32000) == 20
    monkeypatch.setattr(fl.jax, "default_backend", lambda: "gpu")
    assert fl.default_fused_block(8192, 4, 128256) == 261
