"""Benchmark: the weight guard's cost inside a jitted KD training step.

One step = `jax.value_and_grad` of the existing kernel `axiomcheck.kernels.kd_loss`
with respect to the student logits, jitted; the guarded step is the same jitted
function that also folds the step's weights into a `GuardState` with
`guard_update` (bounds and a token safety order declared, so all four properties
are checked) and returns the new state.  Shapes K = 4, N = 2048, V = 32000
(the fused-linear benchmark's), teacher logits in bfloat16, weights token-
independent [K, N] and per-token [K, N, V] (two cases), and per-token weights that break
normalization at every tenth position (the guard's locating path; for information).
Timings are interleaved (every repeat runs both steps, in alternating order); wall and
CPU medians and the median of the per-repeat ratios are reported, with the load
average, since the cores are shared.

    python benchmarks/weight_guard.py              # full size
    python benchmarks/weight_guard.py --quick      # N=256, V=4000 smoke test
    python benchmarks/weight_guard.py --no-per-token

`guarded(step, spec, weights_at)` is importable, and the timing (`time_steps`, `paired_ratio`)
is `benchmarks/timing.py`, so another benchmark can time its own step with and without the guard.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from timing import columns, ms, paired_ratio, time_steps  # noqa: E402, F401 - paired_ratio: importable from here too

from axiomcheck.kernels import GuardSpec, guard_init, guard_update, kd_loss  # noqa: E402

TARGET = 1.05  # guarded step / plain step

__all__ = ["TARGET", "demo_spec", "guarded", "kernel_step", "make_inputs", "paired_ratio", "run", "time_steps"]


def guarded(step: Callable[..., Any], spec: GuardSpec, weights_at: int) -> Callable[..., Any]:
    """`(state, step_no, *args) -> (step(*args), new state)`, jitted: `step` with the guard inside,
    checking `args[weights_at]` (the weights the step's kernel receives)."""

    def fn(state, step_no, *args):
        return step(*args), guard_update(state, args[weights_at], step_no, spec)

    return jax.jit(fn)


def kernel_step(student, teacher, weights):
    """The plain training step: loss and gradient wrt the student logits, through the kernel."""
    return jax.value_and_grad(lambda z: kd_loss(z, teacher, weights))(student)


def demo_spec(k: int) -> GuardSpec:
    """Declared bounds and a safety order on two tokens, so every property is checked."""
    return GuardSpec(teachers=k, bounds=(0.01, 0.99), safety_tokens=(3, 8),
                     safety_pairs=tuple((0, j) for j in range(1, k)))


def make_inputs(k: int, n: int, v: int, per_token: bool, seed: int = 0, violating: bool = False):
    """Student logits [N, V] f32, teacher logits [K, N, V] bf16, weights [K, N] or [K, N, V].

    Teacher 0 (the safest) has the largest weight everywhere and all weights lie in the
    bounds, so the guard finds nothing; `violating` scales every tenth position's weights
    by 1.01 (normalization broken there), so every step takes the guard's locating path."""
    rng = np.random.default_rng(seed)
    student = jnp.asarray(rng.standard_normal((n, v), dtype=np.float32))
    teacher = jnp.asarray(rng.standard_normal((k, n, v), dtype=np.float32) * 3.0).astype(jnp.bfloat16)
    shape = (k, n, v) if per_token else (k, n)
    a = rng.uniform(0.2, 1.0, size=shape).astype(np.float32)
    a[0] += 1.0
    a = a / a.sum(axis=0, keepdims=True)
    if violating:
        a[:, ::10] *= np.float32(1.01)
    return student, teacher, jnp.asarray(a)


#: (per-token weights, violating weights) of each row of the table
CASES = ((False, False), (True, False), (True, True))


def run(k: int, n: int, v: int, repeats: int, cases: tuple[tuple[bool, bool], ...] = CASES) -> list[dict[str, Any]]:
    """One row per (weight layout, violating): plain and guarded median step times, their ratio,
    and the guard's counts of violations and of checked weight vectors."""
    spec = demo_spec(k)
    plain = jax.jit(kernel_step)
    guard = guarded(kernel_step, spec, weights_at=2)
    rows = []
    for per_token, violating in cases:
        args = make_inputs(k, n, v, per_token, violating=violating)
        state = guard_init(spec)
        calls = {"plain": (plain, args), "guarded": (guard, (state, jnp.int32(0), *args))}
        t = time_steps(calls, repeats, wait=jax.block_until_ready)
        (loss_g, _), new_state = guard(state, jnp.int32(0), *args)
        loss_p, _ = plain(*args)
        label = f"[K, N, V] = {list(args[2].shape)}" if per_token else f"[K, N] = {list(args[2].shape)}"
        rows.append({"weights": label + (", every 10th position unnormalized" if violating else ""),
                     "violating": violating, **columns(t),
                     "same_loss": bool(loss_g == loss_p),
                     "violations": np.asarray(new_state.violations).tolist(),
                     "checked": np.asarray(new_state.checked).tolist()})
        del args, calls
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="N=256, V=4000, fewer repeats")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--no-per-token", action="store_true", help="only token-independent [K, N] weights")
    ap.add_argument("--no-violating", action="store_true", help="leave out the row with violating weights")
    args = ap.parse_args(argv)
    k, n, v = (4, 256, 4000) if args.quick else (4, 2048, 32000)
    repeats = args.repeats or (5 if args.quick else 15)
    cases = tuple(c for c in CASES if not (args.no_per_token and c[0]) and not (args.no_violating and c[1]))
    load_before = os.getloadavg()
    rows = run(k, n, v, repeats, cases)
    load_after = os.getloadavg()
    dev = jax.devices()[0]
    print(f"Weight guard benchmark: K={k} N={n} V={v}, teacher logits bfloat16, weights float32; one step = "
          f"jit(value_and_grad(kd_loss)) wrt the student logits; jax {jax.__version__} on "
          f"{dev.platform.upper()} ({dev.device_kind}), {os.cpu_count()} CPU cores "
          f"({platform.processor() or platform.machine()}); median of {repeats} interleaved runs")
    print(f"load average (1, 5, 15 min) before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}; "
          f"after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f} "
          f"(other processes share the cores; compare within one run)")
    print()
    print("| weights | step ms | step + guard ms | ratio (wall) | step CPU ms | step + guard CPU ms | ratio (CPU) "
          "| target | met? | guard: violations / checked |")
    print("|---|---:|---:|---:|---:|---:|---:|---|---|---|")
    ok = True
    for r in rows:
        met = r["ratio"] <= TARGET
        found = any(r["violations"]) == r["violating"]  # violations found exactly where there are some
        if not r["violating"]:
            ok &= met
        ok &= r["same_loss"] and found
        target = "(information)" if r["violating"] else f"<= {TARGET}x"
        verdict = "" if r["violating"] else ("yes" if met else "**no**")
        print(f"| {r['weights']} | {ms(r['plain_s'])} | {ms(r['guarded_s'])} | {r['ratio']:.3f}x | "
              f"{ms(r['plain_cpu_s'])} | {ms(r['guarded_cpu_s'])} | {r['cpu_ratio']:.3f}x | "
              f"{target} | {verdict} | {r['violations']} / {r['checked']} |")
    print()
    print("step ms: median wall time; CPU ms: median CPU time of this process (all threads), which other "
          "processes on the cores disturb less; ratio: median over repeats of (step + guard) / step, the two "
          "calls of a repeat run next to each other (order alternating). The target is judged on the wall ratio.")
    print("violations / checked: per property (normalization, positivity, bounds, safety). On conforming weights "
          "every count of violations must be 0 and the guard takes its one-pass path; on violating weights it "
          "also counts and locates the violations (a second pass), which the last row times. The guarded "
          "step's loss is the plain step's: "
          f"{'yes' if all(r['same_loss'] for r in rows) else 'NO'}.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
