"""Benchmark: fused, streamed KD kernel vs a straightforward JAX formulation vs numpy.

Shapes K=4 teachers, N=512 positions, V=32000 vocabulary, float32; every timed
call computes the loss AND its gradient wrt the student logits.

Protocol A (main table): the teacher weights are entropy weights
softmax_k(-H(softmax(t_k))) computed from the teacher logits INSIDE the timed
region, for every method. Protocol B: the same weights precomputed, only the
loss and gradient timed. The floor is twice a jitted `jnp.exp(t).sum()` over
the teacher logits t (two passes over them are the least a fused kernel reads).
Timings are interleaved round-robin (every repeat runs every method once), so
a busy machine slows all methods alike; medians are reported.

Memory: each method runs once more in a fresh subprocess: inputs created,
compiled ahead of time, then the peak-RSS counter is reset (/proc/self/clear_refs)
and the growth of VmHWM over the pre-call VmRSS during ONE call is reported,
relative to the teacher logits' bytes (this includes the call's outputs).

    python benchmarks/kd_kernel.py            # full size
    python benchmarks/kd_kernel.py --quick    # V=4000 smoke test
    python benchmarks/kd_kernel.py --warm     # each method timed in its own steady state
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from axiomcheck.kernels import (  # noqa: E402
    entropy_kd_loss_and_grad,
    entropy_weights,
    kd_loss_and_grad,
)
from axiomcheck.kernels._common import check_block  # noqa: E402

BETA = 1.0
TEMPERATURE = 1.0
WARM_NOTE = ", each after an untimed call of itself (--warm)"


# ---------------------------------------------------------------- methods


def straightforward_loss(student, teacher, weights=None):
    """The textbook formulation: full [K, N, V] log-probs, probs, weighted sum."""
    log_p = jax.nn.log_softmax(teacher / TEMPERATURE, axis=-1)  # [K, N, V]
    p = jnp.exp(log_p)
    if weights is None:
        entropy = -jnp.sum(p * log_p, axis=-1)  # [K, N]
        weights = jax.nn.softmax(-BETA * entropy, axis=0)
    q = jnp.sum(weights[..., None] * p, axis=0)  # [N, V]
    log_s = jax.nn.log_softmax(student / TEMPERATURE, axis=-1)
    return -jnp.mean(jnp.sum(q * log_s, axis=-1))


def numpy_loss_and_grad(student, teacher, weights=None):
    """float32 numpy reference (same math, eager, no fusion)."""
    s = teacher / np.float32(TEMPERATURE)
    s = s - s.max(axis=-1, keepdims=True)
    e = np.exp(s)
    z_t = e.sum(axis=-1, keepdims=True)
    p = e / z_t
    if weights is None:
        entropy = np.log(z_t[..., 0]) - (p * s).sum(axis=-1)
        a = -BETA * entropy
        a = np.exp(a - a.max(axis=0, keepdims=True))
        weights = a / a.sum(axis=0, keepdims=True)
    q = (weights[..., None] * p).sum(axis=0)
    zs = student / np.float32(TEMPERATURE)
    zs = zs - zs.max(axis=-1, keepdims=True)
    ez = np.exp(zs)
    sz = ez.sum(axis=-1, keepdims=True)
    log_s = zs - np.log(sz)
    n = student.shape[0]
    loss = -(q * log_s).sum() / n
    grad = (ez / sz - q) / (np.float32(TEMPERATURE) * n)
    return np.float32(loss), grad.astype(np.float32)


def make_methods(block_size):
    kw = {"temperature": TEMPERATURE, "block_size": block_size}
    return {
        # protocol A: weights from the teacher logits inside the timed call
        "A kernel fused (entropy_kd_loss_and_grad)": jax.jit(
            lambda z, t: entropy_kd_loss_and_grad(z, t, beta=BETA, **kw)),
        "A kernel 2-pass (entropy_weights + kd_loss_and_grad)": jax.jit(
            lambda z, t: kd_loss_and_grad(
                z, t, entropy_weights(t, beta=BETA, temperature=TEMPERATURE,
                                      block_size=block_size), **kw)),
        "A straightforward jax (value_and_grad)": jax.jit(
            jax.value_and_grad(straightforward_loss)),
        # protocol B: precomputed weights
        "B kernel (kd_loss_and_grad)": jax.jit(lambda z, t, w: kd_loss_and_grad(z, t, w, **kw)),
        "B straightforward jax (value_and_grad)": jax.jit(
            jax.value_and_grad(straightforward_loss)),
    }


def make_inputs(k, n, v, seed=0):
    rng = np.random.default_rng(seed)
    teacher = (rng.standard_normal((k, n, v), dtype=np.float32) * 3.0).astype(np.float32)
    student = rng.standard_normal((n, v), dtype=np.float32)
    return student, teacher


# ---------------------------------------------------------------- timing


def timed(fn, args):
    t0 = time.perf_counter()
    jax.block_until_ready(fn(*args))
    return time.perf_counter() - t0


def run_timings(k, n, v, repeats, numpy_repeats, block_size, warm=False):
    student_np, teacher_np = make_inputs(k, n, v)
    student, teacher = jnp.asarray(student_np), jnp.asarray(teacher_np)
    weights = entropy_weights(teacher, beta=BETA, temperature=TEMPERATURE)
    weights_np = np.asarray(weights)
    methods = make_methods(block_size)
    floor_fn = jax.jit(lambda t: jnp.sum(jnp.exp(t)))
    calls = {name: (fn, (student, teacher, weights) if name.startswith("B") else (student, teacher))
             for name, fn in methods.items()}
    calls["floor: exp(t).sum() (x1, reported x2)"] = (floor_fn, (teacher,))

    # warm-up (compile) and cross-check every method against the numpy reference
    ref_a = numpy_loss_and_grad(student_np, teacher_np)
    ref_b = numpy_loss_and_grad(student_np, teacher_np, weights_np)
    checks = {}
    for name, (fn, args) in calls.items():
        out = jax.block_until_ready(fn(*args))
        if name.startswith(("A", "B")):
            ref = ref_a if name.startswith("A") else ref_b
            loss, grad = out
            checks[name] = (abs(float(loss) - ref[0]) / abs(ref[0]),
                            float(np.linalg.norm(np.asarray(grad) - ref[1])
                                  / np.linalg.norm(ref[1])))
        jax.block_until_ready(fn(*args))

    times = {name: [] for name in calls}
    for _ in range(repeats):  # round-robin: every method once per repeat
        for name, (fn, args) in calls.items():
            if warm:  # an untimed call of the same method first (its own steady state)
                jax.block_until_ready(fn(*args))
            times[name].append(timed(fn, args))
    np_times = {"A numpy float32 (eager)": [], "B numpy float32 (eager)": []}
    for _ in range(numpy_repeats):
        t0 = time.perf_counter()
        numpy_loss_and_grad(student_np, teacher_np)
        np_times["A numpy float32 (eager)"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        numpy_loss_and_grad(student_np, teacher_np, weights_np)
        np_times["B numpy float32 (eager)"].append(time.perf_counter() - t0)
    times.update(np_times)
    return {name: float(np.median(ts)) for name, ts in times.items()}, checks


# ---------------------------------------------------------------- memory

_MEM_SCRIPT = r"""
import gc, json, os, sys
sys.path.insert(0, {root!r})
import numpy as np, jax, jax.numpy as jnp
sys.path.insert(0, os.path.join({root!r}, "benchmarks"))
import kd_kernel as b

