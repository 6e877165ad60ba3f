"""The vocabulary sweep of the engine benchmark: verify() at V ∈ {16, 1024, 32 000, 128 256}, K = 8.

For each V, in a fresh process (so each peak resident memory is its own):
the wall time of `verify()` with defaults on an entropy-weighted token
operator, the peak resident memory of that process, and the sweep's throughput
(generation + one guarded call per family batch + the value checks) against the
bare operator on the same batches.  Then the verdicts of every built-in
reference operator and independence counterexample at V = 32 000 against V = 16.

Run:  .venv/bin/python benchmarks/vocab.py          (part of benchmarks/engine.py)
      .venv/bin/python benchmarks/vocab.py --point 32000   (one V, as JSON)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

VOCABS = (16, 1024, 32_000, 128_256)
TEACHERS = 8
#: Targets on a 2-core machine: wall seconds per V (V = 16: no slower than before), peak RSS.
TARGET_S = {32_000: 15.0, 128_256: 45.0}
TARGET_RSS_GIB = 2.0


def entropy_weights(probs, context):
    """w ∝ exp(−H_k) over teachers, H_k the entropy of teacher k's distribution."""
    safe = np.where(probs > 0, probs, 1.0)
    h = -(probs * np.log(safe)).sum(axis=-1)
    z = -h - (-h).max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def make_op(vocab: int, k: int):
    import axiomcheck as ac

    span = np.log(vocab)
    bounds = (1 / (1 + (k - 1) * np.exp(span)), 1 / (1 + (k - 1) * np.exp(-span)))
    return ac.token_operator(entropy_weights, name="bench_entropy_exp", bounds=bounds, register=False)


def best_of(fn, repeats: int) -> float:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return min(out)


