"""The sharded KD kernel on 4 simulated CPU devices, checked in a subprocess.

XLA_FLAGS must be set before JAX initializes, and other test modules import JAX
in this pytest process, so the check runs in a fresh interpreter; the test
asserts on its exit code and on what it prints.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = textwrap.dedent(
    """
    import jax, jax.numpy as jnp, numpy as np
    from jax.sharding import Mesh
    from axiomcheck.kernels import kd_loss_and_grad, sharded_kd_loss_and_grad

    devices = jax.devices()
    assert len(devices) == 4, devices
    rng = np.random.default_rng(0)
    k, v = 3, 19
    cases = [(16, False, None), (16, True, 3), (12, False, 2), (12, True, 1)]
    for n, per_token, block in cases:
        teacher = (rng.standard_normal((k, n, v)) * 3).astype(np.float32)
        student = (rng.standard_normal((n, v)) * 3).astype(np.float32)
        teacher[:, :, 4] = -np.inf
        student[:, 4] = -np.inf
        w = rng.uniform(0.1, 1.0, (k, n, v) if per_token else (k, n)).astype(np.float32)
        kw = dict(temperature=1.7, t_squared=True, block_size=block)
        want_loss, want_grad = kd_loss_and_grad(student, teacher, w, **kw)
        assert len(want_grad.sharding.device_set) == 1
        loss, grad = sharded_kd_loss_and_grad(student, teacher, w, **kw)
        assert grad.shape == (n, v), grad.shape
        assert len(grad.sharding.device_set) == 4, grad.sharding
        shards = grad.addressable_shards
        assert len({s.device for s in shards}) == 4
        starts = sorted(s.index[0].start or 0 for s in shards)
        assert len(set(starts)) == 4, starts  # every device holds different positions
        assert np.isfinite(float(loss))
        np.testing.assert_allclose(float(loss), float(want_loss), rtol=2e-6)
        err = np.linalg.norm(np.asarray(grad) - np.asarray(want_grad))
        assert err <= 2e-6 * np.linalg.norm(np.asarray(want_grad)), err
        print("case", n, per_token, block, "shards", [s.data.shape for s in shards])

    # divergences, labels and a padding mask: normalized by the global count of kept positions
    n = 16
    teacher = (rng.standard_normal((k, n, v)) * 3).astype(np.float32)
    student = (rng.standard_normal((n, v)) * 3).astype(np.float32)
    w = rng.uniform(0.1, 1.0, (k, n)).astype(np.float32)
    labels = rng.integers(0, v, n).astype(np.int32)
    labels[[1, 2]] = -100
    mask = np.ones(n, bool)
    mask[9:14] = False  # a whole device's share and part of another's
    kw = dict(divergence="jsd", beta=0.3, temperature=1.5, labels=labels, alpha=0.4, mask=mask)
    want_loss, want_grad = kd_loss_and_grad(student, teacher, w, **kw)
    loss, grad = sharded_kd_loss_and_grad(student, teacher, w, **kw)
    np.testing.assert_allclose(float(loss), float(want_loss), rtol=2e-6)
    np.testing.assert_allclose(np.asarray(grad), np.asarray(want_grad), rtol=2e-5, atol=1e-7)
    print("MASKED_OK")

    # an explicit 2 x 2 mesh: positions are split over both axes
    mesh = Mesh(np.asarray(devices).reshape(2, 2), ("a", "b"))
    loss, grad = sharded_kd_loss_and_grad(student, teacher, w, mesh=mesh)
    want_loss, want_grad = kd_loss_and_grad(student, teacher, w)
    assert len(grad.sharding.device_set) == 4
    np.testing.assert_allclose(float(loss), float(want_loss), rtol=2e-6)

    # an uneven split is refused rather than silently gathered
    try:
        sharded_kd_loss_and_grad(student[:10], teacher[:, :10], w[:, :10])
    except ValueError as exc:
        assert "multiple of" in str(exc)
    else:
        raise AssertionError("N=10 on 4 devices must raise")
    print("SHARDED_OK")
    """
)


def test_sharded_matches_single_device_on_4_cpu_devices():
    env = dict(os.environ)
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4")
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SHARDED_OK" in proc.stdout, proc.stdout + proc.stderr
    assert proc.stdout.count("case ") == 4
    assert "MASKED_OK" in proc.stdout
