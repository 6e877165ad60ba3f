"""Command line: `python -m axiomcheck.dynamics --operator NAME_OR_module:attr -o reports/`.

    python -m axiomcheck.dynamics --operator entropy_exp -o reports/ [--quick] [--seed 0]
                                  [--check convergence --check gradient_variance ...]
                                  [--update-map mypkg.updates:T]   # T(w) -> w on K = 4 weights
    python -m axiomcheck.dynamics --demo -o reports/ [--quick]

The operator is named as for `axiomcheck verify`: a registered name,
`module:attr` or `path/to/file.py:attr`.  `--out` is the old spelling of
`-o/--output`.

With --operator: runs the checks on the operator's realizable problem, prints a
table, writes `OUT/dynamics-<name>.json`, and exits 1 if a check failed or
errored (0 otherwise).  With --demo: runs `run_demo` (checks, digits
experiment, negative controls) and writes `OUT/dynamics.json` and
`OUT/dynamics.html`; exits 1 if something did not turn out as expected.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from ..report.results import plain


def build_parser(prog: str = "python -m axiomcheck.dynamics") -> argparse.ArgumentParser:
    from .checks import CHECK_NAMES

    p = argparse.ArgumentParser(prog=prog,
                                description="Training-time checks of the paper's guarantees (§§VI–VIII).")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--operator", help="a registered operator name, module:attr or path/to/file.py:attr")
    what.add_argument("--demo", action="store_true", help="run the full demo (checks + digits + controls)")
    p.add_argument("-o", "--output", "--out", dest="out", default="reports", metavar="DIR",
                   help="output directory (default: reports)")
    p.add_argument("--seed", type=int, default=0, metavar="S",
                   help="seed of the problems and of the training runs (default: 0)")
    p.add_argument("--quick", action="store_true", help="smaller problems, fewer steps (seconds, not minutes)")
    p.add_argument("--check", action="append", choices=CHECK_NAMES, dest="checks",
                   help="run only this check (repeatable)")
    p.add_argument("--update-map", metavar="module:attr",
                   help="a weight-update map T (callable on a K-vector of weights) for the contraction check")
    p.add_argument("--no-progress", action="store_true", help="no progress output")
    # --color was added (the other commands that print have it too)
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                   help="colour the table: auto (on a terminal, unless NO_COLOR is set; FORCE_COLOR forces it), "
                        "always or never (default: auto)")
    return p


def _load_callable(spec: str):
    import importlib

    if ":" not in spec:
        raise SystemExit(f"--update-map must be module:attr, got {spec!r}")
    mod, attr = spec.split(":", 1)
    obj = importlib.import_module(mod)
    for part in attr.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise SystemExit(f"--update-map {spec!r} must name a callable T(w) -> w, got {type(obj).__name__}")
    return obj


def main(argv: Sequence[str] | None = None, prog: str = "python -m axiomcheck.dynamics") -> int:
    from ..errors import MissingExtraError

    args = build_parser(prog).parse_args(argv)
    try:
        return _main(args, prog)
    except MissingExtraError as exc:  # optax, scikit-learn or matplotlib is not installed: a usage error
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2


def _main(args: argparse.Namespace, prog: str) -> int:
    os.makedirs(args.out, exist_ok=True)
    if args.demo:
        from .demo import run_demo

        summary = run_demo(args.out, seed=args.seed, quick=args.quick, progress=not args.no_progress)
        print(f"wrote {', '.join(summary['files'])} in {summary['wall_s']} s; "
              f"{'everything as expected' if summary['passed'] else 'NOT everything as expected'}")
        return 0 if summary["passed"] else 1

    from ..errors import TargetError
    from ..output.text import STATUS_STYLE, Renderer
    from .checks import run_check_results
    from .problem import resolve_operator

    try:
        op = resolve_operator(args.operator)
    except TargetError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    update_map = _load_callable(args.update_map) if args.update_map else None
    err = Renderer(sys.stderr, color=args.color)
    say = (lambda m: None) if args.no_progress else (lambda m: err.line(f"running {m}…", "dim"))
    results = run_check_results(op, seed=args.seed, quick=args.quick, checks=args.checks, update_map=update_map,
                                progress=say)
    # The one table of the terminal output: rich when colour is on, plain columns otherwise
    # (--color never, NO_COLOR, a pipe), ids never split across lines.
    Renderer(sys.stdout, color=args.color).table(
        f"training-time checks: {op.name}", ("check", "paper", "status", "message"),
        [(r.axiom, r.paper_ref, r.status, r.message) for r in results],
        styles=[STATUS_STYLE.get(r.status) for r in results])
    path = os.path.join(args.out, f"dynamics-{op.name}.json")
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(plain({"operator": op.name, "scale": op.scale, "seed": args.seed, "quick": args.quick,
                         "results": [r.to_dict() for r in results]}), fh, indent=1, allow_nan=False,
                  ensure_ascii=False)
    print(f"wrote {path}")
    return 1 if any(r.status in ("fail", "error") for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
