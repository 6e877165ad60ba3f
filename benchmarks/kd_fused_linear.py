"""Benchmark: multi-teacher KD fused with the output layer vs the unfused compositions (CPU).

Shapes K=4 teachers, N=2048 positions, d=512, V=32000; student hidden [N, d] and head
[V, d] in float32, teacher logits [K, N, V] in bfloat16, token-independent weights
[K, N]; every timed call computes the loss AND its gradients with respect to hidden
and head. Methods:

  fused         fused_linear_kd_loss_and_grad (student logits never stored)
  unfused JAX   z = hidden @ head.T, then a textbook JAX KD loss (log_softmax of every
                teacher, weighted sum, divergence, mean), jax.value_and_grad wrt both
  unfused kernel z = hidden @ head.T, then kd_loss_and_grad on z, then the two matmuls
                of the chain rule

Timings are interleaved round-robin (every repeat runs every method once), medians.
Memory: each method runs once more in a fresh subprocess: inputs created, compiled
ahead of time, the peak-RSS counter reset (/proc/self/clear_refs), and the growth of
VmHWM over the pre-call VmRSS during ONE call is reported, with and without the
call's outputs; the fused kernel also at 2N (its growth must not grow with N).

    python benchmarks/kd_fused_linear.py             # full size (needs ~8 GB free)
    python benchmarks/kd_fused_linear.py --quick     # N=256, V=4000 smoke test
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

from axiomcheck.kernels import fused_linear_kd_loss_and_grad, kd_loss_and_grad  # noqa: E402

TEMPERATURE = 1.0
METHODS = ("fused", "unfused JAX", "unfused kernel")


# ---------------------------------------------------------------- methods


def textbook_kd(z, teacher, weights, divergence):
    """The straightforward JAX formulation on materialized logits (float32)."""
    log_p = jax.nn.log_softmax(teacher.astype(jnp.float32) / TEMPERATURE, axis=-1)  # [K, N, V]
    q = jnp.sum(weights[..., None] * jnp.exp(log_p), axis=0)  # [N, V]
    log_s = jax.nn.log_softmax(z / TEMPERATURE, axis=-1)
    if divergence == "cross_entropy":
        rows = -jnp.sum(q * log_s, axis=-1)
    else:  # forward KL
        rows = jnp.sum(q * (jnp.log(q) - log_s), axis=-1)
    return jnp.mean(rows)


def make_methods(divergence, block_size):
    def unfused_jax(h, w, t, wt):
        def loss(h, w):
            return textbook_kd(h @ w.T, t, wt, divergence)
        return jax.value_and_grad(loss, argnums=(0, 1))(h, w)

    def unfused_kernel(h, w, t, wt):
        loss, gz = kd_loss_and_grad(h @ w.T, t, wt, divergence=divergence, temperature=TEMPERATURE)
        return loss, (gz @ w, gz.T @ h)

    def fused(h, w, t, wt):
        return fused_linear_kd_loss_and_grad(h, w, wt, teacher_logits=t, divergence=divergence,
                                             temperature=TEMPERATURE, block_size=block_size)

    return {"fused": jax.jit(fused), "unfused JAX": jax.jit(unfused_jax),
            "unfused kernel": jax.jit(unfused_kernel)}


def make_inputs(k, n, d, v, seed=0):
    """hidden, head (float32), teacher logits (bfloat16) and normalized weights [K, N]."""
    rng = np.random.default_rng(seed)
    hidden = rng.standard_normal((n, d), dtype=np.float32)
    head = (rng.standard_normal((v, d), dtype=np.float32) / np.float32(np.sqrt(d)) * 3)
    teacher = jnp.asarray(rng.standard_normal((k, n, v), dtype=np.float32) * 3).astype(jnp.bfloat16)
    w = rng.uniform(0.1, 1.0, (k, n)).astype(np.float32)
    return jnp.asarray(hidden), jnp.asarray(head), teacher, jnp.asarray(w / w.sum(axis=0))


# ---------------------------------------------------------------- the weight guard row


def guard_overhead(fused_fn, args, repeats):
    """(median ms without, with the guard) of the fused step, or a reason it is not measured.

    The weight guard (axiomcheck.kernels.guard, jit-compatible, built separately) is
    measured here when the package provides it: the same jitted step, once as is and
    once also updating the guard state with the weights the kernel receives.
    """
    try:
        from axiomcheck.kernels.guard import GuardSpec, guard_init, guard_update
    except ImportError:
        return "not in this build (axiomcheck.kernels.guard absent)"
    k = args[3].shape[0]
    try:
        spec = GuardSpec(teachers=k)

        def guarded(h, w, t, wt, state):
            out = fused_fn(h, w, t, wt)
            return out, guard_update(state, wt, 0, spec)

        guarded_jit = jax.jit(guarded)
        state = guard_init(spec)
        jax.block_until_ready(guarded_jit(*args, state))
    except Exception as exc:  # noqa: BLE001 - a different guard API: report, do not crash
        return f"guard present but not callable as expected: {type(exc).__name__}: {exc}"
    plain, with_guard = [], []
    for _ in range(repeats):
        plain.append(timed(fused_fn, args))
        with_guard.append(timed(guarded_jit, (*args, state)))
    return float(np.median(plain)), float(np.median(with_guard))


# ---------------------------------------------------------------- timing


def timed(fn, args):
    t0 = time.perf_counter()
    jax.block_until_ready(fn(*args))
    return time.perf_counter() - t0


def run_timings(k, n, d, v, repeats, divergence, block_size):
    args = make_inputs(k, n, d, v)
    methods = make_methods(divergence, block_size)
    outs = {name: jax.block_until_ready(fn(*args)) for name, fn in methods.items()}  # compile
    ref_loss, (ref_gh, ref_gw) = outs["unfused JAX"]
    checks = {}
    for name, (loss, (gh, gw)) in outs.items():
        checks[name] = (abs(float(loss) - float(ref_loss)) / abs(float(ref_loss)),
                        float(jnp.linalg.norm(gh - ref_gh) / jnp.linalg.norm(ref_gh)),
                        float(jnp.linalg.norm(gw - ref_gw) / jnp.linalg.norm(ref_gw)))
    del outs
    times = {name: [] for name in methods}
    for _ in range(repeats):
        for name, fn in methods.items():
            times[name].append(timed(fn, args))
    guard = guard_overhead(methods["fused"], args, repeats)
    return {name: float(np.median(ts)) for name, ts in times.items()}, checks, guard


# ---------------------------------------------------------------- memory

_MEM_SCRIPT = r"""
import gc, json, sys
sys.path.insert(0, {root!r})
sys.path.insert(0, {bench!r})
import jax
import kd_fused_linear as b

