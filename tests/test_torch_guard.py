"""The weight guard in PyTorch: the same `runtime.*` results as the JAX guard on the same weights, no host
synchronisation (a step with the guard compiles with `torch.compile(fullgraph=True)`), bfloat16 weights
under autocast, the state on the weights' device, `reset`, and `ac.torch_guard` reading the operator.

Skips when PyTorch is not installed (`pip install 'axiomcheck[torch]'`), except the test of the error
`ac.torch_guard` gives then.
"""

from __future__ import annotations

import functools
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import axiomcheck as ac
from axiomcheck.kernels import GuardSpec, guard_init, guard_results, guard_update

K, N, V = 3, 6, 5
S = (1, 3)
PAIRS = ((0, 1), (0, 2))
SPEC = GuardSpec(teachers=K, bounds=(0.1, 0.7), safety_tokens=S, safety_pairs=PAIRS)


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def conforming(per_token: bool = True) -> np.ndarray:
    """Weights in the bounds, normalized, with teacher 0 the largest everywhere."""
    w = np.broadcast_to(np.array([0.5, 0.3, 0.2], np.float32)[:, None, None], (K, N, V)).copy()
    return w if per_token else w[:, :, 0].copy()


def _normalization():
    bad, later = conforming(), conforming()
    bad[:, 4, 2] *= 1.2
    later[:, 0, :] *= 1.1
    return [(0, conforming()), (7, bad), (8, conforming()), (9, later)]


def _positivity_and_bounds():
    bad = conforming()
    bad[:, 2, 0] = [0.6, 0.4, 0.0]
    bad[:, 5, 4] = [0.8, 0.1, 0.1]
    return [(0, conforming()), (3, bad), (4, bad)]


def _safety():
    off_s, on_s = conforming(), conforming()
    off_s[:, 1, 0] = [0.2, 0.5, 0.3]  # token 0 is not in S
    on_s[:, 3, 3] = [0.3, 0.25, 0.45]
    return [(0, off_s), (5, on_s)]


def _token_independent():
    w = conforming(per_token=False)
    w[:, 4] = [0.3, 0.5, 0.2]
    w[:, 5] = [0.3, 0.3, 0.3]
    return [(1, conforming(per_token=False)), (6, w)]


def _nonfinite():
    bad = conforming()
    bad[1, 0, 1] = np.nan
    bad[2, 5, 0] = np.inf
    bad[0, 3, 3] = -np.inf
    return [(4, bad)]


SCENARIOS = {
    "conforming per token": [(t, conforming()) for t in range(3)],
    "conforming, token-independent": [(t, conforming(per_token=False)) for t in range(3)],
    "normalization": _normalization(), "positivity and bounds": _positivity_and_bounds(), "safety": _safety(),
    "token-independent order": _token_independent(), "NaN and inf": _nonfinite(),
}


@functools.cache
def jax_update(spec):
    return jax.jit(lambda state, w, t, pos: guard_update(state, w, t, spec, positions=pos))


def run_both(torch, steps, spec=SPEC, positions=None, dtype=None):
    """The JAX guard's and the torch guard's results after the same steps, as dicts."""
    state, g = guard_init(spec), ac.torch_guard(spec)
    pos = np.arange(N) if positions is None else np.asarray(positions)
    for t, w in steps:
        jw, tw = jnp.asarray(w), torch.from_numpy(w)
        if dtype is not None:
            jw, tw = jw.astype(jnp.bfloat16), tw.to(torch.bfloat16)
        state = jax_update(spec)(state, jw, t, jnp.asarray(pos))
        g.update(tw, step=t, positions=None if positions is None else torch.as_tensor(positions))
    return [r.to_dict() for r in guard_results(state, spec)], [r.to_dict() for r in g.results()]


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_same_results_as_the_jax_guard(torch, scenario):
    want, got = run_both(torch, SCENARIOS[scenario])
    assert got == want
    if scenario.startswith("conforming"):
        assert {r["status"] for r in got} == {"pass"}
    else:
        assert "fail" in {r["status"] for r in got}


def test_an_eager_update_in_pieces_adds_up_to_the_whole(torch, monkeypatch):
    from axiomcheck.guard import torch_guard as tg

    monkeypatch.setattr(tg, "_PIECE", 2)  # one position per piece of per-token weights, two of [K, N]
    for name, steps in SCENARIOS.items():
        want, got = run_both(torch, steps)
        assert got == want, name


