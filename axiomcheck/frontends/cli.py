# PYTHON_ARGCOMPLETE_OK  (shell completion with the optional `completion` extra; see docs/suites-and-ci.md)
"""The `axiomcheck` command.

    axiomcheck                         run the suites in ./conformance_suites, write ./reports/
    axiomcheck run SUITE... [options]  run conformance suites (files or folders of *.toml)
    axiomcheck run --builtin           run the suites installed with the package
    axiomcheck verify TARGET [options] check one operator: a name, module:attr or file.py:attr
    axiomcheck ensemble TARGET         check the ensemble G built from an operator's weights
    axiomcheck dynamics ...            training-time checks (Sections VI–VIII); see `axiomcheck dynamics -h`
    axiomcheck list                    registered operators and the checks
    axiomcheck explain AXIOM_ID        the paper's statement and what the check does

Exit codes: 0 everything as expected, 1 a violation or an unexpected verdict,
2 a usage error or a malformed suite/baseline, 3 an internal error.

>>> main(["explain", "token.positivity"])  # doctest: +ELLIPSIS
token.positivity (paper III.2)
...
0
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from ..errors import (
    AxiomcheckError,
    BaselineError,
    MissingExtraError,
    SpecError,
    SuiteError,
    TargetError,
    UsageError,
)
from . import options as O
from .cliargs import (
    CERTIFIED,
    COMMANDS,
    DEFAULT_REPORT_DIR,
    FORMATS,
    build_parser,
    certified,
    normalize_argv,
    refuse_loose_certify,
)
from .data_stdout import DataStdout

EXIT_OK, EXIT_VIOLATION, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
__all__ = ["COMMANDS", "EXIT_CODES", "FORMATS", "build_parser", "exit_code", "main"]


#: The exit code of each error type (the most derived class listed wins); anything else is internal (3).
EXIT_CODES: dict[type[BaseException], int] = {
    UsageError: EXIT_USAGE,
    SuiteError: EXIT_USAGE,
    BaselineError: EXIT_USAGE,
    TargetError: EXIT_USAGE,
    SpecError: EXIT_USAGE,
    MissingExtraError: EXIT_USAGE,  # an optional dependency is missing: the message has the pip line
    AxiomcheckError: EXIT_USAGE,
    KeyboardInterrupt: EXIT_INTERRUPTED,
}


def exit_code(exc: BaseException) -> int:
    """The exit code `exc` ends the command with: `EXIT_CODES` of its nearest listed class, else 3."""
    return next((EXIT_CODES[c] for c in type(exc).__mro__ if c in EXIT_CODES), EXIT_INTERNAL)


def error_message(exc: BaseException) -> str:
    """The text after `axiomcheck: error: ` for an error of `EXIT_CODES`."""
    problems = getattr(exc, "problems", None)
    if problems is not None:  # a SuiteError: one line per problem
        return "malformed suite\n" + "".join(f"  {p}\n" for p in problems).rstrip("\n")
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return str(exc)


# ============================================================================= commands


class _Streams:
    """Where human output goes: stdout, or stderr when stdout carries a data format."""

    def __init__(self, data_to_stdout: bool, quiet: bool):
        self.human = sys.stderr if data_to_stdout else sys.stdout
        self.data_to_stdout = data_to_stdout
        self.quiet = quiet


class _Plan:
    """What a checking command will write, checked before anything is verified."""

    def __init__(self, args: argparse.Namespace, implicit: bool):
        from ..report import baseline as B
        from ..report.fsio import usable_dir, usable_file

        self.formats, out = _plan_outputs(args, implicit)
        self.streams = _Streams(data_to_stdout=out is None and self.formats != ["text"], quiet=args.quiet)
        # Absolute now: an operator that changes the working directory does not move the reports.
        try:
            self.out = usable_dir(out) if out is not None else None
        except OSError as exc:
            raise UsageError(f"--output: cannot write the reports into {out!r}: {exc}") from None
        try:
            self.write_baseline = usable_file(args.write_baseline) if args.write_baseline else None
        except OSError as exc:
            raise UsageError(f"--write-baseline: cannot write {args.write_baseline!r}: {exc}") from None
        self.baseline = B.Baseline.read(args.baseline) if args.baseline else None


def _plan_outputs(args: argparse.Namespace, implicit: bool) -> tuple[list[str], str | None]:
    """(formats, output dir); raises UsageError."""
    formats = list(dict.fromkeys(args.format or []))
    out = args.report_dir
    if implicit and out is None and not formats:
        out = DEFAULT_REPORT_DIR
    if out is not None:
        if not formats:
            formats = ["text", *FORMATS[1:]]
        return formats, out
    formats = formats or ["text"]
    data = [f for f in formats if f != "text"]
    if len(data) > 1:
        raise UsageError(f"--format {','.join(data)}: several data formats need --output DIR (stdout takes one)")
    return formats, None


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    given = O.given(args)
    if getattr(args, "isolate", None):
        given["isolate"] = True
    if getattr(args, "max_time", None) is not None:
        given["max_time"] = args.max_time
    given.update(certified(args))
    return given


def _finish(run: Any, args: argparse.Namespace, plan: _Plan, stdout: DataStdout) -> int:
    from ..output import files
    from ..output.common import encodable
    from ..output.text import Renderer
    from ..report import baseline as B
    from ..report import repro

    if plan.baseline is not None:
        plan.baseline.apply(run)
    recorded = args.write_baseline if plan.write_baseline is not None else None
    human = Renderer(plan.streams.human, color=args.color)
    if plan.streams.quiet:
        human.summary(run, baseline_written=recorded)
    elif args.command == "verify" and len(run.items()) == 1:
        human.report(run.items()[0])
        for e in run.stale:
            human.line(f"STALE  baseline entry {e.get('operator')} · {e.get('axiom')} passes now", "yellow")
        human.summary(run, baseline_written=recorded)
    else:
        human.run(run, verbose=getattr(args, "verbose", False), baseline_written=recorded)
    data = [f for f in plan.formats if f != "text"]
    if plan.out is not None:
        written = files.write_all(run, plan.out, data)
        shown = Path(args.report_dir or DEFAULT_REPORT_DIR)
        for fmt, path in written.items():
            human.line(f"wrote {shown / path.relative_to(plan.out)} ({_size(path.stat().st_size)})")
            if fmt.startswith("counterexample:"):
                item = next((i for i in run.items() if fmt.startswith(f"counterexample:{i.item} ")), None)
                if item is not None and isinstance(item.source, str):
                    saved = repro.Reproduction("verify", item.report.operator if item.report else None,
                                               target=item.source, replay=str(shown / path.relative_to(plan.out)))
                    human.line(f"{'':8} replay: {repro.render(saved)}", "cyan")
    elif data:
        stdout.write(encodable(files.render(run, data[0])))
    code = run.exit_code
    if plan.write_baseline is not None:
        entries = B.entries_for(run.outcomes())
        B.write(plan.write_baseline, entries)
        human.line(f"wrote baseline {args.write_baseline} with {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}")
        if code == EXIT_VIOLATION:
            code = EXIT_OK
    return code


def _size(n: int) -> str:
    return f"{n} B" if n < 1024 else (f"{n / 1024:.1f} KiB" if n < 1024 ** 2 else f"{n / 1024 ** 2:.2f} MiB")


def cmd_run(args: argparse.Namespace, implicit: bool) -> int:
    from .. import suites as S
    from ..output.text import Renderer

    plan = _Plan(args, implicit)
    paths = list(args.suites)
    if getattr(args, "builtin", False):
        paths.append(S.builtin_suite_dir())
    if not paths:
        found = S.default_suite_dir()
        if found is None:
            raise UsageError("no suites given and no ./conformance_suites folder with *.toml files here; "
                             "name suite files (axiomcheck run my_suite.toml) or run the built-in suites: "
                             "axiomcheck run --builtin")
        paths = [found]
    with DataStdout(plan.streams.data_to_stdout) as stdout:
        suites = S.load_all(paths)
        if not any(s.items for s in suites):
            where = ", ".join(str(p) for p in paths)
            raise UsageError(f"nothing to check: {where} holds no suite with an [[item]]" if suites else
                             f"nothing to check: no suite files (*.toml) in {where}")
        if args.item:
            wanted = set(args.item)
            known = {i.id for s in suites for i in s.items}
            missing = sorted(wanted - known)
            if missing:
                raise UsageError(f"--item {', '.join(missing)}: no such item in the suites; items: "
                                 f"{', '.join(sorted(known))}")
            suites = [s.select(wanted) for s in suites]
            suites = [s for s in suites if s.items]
        if args.axioms:
            suites = [_restrict(s, args.axioms) for s in suites]
            suites = [s for s in suites if s.items]
            if not suites:
                raise UsageError(f"--axioms {','.join(args.axioms)}: no item of the suites checks these axioms")
        progress = Renderer(sys.stderr, quiet=args.quiet, color=args.color)
        with progress.progress(suites) as hook:
            run = S.run(suites, _overrides(args), on_event=hook)
        return _finish(run, args, plan, stdout)


def _restrict(suite: Any, axioms: Sequence[str]) -> Any:
    import dataclasses

    items = []
    for it in suite.items:
        keep = tuple(a for a in it.axioms if a in axioms)
        if keep:
            items.append(dataclasses.replace(it, axioms=keep, expect={a: it.expect[a] for a in keep}))
    return dataclasses.replace(suite, items=tuple(items))


def cmd_verify(args: argparse.Namespace) -> int:
    from .. import suites as S
    from ..library.lookup import resolve

    plan = _Plan(args, False)
    with DataStdout(plan.streams.data_to_stdout) as stdout:
        op = resolve(args.target)
        if args.axioms:
            from ..axioms import for_scale

            scale_ids = [a.id for a in for_scale(op.scale)]
            wrong = [a for a in args.axioms if a not in scale_ids]
            if wrong:
                raise UsageError(f"--axioms {','.join(wrong)}: {op.name!r} is a {op.scale}-scale operator; its "
                                 f"checks are {', '.join(scale_ids)}")
        given = _overrides(args)
        refuse_loose_certify(given, op, bool(args.replay))
        world = {k: given[k] for k in O.world_fields() if k in given}
        if args.replay:
            ir = S.replay_item(op, args.target, args.replay, given, timeout=args.timeout, isolate=args.isolate)
        else:
            item = S.single(op, args.target, axioms=args.axioms, world=world,
                            seed=O.resolve("seed", given.get("seed")),
                            max_examples=O.resolve("max_examples", given.get("max_examples")),
                            tolerance=args.tolerance, timeout=args.timeout, isolate=args.isolate)
            from ..output.progress import verify_bar

            with verify_bar(sys.stdout, quiet=args.quiet or plan.streams.data_to_stdout, color=args.color) as hook:
                ir = S.run_item(None, item, {k: given[k] for k in ("max_time", *CERTIFIED) if k in given},
                                progress=hook)
        run = S.Run(suites=[S.SuiteRun(name="verify", path=None, items=[ir])], overrides=given,
                    elapsed_s=ir.report.elapsed_s if ir.report else 0.0)
        return _finish(run, args, plan, stdout)


def cmd_ensemble(args: argparse.Namespace) -> int:
    from ..engine.ensemble import verify_ensemble
    from ..library.lookup import resolve
    from ..output.common import encodable
    from ..output.text import Renderer
    from ..report import repro

    with DataStdout(args.format == "json") as stdout:
        op = resolve(args.target)
        given = _overrides(args)
        world = {k: given[k] for k in O.world_fields() if k in given}
        report = verify_ensemble(op, seed=O.resolve("seed", given.get("seed")), **world)
    results = [r for r in report.results if not args.axioms or r.axiom in args.axioms]
    if args.format == "json":
        doc = report.to_dict()
        doc["results"] = [r.to_dict() for r in results]
        stdout.write(encodable(json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False)) + "\n")
    else:
        human = Renderer(sys.stdout, color=args.color)
        for r in results:
            human.status_line(r.status, f"{r.status.upper():8} {r.axiom:24} {r.message}")
            if r.status == "fail" and r.reproduction is not None:
                # the operator named as the user typed it; `axiomcheck ensemble` runs no search, so no budget
                line = repro.render(dataclasses.replace(r.reproduction, target=args.target, max_examples=None))
                human.line(f"{'':8} reproduce: {line}", "cyan")
    return EXIT_OK if all(r.ok for r in results) else EXIT_VIOLATION


def cmd_list(args: argparse.Namespace) -> int:
    from ..axioms import AXIOMS
    from ..library.lookup import operators
    from ..output.text import Renderer

    ops = operators(args.scale)
    axioms = [a for a in AXIOMS.values() if args.scale is None or a.scale == args.scale]
    if args.format == "json":
        doc = {"operators": [{"name": op.name, "scale": op.scale, "bounds": list(op.bounds) if op.bounds else None,
                              "lipschitz": op.lipschitz, "safety": op.safety is not None,
                              "description": op.description} for op in ops],
               "axioms": [{"id": a.id, "scale": a.scale, "paper_ref": a.paper_ref, "kind": a.kind,
                           "statement": a.statement} for a in axioms]}
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        return EXIT_OK
    r = Renderer(sys.stdout, color=args.color)
    r.operators(ops)
    r.axioms(axioms)
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    from ..axioms import AXIOMS, explain

    if args.axiom not in AXIOMS:
        close = difflib.get_close_matches(args.axiom, list(AXIOMS), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see `axiomcheck list`"
        raise UsageError(f"unknown axiom id {args.axiom!r}{hint}")
    sys.stdout.write(explain(args.axiom) + "\n")
    return EXIT_OK


# ============================================================================= entry point


def _error(stream: IO[str], message: str) -> None:
    stream.write(f"axiomcheck: error: {message}\n")
    stream.flush()


def _complete(parser: argparse.ArgumentParser) -> None:
    """Answer the shell's completion request, when argcomplete (the `completion` extra) is installed."""
    try:
        import argcomplete
    except ImportError:
        return
    argcomplete.autocomplete(parser)  # writes the candidates and exits


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0, 1, 2, 3 or 130) instead of exiting."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    if "_ARGCOMPLETE" in os.environ:  # the shell asks for completions (eval "$(register-python-argcomplete ...)")
        _complete(build_parser())
    try:
        rest = [a for a in argv if a != "--debug"]
        if rest[:1] == ["dynamics"]:
            from ..dynamics.__main__ import main as dynamics_main

            try:
                return dynamics_main(rest[1:], prog="axiomcheck dynamics")
            except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
                return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
        argv, implicit = normalize_argv(argv)
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # argparse: --help/--version (0) or a usage error (2)
            return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
        commands = {"run": lambda: cmd_run(args, implicit), "verify": lambda: cmd_verify(args),
                    "ensemble": lambda: cmd_ensemble(args), "list": lambda: cmd_list(args),
                    "explain": lambda: cmd_explain(args)}
        return commands[args.command]()
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - every error becomes an exit code
        code = exit_code(exc)
        if code != EXIT_INTERNAL:
            _error(sys.stderr, error_message(exc))
            return code
        if debug:
            traceback.print_exc(file=sys.stderr)
        _error(sys.stderr, f"internal error: {type(exc).__name__}: {exc}"
               + ("" if debug else " (rerun with --debug for the traceback)"))
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
