"""Benchmark: the PyTorch weight guard's cost inside a KD training step.

One step = the KD loss of a student against the weighted teacher ensemble (teacher
softmax, the ensemble Σ_k w_k p_k renormalized over the vocabulary, the cross-entropy
with the student's log-softmax) and its gradient wrt the student logits
(`torch.autograd.grad`); the guarded step is the same step with
`guard.update(weights, step)` inside (declared bounds and a safety order on two
tokens, so all four properties are checked).  Shapes K = 4, N = 2048, V = 32000,
teacher logits in bfloat16, weights float32, token-independent [K, N] and per-token
[K, N, V].  Each layout runs eagerly and, with `--compile`, eagerly with the guard
compiled on its own (`ac.torch_guard(..., compile=True)`) and with the loss (and the
guard) under `torch.compile` (inductor; the backward is compiled with it).  Timings are
interleaved (every repeat runs both steps, in alternating order); wall and CPU medians
and the median of the per-repeat ratios are reported, with the load average, since
the cores are shared.

    python benchmarks/torch_guard.py                # full size, eager
    python benchmarks/torch_guard.py --compile      # and compiled
    python benchmarks/torch_guard.py --quick        # N=256, V=4000 smoke test
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from collections.abc import Callable
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import torch  # noqa: E402
from timing import columns, ms, time_steps  # noqa: E402

import axiomcheck as ac  # noqa: E402
from axiomcheck.guard import GuardSpec  # noqa: E402

TARGET = 1.05  # guarded step / plain step


def demo_spec(k: int) -> GuardSpec:
    """Declared bounds and a safety order on two tokens, so every property is checked."""
    return GuardSpec(teachers=k, bounds=(0.01, 0.99), safety_tokens=(3, 8), safety_pairs=tuple((0, j) for j in range(1, k)))


def make_inputs(k: int, n: int, v: int, per_token: bool, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Student logits [N, V] f32 (requiring grad), teacher logits [K, N, V] bf16, weights [K, N] or [K, N, V]
    f32: in the bounds, normalized, teacher 0 (the safest) the largest everywhere."""
    g = torch.Generator().manual_seed(seed)
    student = torch.randn(n, v, generator=g).requires_grad_(True)
    teacher = (torch.randn(k, n, v, generator=g) * 3.0).to(torch.bfloat16)
    shape = (k, n, v) if per_token else (k, n)
    a = torch.rand(shape, generator=g) * 0.8 + 0.2
    a[0] += 1.0
    return student, teacher, a / a.sum(0, keepdim=True)


def kd_loss(student: torch.Tensor, teacher: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the student from the weighted teacher ensemble, renormalized over V."""
    p = torch.softmax(teacher.float(), dim=-1)  # [K, N, V]
    w = weights if weights.dim() == 3 else weights[..., None]
    mix = (w * p).sum(0)
    q = mix / mix.sum(-1, keepdim=True)
    return -(q * torch.log_softmax(student, dim=-1)).sum(-1).mean()


#: how the steps run: the step eager or compiled; the guard in it, or compiled on its own (compile=True)
MODES = ("eager", "eager, guard compile=True", "torch.compile")


def steps(spec: GuardSpec, mode: str) -> tuple[Callable[..., Any], Callable[..., Any], Any]:
    """(plain step, guarded step, the guard): each step returns (loss, d loss / d student)."""
    compiled = mode == "torch.compile"
    guard = ac.torch_guard(spec, compile=mode == "eager, guard compile=True")

    def guarded_loss(student, teacher, weights, at):
        guard.update(weights, step=at)
        return kd_loss(student, teacher, weights)

    plain_fwd = torch.compile(kd_loss) if compiled else kd_loss
    guarded_fwd = torch.compile(guarded_loss, fullgraph=True) if compiled else guarded_loss

    def plain(student, teacher, weights, at):
        loss = plain_fwd(student, teacher, weights)
        return loss, torch.autograd.grad(loss, student)[0]

    def guarded(student, teacher, weights, at):
        loss = guarded_fwd(student, teacher, weights, at)
        return loss, torch.autograd.grad(loss, student)[0]

    return plain, guarded, guard


def run(k: int, n: int, v: int, repeats: int, modes: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = []
    spec = demo_spec(k)
    for mode in modes:
        for per_token in (False, True):
            args = make_inputs(k, n, v, per_token)
            plain, guarded, guard = steps(spec, mode)
            at = torch.zeros((), dtype=torch.int64)
            t = time_steps({"plain": (plain, (*args, at)), "guarded": (guarded, (*args, at))}, repeats)
            loss_p, grad_p = plain(*args, at)
            loss_g, grad_g = guarded(*args, at)
            res = guard.results()
            label = f"[K, N, V] = {list(args[2].shape)}" if per_token else f"[K, N] = {list(args[2].shape)}"
            rows.append({"weights": label, "mode": mode,
                         **columns(t),
                         "same_loss": bool(torch.equal(loss_p, loss_g) and torch.equal(grad_p, grad_g)),
                         "statuses": [r.status for r in res], "checked": res[0].estimate.checked})
            del args, plain, guarded, guard
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="N=256, V=4000, fewer repeats")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--compile", action="store_true",
                    help="also time the guard compiled on its own (compile=True) and both steps under torch.compile")
    ap.add_argument("--no-eager", action="store_true", help="leave out the eager rows")
    args = ap.parse_args(argv)
    k, n, v = (4, 256, 4000) if args.quick else (4, 2048, 32000)
    repeats = args.repeats or (5 if args.quick else 11)
    modes = tuple(m for m in MODES if (m != "eager" and args.compile) or (m == "eager" and not args.no_eager))
    load_before = os.getloadavg()
    rows = run(k, n, v, repeats, modes)
    load_after = os.getloadavg()
    print(f"PyTorch weight guard benchmark: K={k} N={n} V={v}, teacher logits bfloat16, weights float32; one step = "
          f"the KD loss and its gradient wrt the student logits; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {os.cpu_count()} CPU cores "
          f"({platform.processor() or platform.machine()}); median of {repeats} interleaved runs")
    print(f"load average (1, 5, 15 min) before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}; "
          f"after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f} "
          f"(other processes share the cores; compare within one run)")
    print()
    print("| mode | weights | step ms | step + guard ms | ratio (wall) | step CPU ms | step + guard CPU ms | "
          "ratio (CPU) | target | met? |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|---|")
    ok = True
    for r in rows:
        met = r["ratio"] <= TARGET
        ok &= r["same_loss"] and r["statuses"] == ["pass"] * 4
        print(f"| {r['mode']} | {r['weights']} | {ms(r['plain_s'])} | {ms(r['guarded_s'])} | {r['ratio']:.3f}x | "
              f"{ms(r['plain_cpu_s'])} | {ms(r['guarded_cpu_s'])} | {r['cpu_ratio']:.3f}x | <= {TARGET}x | "
              f"{'yes' if met else '**no**'} |")
    print()
    print("step ms: median wall time; CPU ms: median CPU time of this process (all threads); ratio: median over "
          "repeats of (step + guard) / step, the two calls of a repeat run next to each other (order alternating).")
    print("The guard found every property to hold on every step, and the guarded step's loss and gradient are "
          f"the plain step's: {'yes' if ok else 'NO'}.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