def test_same_results_with_positions_bfloat16_and_nothing_declared(torch):
    steps = _normalization()
    want, got = run_both(torch, steps, positions=np.arange(100, 100 + N))
    assert got == want and "first at step 7, position 104, token 2" in got[0]["message"]
    want, got = run_both(torch, steps, dtype="bfloat16")
    assert got == want and got[0]["estimate"]["tolerance"] == pytest.approx(8 * 2.0 ** -7 * K)
    bare = GuardSpec(teachers=K)
    want, got = run_both(torch, steps, spec=bare)
    assert got == want and [r["status"] for r in got] == ["fail", "pass", "skipped", "skipped"]


def test_step_defaults_to_the_number_of_updates_before(torch):
    g = ac.torch_guard(SPEC)
    for _, w in _normalization():
        g.update(torch.from_numpy(w))
    assert g.results()[0].estimate.first_step == 1 and g.results()[0].estimate.steps == 4


def test_reset_forgets_every_step_and_keeps_the_device(torch):
    g = ac.torch_guard(SPEC)
    g.update(torch.from_numpy(_nonfinite()[0][1]))
    assert g.results()[0].status == "fail"
    g.reset()
    assert [r.status for r in g.results()] == ["skipped"] * 4
    g.update(torch.from_numpy(conforming()))
    assert [r.status for r in g.results()] == ["pass"] * 4


def test_the_state_lives_on_the_weights_device(torch):
    g = ac.torch_guard(SPEC)
    assert g.device.type == "cpu"
    g.update(torch.empty((K, N, V), device="meta"))  # shapes only: no value is read, none can be
    assert g.device.type == "meta" and all(t.device.type == "meta" for t in g._state.values())
    assert ac.torch_guard(SPEC, device="meta").device.type == "meta"


def test_the_guard_leaves_gradients_alone(torch):
    logits = torch.randn(N, K, generator=torch.Generator().manual_seed(0), requires_grad=True)
    target = torch.randn(K, N, generator=torch.Generator().manual_seed(1))

    def loss(guard):
        w = torch.softmax(logits, dim=1).T  # [K, N], requires grad
        if guard is not None:
            guard.update(w)
        return (w * target).sum()

    (g_plain,) = torch.autograd.grad(loss(None), logits)
    guard = ac.torch_guard(GuardSpec(teachers=K))
    (g_guarded,) = torch.autograd.grad(loss(guard), logits)
    assert torch.equal(g_plain, g_guarded) and guard.results()[0].status == "pass"


def test_bfloat16_weights_under_autocast(torch):
    torch.manual_seed(0)
    lin = torch.nn.Linear(4, K)
    x = torch.randn(N, 4)
    g = ac.torch_guard(GuardSpec(teachers=K))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = lin(x)
        assert logits.dtype == torch.bfloat16
        w = torch.softmax(logits, dim=-1).to(torch.bfloat16).T  # [K, N] in bfloat16
        g.update(w)
        g.update(w * 1.5, step=1)  # sums of 1.5: broken at bfloat16's tolerance too
    res = g.results()
    assert res[0].estimate.tolerance == pytest.approx(8 * 2.0 ** -7 * K)
    assert [r.status for r in res] == ["fail", "pass", "skipped", "skipped"]
    assert res[0].estimate.first_step == 1 and res[0].estimate.violations == N


def _train_step(torch, guard, lin, x, target, at):
    """One step's loss with the guard inside: what the compiled tests compile."""
    w = torch.softmax(lin(x), dim=-1).T  # [K, N]: the weights the loss receives
    guard.update(w, step=at)
    return ((w * target).sum(0) ** 2).mean()


def _compiled_run(torch, backend):
    torch.manual_seed(0)
    lin, x, target = torch.nn.Linear(4, K), torch.randn(N, 4), torch.randn(K, N)
    w0 = lin.weight.detach().clone()
    with torch.no_grad():
        lin.bias.zero_()
    spec = GuardSpec(teachers=K, bounds=(0.2, 0.5))
    eager, compiled = ac.torch_guard(spec), ac.torch_guard(spec)
    step = torch.compile(lambda at: _train_step(torch, compiled, lin, x, target, at), fullgraph=True,
                         backend=backend)
    for t in range(3):
        with torch.no_grad():
            lin.weight.copy_(w0 * 4 * t)  # uniform weights at step 0, sharp ones (out of [0.2, 0.5]) after
        at = torch.tensor(t)
        step(at).backward()
        _train_step(torch, eager, lin, x, target, at)
    return eager, compiled


