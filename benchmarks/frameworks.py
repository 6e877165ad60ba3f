"""What calling an operator in its framework costs: one guarded call, and verify()'s wall time.

The same weights (exponential-in-entropy over K = 4 teachers, float64, returning [B, K])
written three ways — numpy (framework None), torch (framework="torch": tensors in,
inference mode, numpy back) and a jitted JAX function (framework="jax") — are called
through the engine's guard on one sweep batch, and verified end to end.  A fourth row
is the numpy operator declared without the world it needs: verify() then spends its
time diagnosing the missing size (the "seems to need context_dim=16" error).

Run:  .venv/bin/python benchmarks/frameworks.py          (about 20 s on 2 cores)
      .venv/bin/python benchmarks/frameworks.py --quick  (smoke run)

Times are the best of several repeats; ratios are against the numpy row.  Rows whose
library is not installed are left out, saying so.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import time

import numpy as np

import axiomcheck as ac
from axiomcheck.calling.frameworks import adapt
from axiomcheck.calling.sandbox import Sandbox
from axiomcheck.sampling.domains import DOMAINS, World

K, V = 4, 16


def numpy_weights(probs, context):
    safe = np.where(probs > 0, probs, 1.0)
    h = -(probs * np.log(safe)).sum(axis=-1)
    e = np.exp(-h - (-h).max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def operators() -> dict[str, ac.Operator]:
    ops = {"numpy": ac.token_operator(numpy_weights, name="b_numpy", register=False)}
    if importlib.util.find_spec("torch") is not None:
        import torch

        def torch_weights(probs, context):
            h = -(probs * torch.log(torch.where(probs > 0, probs, 1.0))).sum(-1)
            return torch.softmax(-h, dim=-1)

        ops["torch"] = ac.token_operator(torch_weights, name="b_torch", framework="torch", register=False)
    import jax
    import jax.numpy as jnp

    @jax.jit
    def jax_weights(probs, context):
        h = -(probs * jnp.log(jnp.where(probs > 0, probs, 1.0))).sum(-1)
        return jax.nn.softmax(-h, axis=-1)

    ops["jax (jit)"] = ac.token_operator(jax_weights, name="b_jax", framework="jax", register=False)
    return ops


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def call_time(op: ac.Operator, batch: int, repeats: int) -> float:
    """One guarded call on a sweep batch of `batch` samples (copies in, conversion, copy out)."""
    fam = DOMAINS["token"].sweep(np.random.default_rng(0), World(teachers=K, vocab=V), batch)[0]
    guard = Sandbox(adapt(op.fn, op.framework), names=("probs", "context"), timeout=None)
    guard(*fam.args)  # warm: JIT compilation, torch's first call
    return best_of(lambda: guard(*fam.args), repeats)


def verify_time(op: ac.Operator, max_examples: int, repeats: int, **world: int) -> float:
    ac.verify(op, max_examples=max_examples, **world)  # warm
    return best_of(lambda: ac.verify(op, max_examples=max_examples, **world), repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="few repeats, a small search (a smoke run)")
    args = parser.parse_args()
    repeats = 2 if args.quick else 5
    examples = 10 if args.quick else 100
    ops = operators()
    print(f"load average {os.getloadavg()[0]:.2f}; K = {K}, V = {V}, verify max_examples = {examples}")
    missing = [] if "torch" in ops else ["torch (not installed)"]
    rows = []
    for name, op in ops.items():
        rows.append((name, call_time(op, 256, repeats * 20), verify_time(op, examples, repeats)))
    w = np.random.default_rng(0).normal(size=(16, K))

    def need16(context):  # softmax of a 16 -> K projection: needs 16 context features
        z = context @ w
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    forgot = ac.context_operator(need16, name="b_forgot16", register=False)
    diagnosis = verify_time(forgot, examples, repeats)
    base_call, base_verify = rows[0][1], rows[0][2]
    print(f"{'operator':22} {'guarded call, B=256':>20} {'ratio':>7} {'verify()':>10} {'ratio':>7}")
    for name, call, ver in rows:
        print(f"{name:22} {call * 1e3:17.3f} ms {call / base_call:7.2f} {ver:8.3f} s {ver / base_verify:7.2f}")
    print(f"{'numpy, forgot D = 16':22} {'':>20} {'':>7} {diagnosis:8.3f} s {diagnosis / base_verify:7.2f}")
    for m in missing:
        print(f"left out: {m}")


if __name__ == "__main__":
    main()
