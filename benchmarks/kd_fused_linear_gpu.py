"""Benchmark for one accelerator: fused linear multi-teacher KD vs the unfused textbook version.

Shapes d = 2048, V = 128 256, K = 4 teachers given as hidden states [K, N, d] and heads
[K, V, d]; student hidden [N, d] and head [V, d]; every array bfloat16, float32
accumulation; the loss and its gradients with respect to hidden and head. Methods:

  fused streamed  fused_linear_kd_loss_and_grad(formulation="streamed"): no [N, V] array
  fused auto      the same with formulation="auto" (textbook when it fits the budget)
  unfused JAX     student and teacher logits materialized (float32), textbook KD loss,
                  jax.value_and_grad

Part 1 times every method at one N where all fit (median of --repeats calls) and reports
its peak device memory; part 2 doubles N from --n-start until a method fails (out of
memory or over --timeout seconds) and reports the largest N each can run. Every
measurement runs in a fresh subprocess, so one method's peak or failure cannot touch
another's. On the CPU (e.g. with --small, a smoke test) peak memory is the growth of
VmHWM during the call instead.

    python benchmarks/kd_fused_linear_gpu.py            # the accelerator run
    python benchmarks/kd_fused_linear_gpu.py --small    # d=64, V=512: runs anywhere in seconds
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
METHODS = ("fused streamed", "fused auto", "unfused JAX")

_CHILD = r"""
import json, sys, time
sys.path.insert(0, {root!r})
import jax, jax.numpy as jnp, numpy as np
from axiomcheck.kernels import fused_linear_kd_loss_and_grad

k, n, d, v, name, repeats = {k}, {n}, {d}, {v}, {name!r}, {repeats}
bf = jnp.bfloat16

def textbook(h, w, th, tw, wt):
    def loss(h, w):
        z = jnp.einsum("nd,vd->nv", h, w, preferred_element_type=jnp.float32)
        t = jnp.einsum("knd,kvd->knv", th, tw, preferred_element_type=jnp.float32)
        p = jax.nn.softmax(t, axis=-1)
        q = jnp.sum(wt[..., None] * p, axis=0)
        log_s = jax.nn.log_softmax(z, axis=-1)
        return jnp.mean(jnp.sum(q * (jnp.log(q) - log_s), axis=-1))
    return jax.value_and_grad(loss, argnums=(0, 1))(h, w)

def fused(formulation):
    def fn(h, w, th, tw, wt):
        return fused_linear_kd_loss_and_grad(h, w, wt, teacher_hidden=th, teacher_heads=tw,
                                             divergence="forward_kl", formulation=formulation)
    return fn

fns = {{"fused streamed": fused("streamed"), "fused auto": fused("auto"), "unfused JAX": textbook}}
keys = jax.random.split(jax.random.PRNGKey(0), 5)
args = (jax.random.normal(keys[0], (n, d), bf),
        (jax.random.normal(keys[1], (v, d), jnp.float32) / np.sqrt(d) * 3).astype(bf),
        jax.random.normal(keys[2], (k, n, d), bf),
        (jax.random.normal(keys[3], (k, v, d), jnp.float32) / np.sqrt(d) * 3).astype(bf),
        jax.nn.softmax(jax.random.normal(keys[4], (k, n)), axis=0))
dev = jax.devices()[0]
compiled = jax.jit(fns[name]).lower(*args).compile()
jax.block_until_ready(args)

def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024

stats = dev.memory_stats() if dev.platform != "cpu" else None
if stats:
    before = stats.get("bytes_in_use", 0)
else:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = status("VmRSS")
t0 = time.perf_counter()
out = jax.block_until_ready(compiled(*args))
first = time.perf_counter() - t0
if stats:
    after = dev.memory_stats()
    peak, how = after.get("peak_bytes_in_use", 0), "device peak_bytes_in_use"
else:
    peak, how = status("VmHWM"), "VmHWM (host)"
times = []
for _ in range(repeats):
    t0 = time.perf_counter()
    jax.block_until_ready(compiled(*args))
    times.append(time.perf_counter() - t0)
xla = compiled.memory_analysis()
print(json.dumps(dict(peak=peak, growth=peak - before, how=how, first_s=first,
                      median_s=float(np.median(times)) if times else first,
                      loss=float(out[0]), platform=dev.platform, kind=dev.device_kind,
                      xla_temp=getattr(xla, "temp_size_in_bytes", None))))
"""


def measure(name, k, n, d, v, repeats, timeout):
    script = _CHILD.format(root=ROOT, k=k, n=n, d=d, v=v, name=name, repeats=repeats)
    try:
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"over {timeout} s"}
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        oom = any("RESOURCE_EXHAUSTED" in ln or "out of memory" in ln.lower() for ln in lines)
        return {"error": "out of memory" if oom else (lines[-1][:160] if lines else "failed")}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def gib(x):
    return f"{x / 2**30:.2f}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="d=64, V=512: a smoke test for any machine")
    ap.add_argument("--n-time", type=int, default=None, help="N of the timing table (default 4096)")
    ap.add_argument("--n-start", type=int, default=None, help="first N of the largest-N search")
    ap.add_argument("--n-max", type=int, default=None, help="last N the search may try")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--timeout", type=int, default=240, help="seconds per subprocess")
    args = ap.parse_args(argv)
    if args.small:
        k, d, v = 4, 64, 512
        n_time, n_start, n_max = args.n_time or 256, args.n_start or 256, args.n_max or 1024
    else:
        k, d, v = 4, 2048, 128256
        n_time, n_start, n_max = args.n_time or 4096, args.n_start or 4096, args.n_max or 262144

    print(f"Fused linear KD, accelerator benchmark: K={k} d={d} V={v}, bfloat16 inputs (teachers "
          f"as hidden states and heads), forward KL, loss + grads wrt hidden and head; "
          f"1-min load average {os.getloadavg()[0]:.2f}")
    print()
    print(f"Part 1: N = {n_time} (median of {args.repeats} calls after a first one)")
    print()
    print("| method | median ms | first call ms | peak GiB | growth during the call GiB | XLA temp GiB |")
    print("|---|---:|---:|---:|---:|---:|")
    how = kind = None
    for name in METHODS:
        m = measure(name, k, n_time, d, v, args.repeats, args.timeout)
        if "error" in m:
            print(f"| {name} | {m['error']} | | | | |")
            continue
        how, kind = m["how"], f"{m['platform']} ({m['kind']})"
        print(f"| {name} | {m['median_s'] * 1e3:.1f} | {m['first_s'] * 1e3:.1f} | {gib(m['peak'])} | "
              f"{gib(m['growth'])} | {gib(m['xla_temp'] or 0)} |")
    if how:
        print()
        print(f"Device: {kind}; peak = {how} of the process (inputs included).")
    print()
    print(f"Part 2: largest N each method runs (N doubled from {n_start}, at most {n_max})")
    print()
    print("| method | largest N that ran | peak GiB there | first N that failed | why |")
    print("|---|---:|---:|---:|---|")
    for name in ("fused streamed", "unfused JAX"):
        best, fail = None, None
        n = n_start
        while n <= n_max:
            m = measure(name, k, n, d, v, 0, args.timeout)
            if "error" in m:
                fail = (n, m["error"])
                break
            best = (n, m)
            n *= 2
        best_s = f"{best[0]} | {gib(best[1]['peak'])}" if best else "none | -"
        fail_s = f"{fail[0]} | {fail[1]}" if fail else f"none up to {n_max} | -"
        print(f"| {name} | {best_s} | {fail_s} |")


if __name__ == "__main__":
    main()