@pytest.mark.slow  # reason: torch.compile traces the guard (about 10 s on two CPU cores)
def test_a_step_with_the_guard_compiles_with_fullgraph(torch):
    """fullgraph=True fails on any graph break: a `.item()`, a `.cpu()` or a Python branch on a tensor."""
    eager, compiled = _compiled_run(torch, "aot_eager")
    assert [r.to_dict() for r in compiled.results()] == [r.to_dict() for r in eager.results()]
    assert compiled.results()[2].status == "fail" and compiled.results()[2].estimate.first_step == 1


@pytest.mark.slow  # reason: inductor generates and compiles C++ (one to two minutes on two CPU cores)
def test_a_step_with_the_guard_compiles_with_inductor(torch):
    eager, compiled = _compiled_run(torch, "inductor")
    got, want = compiled.results(), eager.results()
    assert [r.status for r in got] == [r.status for r in want] == ["pass", "pass", "fail", "skipped"]
    assert got[2].estimate.first_step == want[2].estimate.first_step == 1


# ----------------------------------------------------------------------------- ac.torch_guard


def test_torch_guard_reads_the_operator_s_declarations(torch):
    tok = ac.token_operator(lambda p, c: torch.full(p.shape[:2], 1 / p.shape[1]), name="tg_tok", bounds=(0.1, 0.6),
                            safety=ac.Safety(tokens=[2, 5], order=[1, 0, 2]), framework="torch", register=False)
    g = ac.torch_guard(tok, teachers=3)
    assert g.spec == GuardSpec.from_operator(tok, 3) and g.spec.safety_pairs == ((1, 0), (1, 2), (0, 2))
    assert g.operator == "tg_tok" and g.scale == "token"
    rep = g.report()
    assert rep.operator == "tg_tok" and rep.scale == "token" and rep.spec["bounds"] == [0.1, 0.6]
    assert ac.torch_guard(tok, teachers=3, tolerance=1e-3).spec.tolerance == 1e-3
    ac.register(tok)
    try:
        assert ac.torch_guard("tg_tok", teachers=3).spec == g.spec
    finally:
        ac.unregister("tg_tok")


def test_torch_guard_refuses_what_it_cannot_use(torch):
    with pytest.raises(ValueError, match="teachers=K"):
        ac.torch_guard(ac.context_operator(lambda c: c, name="tg_c", register=False))
    with pytest.raises(ValueError, match="disagrees"):
        ac.torch_guard(SPEC, teachers=K + 1)
    g = ac.torch_guard(SPEC)
    with pytest.raises(ValueError, match=r"\[K, N\] or \[K, N, V\] with K = 3"):
        g.update(torch.ones(2, N))
    with pytest.raises(ValueError, match="token 3 is outside the vocabulary V = 2"):
        g.update(torch.ones(K, N, 2))
    with pytest.raises(TypeError, match="torch.Tensor"):
        g.update(np.ones((K, N)))
    assert g.results()[0].status == "skipped"  # refused updates leave the state alone


def test_without_torch_torch_guard_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now fails as if it were not installed
    monkeypatch.delitem(sys.modules, "axiomcheck.guard.torch_guard", raising=False)
    with pytest.raises(ImportError, match=r"needs PyTorch.*pip install 'axiomcheck\[torch\]'"):
        ac.torch_guard(SPEC)


def test_jax_is_not_needed_by_the_torch_guard(torch):
    import subprocess

    code = ("import sys, torch, axiomcheck as ac; from axiomcheck.guard import GuardSpec; "
            "g = ac.torch_guard(GuardSpec(teachers=2)); g.update(torch.full((2, 3), 0.5)); "
            "print([r.status for r in g.results()], 'jax' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['pass', 'pass', 'skipped', 'skipped'] False", out.stdout


@pytest.mark.slow  # reason: inductor compiles the guard's update for each weights' shape (minutes on two CPU cores)
def test_compile_true_gives_the_eager_results(torch):
    for steps in SCENARIOS.values():
        eager, fused = ac.torch_guard(SPEC), ac.torch_guard(SPEC, compile=True)
        for t, w in steps:
            eager.update(torch.from_numpy(w), step=t)
            fused.update(torch.from_numpy(w), step=t)
        assert [r.to_dict() for r in fused.results()] == [r.to_dict() for r in eager.results()]