def peak_rss_gib() -> float:
    """This process's peak resident memory since it started (exec), in GiB.

    `/proc/self/status` VmHWM where there is one: `getrusage(RUSAGE_SELF).ru_maxrss` also
    counts the parent's resident memory at the moment of the fork, so a child of a large
    benchmark process would report the parent's size.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**20  # kB -> GiB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB


def point(vocab: int, k: int = TEACHERS, wall_only: bool = False) -> dict:
    """One V, measured in this process: verify() first (its peak RSS), then the two throughputs."""
    import axiomcheck as ac
    from axiomcheck.engine import Settings, Verifier
    from axiomcheck.sampling.domains import World

    op = make_op(vocab, k)
    t0 = time.perf_counter()
    report = ac.verify(op, teachers=k, vocab=vocab)
    wall = time.perf_counter() - t0
    rss = peak_rss_gib()
    if wall_only:  # another checkout of axiomcheck (the engine before this one): verify() alone
        return {"vocab": vocab, "teachers": k, "wall_s": wall, "rss_gib": rss, "passed": report.passed}
    world = World(teachers=k, vocab=vocab)
    repeats = 3 if vocab <= 1024 else 1
    counted = {}

    def sweep():
        v = Verifier(op, world, Settings(max_examples=0))
        v.sweep()
        counted["n"] = v.evidence["token.shape"].samples

    sweep_s = best_of(sweep, repeats)
    fams = Verifier(op, world, Settings(max_examples=0)).families()  # the same batches (same seed)
    total = sum(f.size for f in fams)
    bare_s = best_of(lambda: [op.fn(*f.args) for f in fams], repeats)
    return {"vocab": vocab, "teachers": k, "wall_s": wall, "rss_gib": rss, "passed": report.passed,
            "statuses": report.statuses(), "sweep_rate": counted["n"] / sweep_s, "bare_rate": total / bare_s,
            "per_family": fams[0].size, "families": len(fams)}


def _fresh(v: int, k: int, tree: str | None = None) -> dict:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    argv = [sys.executable, __file__, "--point", str(v), "--teachers", str(k)]
    if tree is not None:
        env["PYTHONPATH"] = tree
        argv.append("--wall-only")
    out = subprocess.run(argv, capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def sweep_table(vocabs=VOCABS, k: int = TEACHERS) -> list[dict]:
    """`point` for each V, each in a fresh interpreter."""
    return [_fresh(v, k) for v in vocabs]


def baseline_16(tree: str, k: int = TEACHERS, repeats: int = 5) -> tuple[float, float]:
    """(best verify() seconds at V = 16 with this tree, with `tree`), alternating fresh processes."""
    here, there = [], []
    for _ in range(repeats):
        here.append(_fresh(16, k)["wall_s"])
        there.append(_fresh(16, k, tree)["wall_s"])
    return min(here), min(there)


def same_verdicts(vocab: int = 32_000) -> list[tuple[str, float, float, dict]]:
    """Every built-in reference operator and independence counterexample: (name, s at V=16, s at V, differences)."""
    import axiomcheck as ac
    from axiomcheck.library import CONFORMING, INDEPENDENCE

    names = [n for scale in CONFORMING.values() for n in scale] + [op.name for op in INDEPENDENCE.values()]
    out = []
    for name in names:
        t0 = time.perf_counter()
        small = ac.verify(name).statuses()
        t16 = time.perf_counter() - t0
        t0 = time.perf_counter()
        big = ac.verify(name, vocab=vocab).statuses()
        tv = time.perf_counter() - t0
        out.append((name, t16, tv, {a: (s, big[a]) for a, s in small.items() if big[a] != s}))
    return out


def render(rows: list[dict], verdicts: list | None, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    load = os.getloadavg()
    t = Table(title=f"verify() with defaults by vocabulary size (K = {rows[0]['teachers']}, entropy-weighted "
                    f"operator; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})")
    for col in ("V", "families × samples", "verify() s", "peak RSS GiB", "sweep samples/s", "bare samples/s",
                "sweep / bare", "verdict"):
        t.add_column(col, justify="right")
    for r in rows:
        t.add_row(f"{r['vocab']:,}", f"{r['families']} × {r['per_family']}", f"{r['wall_s']:.1f}",
                  f"{r['rss_gib']:.2f}", f"{r['sweep_rate']:,.0f}", f"{r['bare_rate']:,.0f}",
                  f"{r['sweep_rate'] / r['bare_rate']:.2f}", "passed" if r["passed"] else "FAILED")
    console.print(t)
    met = []
    for r in rows:
        goal = TARGET_S.get(r["vocab"])
        if goal is not None:
            met.append(f"V={r['vocab']:,} ≤ {goal:g} s → {r['wall_s']:.1f} s {'met' if r['wall_s'] <= goal else 'NOT met'}")
    peak = max(r["rss_gib"] for r in rows)
    met.append(f"peak RSS ≤ {TARGET_RSS_GIB:g} GiB → {peak:.2f} GiB {'met' if peak <= TARGET_RSS_GIB else 'NOT met'}")
    console.print("targets: " + "; ".join(met))
    if verdicts is not None:
        render_verdicts(verdicts, console)


def render_verdicts(verdicts: list, console) -> None:
    from rich.table import Table

    v = Table(title="verdicts of the built-in operators at V = 32 000 against V = 16 (K = 4, defaults)")
    for col in ("operator", "V = 16 s", "V = 32 000 s", "verdicts"):
        v.add_column(col, justify="right" if col.endswith(" s") else "left")
    for name, t16, tv, diff in verdicts:
        v.add_row(name, f"{t16:.1f}", f"{tv:.1f}", "same" if not diff else
                  "; ".join(f"{a}: {s} → {b}" for a, (s, b) in diff.items()))
    console.print(v)
    differing = [n for n, _, _, d in verdicts if d]
    console.print(f"same verdicts at V = 32 000 as at V = 16: {len(verdicts) - len(differing)} of {len(verdicts)}"
                  + (f" (differ: {', '.join(differing)})" if differing else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--point", type=int, help="measure one V in this process and print JSON")
    parser.add_argument("--teachers", type=int, default=TEACHERS)
    parser.add_argument("--no-verdicts", action="store_true", help="skip the V = 32 000 / V = 16 verdict table")
    parser.add_argument("--wall-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--baseline-tree", metavar="DIR",
                        help="another checkout of the repository: time verify() at V = 16 with it too")
    args = parser.parse_args()
    if args.point is not None:
        print(json.dumps(point(args.point, args.teachers, args.wall_only)))
        return
    run(args.teachers, not args.no_verdicts, args.baseline_tree)


def run(k: int = TEACHERS, verdicts: bool = True, baseline_tree: str | None = None, console=None) -> None:
    """The whole vocabulary section: the sweep table, the V = 16 baseline if asked, the verdict table."""
    from rich.console import Console

    console = console or Console()
    rows = sweep_table(k=k)
    render(rows, None, console)
    if baseline_tree:
        new, old = baseline_16(baseline_tree, k)
        console.print(f"V = 16, K = {k}: verify() {new:.2f} s here, {old:.2f} s with {baseline_tree} (best of 5, "
                      f"alternating) → {'no slower' if new <= old * 1.05 else 'SLOWER'} (target: no slower)")
    if verdicts:
        render_verdicts(same_verdicts(), console)


if __name__ == "__main__":
    main()
