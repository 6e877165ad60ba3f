"""Certified checks of the built-in operators and of the published suite: time, status per check, L ratio.

For every built-in context, task and importance operator (and the token ones),
then every operator of `conformance_suites/published.toml`: the sampled
verdicts of `verify()` first, then `certify_operator` with them (so a sampled
counterexample that replays refutes, and the sampled Lipschitz estimate
prunes the search), in the operator's declared world.  The table shows, per
check, P (proved), R (refuted), U (unknown) or · (no certificate), the
certifier's time, and the certified and sampled Lipschitz bounds.

Targets: the built-in context operators (D = 3) certified within a 10 % gap
in ≤ 10 s each; the bounds of the entropy token operators proved at K = 4,
V = 16; no operator whose sampled verdict fails is ever "proved".

Run:  .venv/bin/python benchmarks/certify.py             (built-ins and the published suite; several minutes)
      .venv/bin/python benchmarks/certify.py --quick     (the built-in context operators only)
      .venv/bin/python benchmarks/certify.py --markdown  (the table as Markdown, for docs/benchmarks.md)
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

import axiomcheck as ac
from axiomcheck.certifier import certify_operator
from axiomcheck.library import CONFORMING
from axiomcheck.library import task as task_lib
from axiomcheck.spec.worlds import world_for

sys.path.insert(0, str(Path(__file__).resolve().parent))
import vocab  # noqa: E402 - the sibling script's entropy operator (w ∝ exp(−H), nats)

PROPS = [("finite", "fin"), ("normalization", "norm"), ("positivity", "pos"), ("nonnegativity", "pos"),
         ("bounds", "bnd"), ("safety", "safe"), ("regularity", "lip")]
SHORT = {"proved": "P", "refuted": "R", "unknown": "U"}


def builtins() -> list[ac.Operator]:
    ops = [ac.get(n) for n in CONFORMING["context"] + CONFORMING["task"]]
    for name in ("importance_by_size", "importance_by_difficulty", "importance_by_log_size", "importance_uniform"):
        ops.append(ac.importance_operator(getattr(task_lib, name), name=name, register=False))
    ops += [ac.get(n) for n in CONFORMING["token"]]
    ops.append(vocab.make_op(16, 4))  # w ∝ exp(−H_k): range [1/49, 16/19] at K = 4, V = 16
    return ops


def published() -> list[ac.Operator]:
    import tomllib

    path = Path(__file__).resolve().parent.parent / "conformance_suites" / "published.toml"
    items = tomllib.loads(path.read_text(encoding="utf-8"))["item"]
    return [ac.get(item["operator"]) for item in items]


def one(op: ac.Operator, max_time: float, sampled_examples: int) -> dict:
    world = world_for(op.world, {})
    t0 = time.perf_counter()
    report = ac.verify(op, max_examples=sampled_examples, seed=0)
    t_sampled = time.perf_counter() - t0
    sampled = {r.axiom: r for r in report.results}
    t0 = time.perf_counter()
    certs = certify_operator(op, world, max_time=max_time, sampled=sampled)
    elapsed = time.perf_counter() - t0
    from axiomcheck.axioms import AXIOMS

    cells, reasons, proved_but_failed = {}, {}, []
    lip = None
    for cid, c in certs.items():
        prop = AXIOMS[cid].property
        key = dict(PROPS)[prop]
        cells[key] = SHORT[c.status]
        if c.status != "proved" and c.reason:
            reasons[key] = c.reason
        if prop == "regularity":
            lip = c
        if c.status == "proved" and sampled.get(cid) is not None and sampled[cid].status == "fail":
            proved_but_failed.append(cid)
    l_sampled = None
    reg = next((r for r in report.results if AXIOMS[r.axiom].property == "regularity"), None)
    if reg is not None and reg.estimate is not None:
        l_sampled = getattr(reg.estimate, "lipschitz_lower_bound", None)
    l_cert = None if lip is None else lip.lipschitz_upper
    failed = sorted(r.axiom for r in report.results if r.status == "fail")
    return {"name": op.name, "scale": op.scale, "world": world, "time": elapsed, "t_sampled": t_sampled,
            "cells": cells, "reasons": reasons, "l_sampled": l_sampled, "l_cert": l_cert,
            "gap": None if lip is None else lip.gap, "failed": failed, "violations": proved_but_failed}


def _fmt(x: float | None) -> str:
    if x is None:
        return "—"
    if not math.isfinite(x):
        return "∞"
    return f"{x:.3g}"


def ratio(row: dict) -> str:
    a, b = row["l_cert"], row["l_sampled"]
    if a is None or b is None or not b:
        return "—"
    return "∞" if not math.isfinite(a) else f"{a / b:.3g}"


def table(rows: list[dict], markdown: bool) -> str:
    cols = ["fin", "norm", "pos", "bnd", "safe", "lip"]
    head = ["operator", "scale", "time s", *cols, "L sampled", "L certified", "ratio", "sampled fails"]
    lines = []
    body = []
    for r in rows:
        body.append([r["name"], r["scale"], f"{r['time']:.1f}", *[r["cells"].get(c, "·") for c in cols],
                     _fmt(r["l_sampled"]), _fmt(r["l_cert"]), ratio(r),
                     ", ".join(a.split(".", 1)[1] for a in r["failed"]) or "none"])
    if markdown:
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join("---" for _ in head) + "|")
        lines += ["| " + " | ".join(f"`{row[0]}`" if i == 0 else row[i] for i in range(len(row))) + " |"
                  for row in body]
    else:
        widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
        lines.append("  ".join(h.ljust(w) for h, w in zip(head, widths)))
        lines += ["  ".join(str(x).ljust(w) for x, w in zip(row, widths)) for row in body]
    return "\n".join(lines)


def targets(rows: list[dict], max_time: float) -> list[str]:
    out = []
    ctx = [r for r in rows if r["scale"] == "context" and r["name"] in CONFORMING["context"]]
    for r in ctx:
        ok = r["cells"].get("lip") == "P" and r["gap"] is not None and r["gap"] <= 0.1 and r["time"] <= max_time + 1
        why = f"gap {_fmt(r['gap'])}" if r["gap"] is not None else r["reasons"].get("lip", "no finite bound")
        out.append(f"{'met ' if ok else 'MISSED'}  context {r['name']}: Lipschitz within 10 % in ≤ {max_time:g} s "
                   f"({r['time']:.1f} s, {why})")
    for r in rows:
        if r["name"] in ("entropy_exp", "hybrid_safety", "bench_entropy_exp"):
            ok = r["cells"].get("bnd") == "P"
            out.append(f"{'met ' if ok else 'MISSED'}  token {r['name']}: bounds proved at K = 4, V = 16")
    bad = [f"{r['name']} ({', '.join(r['violations'])})" for r in rows if r["violations"]]
    out.append(("MISSED  proved although the sampled verdict fails: " + "; ".join(bad)) if bad else
               "met   no operator whose sampled verdict fails is proved")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-time", type=float, default=10.0, help="the certifier's budget per operator (s)")
    ap.add_argument("--examples", type=int, default=100, help="max_examples of the sampled run")
    ap.add_argument("--quick", action="store_true", help="the built-in context operators only")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    ap.add_argument("--builtins-only", action="store_true", help="skip the published suite")
    args = ap.parse_args()
    ops = [ac.get(n) for n in CONFORMING["context"]] if args.quick else builtins()
    if not args.quick and not args.builtins_only:
        seen = {op.name for op in ops}
        ops += [op for op in published() if op.name not in seen]
    rows = []
    for op in ops:
        with np.errstate(all="ignore"):
            rows.append(one(op, args.max_time, args.examples))
        r = rows[-1]
        print(f"  {r['name']}: {r['time']:.1f} s certify, {r['t_sampled']:.1f} s sampled", file=sys.stderr)
    print(table(rows, args.markdown))
    print()
    for line in targets(rows, args.max_time):
        print(line)
    notes = [(r["name"], k, v) for r in rows for k, v in r["reasons"].items()]
    if notes and not args.markdown:
        print("\nwhy not proved:")
        for name, key, why in notes:
            print(f"  {name} {key}: {why[:160]}")


if __name__ == "__main__":
    main()