def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return None

k, n, v, block_size, name = {k}, {n}, {v}, {block_size}, {name!r}
student_np, teacher_np = b.make_inputs(k, n, v)
student, teacher = jnp.asarray(student_np), jnp.asarray(teacher_np)
weights = b.entropy_weights(teacher, beta=b.BETA, temperature=b.TEMPERATURE)
args = (student, teacher, weights) if name.startswith("B") else (student, teacher)
fn = b.make_methods(block_size)[name]
compiled = fn.lower(*args).compile()
stats = compiled.memory_analysis()
del student_np, teacher_np
gc.collect()
jax.block_until_ready(args)
dev = jax.devices()[0]
if dev.platform != "cpu":
    # accelerator: the allocator's peak counter cannot be reset and already holds the
    # transfers' and compilation's peaks, so the figure is XLA's own accounting of
    # the compiled call (temporaries + outputs); the call runs once to check it runs
    jax.block_until_ready(compiled(*args))
    temp = getattr(stats, "temp_size_in_bytes", None)
    outb = getattr(stats, "output_size_in_bytes", None)
    if temp is None or outb is None:
        print(json.dumps(dict(error=["no memory_analysis on " + dev.platform])))
        sys.exit(0)
    print(json.dumps(dict(growth=temp + outb,
                          how="XLA temp + output bytes of the compiled call (device "
                              "allocator peaks cannot be reset, so no measured peak)",
                          xla_temp=temp, xla_out=outb)))
    sys.exit(0)
try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    how = "VmHWM after reset (clear_refs) - VmRSS before, one call"
except OSError:
    how = "ru_maxrss after - VmRSS before, one call (peak not reset)"
before = status("VmRSS")
out = jax.block_until_ready(compiled(*args))
peak = status("VmHWM")
print(json.dumps(dict(growth=peak - before, how=how,
                      xla_temp=getattr(stats, "temp_size_in_bytes", None),
                      xla_out=getattr(stats, "output_size_in_bytes", None))))