def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return None

args = b.make_inputs({k}, {n}, {d}, {v})
fn = b.make_methods({divergence!r}, {block_size})[{name!r}]
compiled = fn.lower(*args).compile()
stats = compiled.memory_analysis()
jax.block_until_ready(args)
gc.collect()
try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    how = "VmHWM after reset (clear_refs) - VmRSS before, one call"
except OSError:
    how = "ru_maxrss after - VmRSS before, one call (peak not reset)"
before = status("VmRSS")
out = jax.block_until_ready(compiled(*args))
peak = status("VmHWM")
out_bytes = sum(x.nbytes for x in jax.tree_util.tree_leaves(out))
print(json.dumps(dict(growth=peak - before, out=out_bytes, how=how,
                      xla_temp=getattr(stats, "temp_size_in_bytes", None))))
"""


def run_memory(name, k, n, d, v, divergence, block_size):
    script = _MEM_SCRIPT.format(root=ROOT, bench=os.path.join(ROOT, "benchmarks"), k=k, n=n, d=d,
                                v=v, name=name, divergence=divergence, block_size=block_size)
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=1200, env=env)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- report


def mib(x):
    return f"{x / 2**20:.1f}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="N=256, V=4000, fewer repeats")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--block-size", type=int, default=None, help="positions per fused block")
    ap.add_argument("--divergence", default="forward_kl", choices=("forward_kl", "cross_entropy"))
    ap.add_argument("--no-memory", action="store_true", help="skip the subprocess RSS checks")
    args = ap.parse_args(argv)
    k, n, d, v = (4, 256, 128, 4000) if args.quick else (4, 2048, 512, 32000)
    repeats = args.repeats or (3 if args.quick else 7)

    load_before = os.getloadavg()[0]
    medians, checks, guard = run_timings(k, n, d, v, repeats, args.divergence, args.block_size)
    load_after = os.getloadavg()[0]
    dev = jax.devices()[0]
    print(f"Fused linear KD benchmark: K={k} N={n} d={d} V={v}, hidden/head float32, teacher "
          f"logits bfloat16, weights [K, N], {args.divergence}, T={TEMPERATURE}; loss + grads wrt "
          f"hidden and head; jax {jax.__version__} on {dev.platform.upper()}, {os.cpu_count()} CPU "
          f"cores ({platform.processor() or platform.machine()}); median of {repeats} interleaved "
          f"runs; fused block_size={args.block_size or 'default'}")
    print(f"1-min load average before/after the timings: {load_before:.2f} / {load_after:.2f}")
    print()
    print("| method | median ms | x unfused JAX | rel. err loss / d hidden / d head vs unfused JAX |")
    print("|---|---:|---:|---|")
    base = medians["unfused JAX"]
    for name in METHODS:
        e = checks[name]
        err = "(reference)" if name == "unfused JAX" else f"{e[0]:.1e} / {e[1]:.1e} / {e[2]:.1e}"
        print(f"| {name} | {medians[name] * 1e3:.1f} | {medians[name] / base:.2f} | {err} |")
    if isinstance(guard, tuple):
        print(f"| fused + weight guard | {guard[1] * 1e3:.1f} | {guard[1] / base:.2f} | "
              f"(without guard, same loop: {guard[0] * 1e3:.1f} ms) |")
    else:
        print(f"| fused + weight guard | - | - | {guard} |")

    rows = [("fused / unfused JAX time", medians["fused"] / base, "<= 1.25x"),
            ("fused / unfused kernel time", medians["fused"] / medians["unfused kernel"], ""),
            ("weight guard: fused + guard / fused",
             guard[1] / guard[0] if isinstance(guard, tuple) else None, "<= 1.05x")]
    mem = {}
    if not args.no_memory:
        print()
        print(f"Peak resident memory growth during one call (fresh subprocess); teacher logits "
              f"(bf16 input) = {mib(k * n * v * 2)} MiB, one [N, V] float32 = {mib(n * v * 4)} MiB:")
        print()
        print("| method | N | growth MiB | outputs MiB | growth - outputs MiB | XLA temp MiB |")
        print("|---|---:|---:|---:|---:|---:|")
        how = None
        for name, nn in [(m, n) for m in METHODS] + [("fused", 2 * n)]:
            m = run_memory(name, k, nn, d, v, args.divergence, args.block_size)
            if "error" in m:
                print(f"| {name} | {nn} | error: {m['error']} | | | |")
                continue
            how = m["how"]
            mem[(name, nn)] = m
            print(f"| {name} | {nn} | {mib(m['growth'])} | {mib(m['out'])} | "
                  f"{mib(m['growth'] - m['out'])} | {mib(m['xla_temp'] or 0)} |")
        if how:
            print()
            print(f"Growth = {how}.")
        if ("fused", n) in mem and ("unfused JAX", n) in mem:
            rows.append(("fused / unfused JAX memory growth",
                         mem[("fused", n)]["growth"] / mem[("unfused JAX", n)]["growth"], "<= 0.25x"))
        if ("fused", n) in mem and ("fused", 2 * n) in mem:
            a, b = mem[("fused", n)], mem[("fused", 2 * n)]
            rows.append((f"fused growth - outputs, N={2 * n} / N={n}",
                         (b["growth"] - b["out"]) / max(1, a["growth"] - a["out"]), "<= 1.2x"))
    print()
    print("| ratio | value | target |")
    print("|---|---:|---|")
    for label, value, target in rows:
        print(f"| {label} | {'-' if value is None else f'{value:.2f}x'} | {target} |")


if __name__ == "__main__":
    main()
