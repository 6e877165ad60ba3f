"""Engine throughput: the vectorized sweep against a one-example-per-call Hypothesis loop
and against the bare operator, at K = 4 and V ∈ {16, 1024}; the cost of one guarded call
in process and with `isolate=True`; verify()'s wall time; and the vocabulary sweep of
benchmarks/vocab.py (verify() at V ∈ {16, 1024, 32 000, 128 256}, K = 8: wall time, peak
resident memory, sweep throughput against the bare operator; then the verdicts of every
built-in operator at V = 32 000 against V = 16).

Run:  .venv/bin/python benchmarks/engine.py          (a few minutes on 2 cores)
      .venv/bin/python benchmarks/engine.py --quick  (smoke run)

All three tiers use the same operator (exponential-in-entropy weights, numpy float64,
returning [B, K]) and the same pointwise checks (finite, normalization, positivity,
declared bounds).  Throughput is samples per second, best of several repeats.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings

import axiomcheck as ac
from axiomcheck.calling.isolation import IsolatedSandbox
from axiomcheck.calling.sandbox import Sandbox
from axiomcheck.checks import properties as P
from axiomcheck.engine import Settings, Verifier
from axiomcheck.sampling.domains import DOMAINS, World

sys.path.insert(0, str(Path(__file__).resolve().parent))
import vocab as vocab_sweep  # noqa: E402 - the sibling script: one entropy operator, one timer

K = 4


def make_op(vocab: int) -> ac.Operator:
    return vocab_sweep.make_op(vocab, K)


best_of = vocab_sweep.best_of
entropy_weights = vocab_sweep.entropy_weights



def sweep_rate(op, world, n, repeats):
    """Generation + one call per family batch + every pointwise check, as verify() does it."""
    samples = {}

    def run():
        v = Verifier(op, world, Settings(sweep_size=n, max_examples=0))
        v.sweep()
        samples["n"] = v.evidence["token.shape"].samples  # every sample the sweep called the operator on
        found = {k: c.finding.message for k, c in v.evidence.checks.items() if c.finding}
        assert not found, found

    t = best_of(run, repeats)
    return samples["n"] / t


def bare_rate(op, world, n, repeats):
    """The limit: the operator alone on the same pre-generated family batches, no checking."""
    fams = Verifier(op, world, Settings(sweep_size=n, max_examples=0)).families()
    total = sum(f.size for f in fams)

    def run():
        for f in fams:
            op.fn(*f.args)

    return total / best_of(run, repeats)


def loop_rate(op, world, examples):
    """A plain Hypothesis loop: one generated example, one call, the same checks, per iteration."""
    lo, hi = op.bounds
    strategy = DOMAINS["token"].strategy(world, max_batch=1)
    count = {"n": 0}

    @settings(max_examples=examples, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def loop(args):
        W = np.asarray(op.fn(*args))[:, None, :]
        assert not P.finite(W).any and not P.normalized(W, 1e-12).any and not P.positive(W).any
        assert not P.bounded(W, lo, hi, 1e-12).any
        count["n"] += 1

    t0 = time.perf_counter()
    loop()
    return count["n"] / (time.perf_counter() - t0)


def call_cost(op, world, calls: int) -> dict[str, float]:
    """Median seconds per call on one 16-sample batch: bare, guarded in process, guarded in a worker process."""
    args = DOMAINS["token"].sweep(np.random.default_rng(0), world, 16)[0].args
    out = {}
    guards = {"bare": None, "in process": Sandbox(op.fn, timeout=10.0),
              "isolate=True": IsolatedSandbox(op.fn, timeout=10.0)}
    for label, guard in guards.items():
        call = (lambda: op.fn(*args)) if guard is None else (lambda g=guard: g(*args))
        call()  # warm (starts the worker process)
        times = []
        for _ in range(calls):
            t0 = time.perf_counter()
            call()
            times.append(time.perf_counter() - t0)
        out[label] = float(np.median(times))
        if guard is not None:
            guard.close()
    return out


VERIFY_SCRIPT = r"""
import time
t0 = time.perf_counter()
import jax, jax.numpy as jnp
import axiomcheck as ac