"""


def run_memory(name, k, n, v, block_size):
    script = _MEM_SCRIPT.format(root=ROOT, k=k, n=n, v=v, block_size=block_size, name=name)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=600)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- report


def fmt_ms(sec: float) -> str:
    """Milliseconds with three significant figures below 10 ms (GPU timings), else one decimal."""
    ms = sec * 1e3
    return f"{ms:.3f}" if ms < 10 else f"{ms:.1f}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="V=4000, fewer repeats")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--block-size", type=int, default=None, help="positions per block")
    ap.add_argument("--no-memory", action="store_true", help="skip the subprocess RSS check")
    ap.add_argument("--warm", action="store_true",
                    help="precede every timed call by an untimed call of the same method, "
                         "so no method is timed right after another one's large frees")
    args = ap.parse_args(argv)
    k, n, v = (4, 512, 4000) if args.quick else (4, 512, 32000)
    repeats = args.repeats or (5 if args.quick else 15)
    numpy_repeats = 2 if args.quick else 3

    load_before = os.getloadavg()[0]
    medians, checks = run_timings(k, n, v, repeats, numpy_repeats, args.block_size, args.warm)
    load_after = os.getloadavg()[0]
    floor = 2 * medians.pop("floor: exp(t).sum() (x1, reported x2)")
    teacher_bytes = k * n * v * 4

    print(f"KD kernel benchmark: K={k} N={n} V={v} float32, T={TEMPERATURE}, loss + grad wrt "
          f"student logits; jax {jax.__version__} on {jax.devices()[0].platform.upper()} "
          f"({jax.devices()[0].device_kind}), "
          f"{os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}); "
          f"median of {repeats} interleaved runs{WARM_NOTE if args.warm else ''} "
          f"(numpy: {numpy_repeats}); "
          f"block_size={args.block_size or 'default'} "
          f"({check_block(args.block_size, n, k * v * 4)} positions per block)")
    print(f"1-min load average before/after the timings: {load_before:.2f} / {load_after:.2f} "
          f"(other processes share the cores; timings are only comparable within one run)")
    print()
    print("A = entropy weights computed from the teacher logits inside the timed call; "
          "B = same weights precomputed.")
    print()
    print("| method | median ms | x floor | rel. err loss / grad vs numpy |")
    print("|---|---:|---:|---|")
    for name, sec in medians.items():
        err = checks.get(name)
        err_s = f"{err[0]:.1e} / {err[1]:.1e}" if err else "(reference)"
        print(f"| {name} | {fmt_ms(sec)} | {sec / floor:.2f} | {err_s} |")
    print(f"| floor: 2 x jit(exp(t).sum()) | {fmt_ms(floor)} | 1.00 | |")
    print()

    kern_a = medians["A kernel fused (entropy_kd_loss_and_grad)"]
    kern_2 = medians["A kernel 2-pass (entropy_weights + kd_loss_and_grad)"]
    naive_a = medians["A straightforward jax (value_and_grad)"]
    kern_b = medians["B kernel (kd_loss_and_grad)"]
    naive_b = medians["B straightforward jax (value_and_grad)"]
    print("| ratio | value | target |")
    print("|---|---:|---|")
    print(f"| A kernel fused / floor | {kern_a / floor:.2f}x | <= 3x |")
    print(f"| A kernel 2-pass / floor | {kern_2 / floor:.2f}x | <= 3x |")
    print(f"| A straightforward / kernel fused | {naive_a / kern_a:.2f}x | >= 3x |")
    print(f"| A straightforward / kernel 2-pass | {naive_a / kern_2:.2f}x | >= 3x |")
    print(f"| B straightforward / kernel | {naive_b / kern_b:.2f}x | >= 3x |")
    print(f"| A numpy / kernel fused | {medians['A numpy float32 (eager)'] / kern_a:.2f}x | |")

    if not args.no_memory:
        print()
        where = "device" if jax.devices()[0].platform != "cpu" else "resident"
        print(f"Peak {where} memory growth during one call (fresh subprocess), "
              f"teacher logits = {teacher_bytes / 2**20:.0f} MiB:")
        print()
        print("| method | growth MiB | / teacher bytes | XLA temp MiB | XLA output MiB |")
        print("|---|---:|---:|---:|---:|")
        how = None
        for name in ("A kernel fused (entropy_kd_loss_and_grad)",
                     "A kernel 2-pass (entropy_weights + kd_loss_and_grad)",
                     "A straightforward jax (value_and_grad)",
                     "B kernel (kd_loss_and_grad)",
                     "B straightforward jax (value_and_grad)"):
            m = run_memory(name, k, n, v, args.block_size)
            if "error" in m:
                print(f"| {name} | error: {m['error']} | | | |")
                continue
            how = m["how"]
            print(f"| {name} | {m['growth'] / 2**20:.1f} | {m['growth'] / teacher_bytes:.2f}x | "
                  f"{(m['xla_temp'] or 0) / 2**20:.1f} | {(m['xla_out'] or 0) / 2**20:.1f} |")
        if how:
            print()
            print(f"Growth = {how}; it includes the call's outputs (the [N, V] gradient is "
                  f"{n * v * 4 / 2**20:.0f} MiB = 0.25x the teacher bytes). Target <= 1.5x.")


if __name__ == "__main__":
    main()