@jax.jit
def weights(probs, context):
    h = -jnp.sum(jnp.where(probs > 0, probs * jnp.log(jnp.where(probs > 0, probs, 1.0)), 0.0), axis=-1)
    return jax.nn.softmax(-h, axis=-1)

op = ac.token_operator(lambda p, c: weights(p, c), name="jax_entropy_exp", bounds=(0.0038, 0.85), register=False)
report = ac.verify(op)
print(f"{time.perf_counter() - t0:.2f} {report.passed} {len(report.results)}")
"""


def verify_wall_time() -> tuple[float, str]:
    out = subprocess.run([sys.executable, "-c", VERIFY_SCRIPT], capture_output=True, text=True, check=True)
    secs, passed, n = out.stdout.split()
    return float(secs), f"passed={passed}, {n} results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat (smoke test)")
    parser.add_argument("--no-verdicts", action="store_true",
                        help="skip the verdicts of the built-in operators at V = 32 000 against V = 16")
    parser.add_argument("--baseline-tree", metavar="DIR",
                        help="another checkout of the repository: time verify() at V = 16 with it too")
    args = parser.parse_args()
    sizes = {16: 4096, 1024: 1024} if not args.quick else {16: 256, 1024: 64}
    repeats = 1 if args.quick else 5
    examples = 50 if args.quick else 300
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"axiomcheck engine throughput (K = {K}, samples/s, best of {repeats})")
    for col in ("V", "batch/family", "sweep", "Hypothesis loop", "bare operator", "sweep / loop", "sweep / bare"):
        table.add_column(col, justify="right")
    ratios = {}
    for vocab, n in sizes.items():
        world = World(teachers=K, vocab=vocab)
        op = make_op(vocab)
        sweep = sweep_rate(op, world, n, repeats)
        loop = loop_rate(op, world, examples)
        bare = bare_rate(op, world, n, repeats)
        ratios[vocab] = (sweep / loop, sweep / bare)
        table.add_row(str(vocab), str(n), f"{sweep:,.0f}", f"{loop:,.0f}", f"{bare:,.0f}",
                      f"{sweep / loop:,.0f}×", f"{sweep / bare:.2f}")
    console = Console()
    console.print(table)
    cost = call_cost(make_op(16), World(teachers=K, vocab=16), 50 if args.quick else 500)
    calls = Table(title=f"one call on a 16-sample batch (K = {K}, V = 16), median")
    for col in ("call", "µs per call", "× bare"):
        calls.add_column(col, justify="right")
    for label, t in cost.items():
        calls.add_row(label, f"{t * 1e6:,.0f}", f"{t / cost['bare']:,.1f}")
    console.print(calls)
    console.print(f"isolate=True adds {(cost['isolate=True'] - cost['in process']) * 1e6:,.0f} µs per call "
                  f"over the in-process guard")
    secs, what = verify_wall_time()
    console.print(f"verify() of one JAX operator with defaults, JAX start-up included: {secs:.2f} s ({what})")
    if not args.quick:  # the vocabulary sweep: V ∈ {16, 1024, 32 000, 128 256} at K = 8, then the verdicts
        import vocab

        vocab.run(verdicts=not args.no_verdicts, baseline_tree=args.baseline_tree, console=console)
    console.print(f"targets: sweep/loop ≥ 100× at V=16 → {ratios[16][0]:,.0f}× "
                  f"{'met' if ratios[16][0] >= 100 else 'NOT met'}; sweep/bare ≥ 0.5 at V=1024 → "
                  f"{ratios[1024][1]:.2f} {'met' if ratios[1024][1] >= 0.5 else 'NOT met'}; verify ≤ 10 s → "
                  f"{secs:.2f} s {'met' if secs <= 10 else 'NOT met'}")


if __name__ == "__main__":
    main()
