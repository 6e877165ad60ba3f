"""The `axiomcheck` command line: its parser, shared by every subcommand.

>>> build_parser().parse_args(["verify", "entropy_exp", "--isolate"]).isolate
True
>>> normalize_argv(["my_suite.toml"])
(['run', 'my_suite.toml'], True)
"""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Sequence
from typing import Any

from .._version import __version__
from . import options as O

FORMATS = ("text", "json", "junit", "markdown", "html")
COMMANDS = ("run", "verify", "ensemble", "dynamics", "list", "explain")
DEFAULT_REPORT_DIR = "reports"

_EPILOG = """exit codes: 0 everything as expected, 1 a violation or an unexpected verdict,
2 a usage error or a malformed suite or baseline, 3 an internal error (rerun with --debug)"""



def _formats(text: str) -> list[str]:
    out = []
    for part in text.split(","):
        part = part.strip().lower()
        if part == "md":
            part = "markdown"
        if part == "all":
            out.extend(FORMATS[1:])
            continue
        if part not in FORMATS:
            raise argparse.ArgumentTypeError(f"must be one of {', '.join(FORMATS)} (or all), got {part!r}")
        out.append(part)
    return out


_formats.__name__ = "format"


def _axiom_ids(text: str) -> list[str]:
    from ..axioms import AXIOMS

    ids = [a.strip() for a in text.split(",") if a.strip()]
    if not ids:
        raise argparse.ArgumentTypeError("must name at least one axiom id")
    for a in ids:
        if a not in AXIOMS:
            close = difflib.get_close_matches(a, list(AXIOMS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else "; see `axiomcheck list`"
            raise argparse.ArgumentTypeError(f"unknown axiom id {a!r}{hint}")
    return ids


_axiom_ids.__name__ = "axiom ids"


def _box(text: str) -> tuple[str, tuple[float, float]]:
    from ..spec.boxes import parse

    try:
        return parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


_box.__name__ = "input box"


#: The settings of certified checks a command line may give.
CERTIFIED = ("certify", "domain", "certify_gap", "certify_time")


def certified(args: argparse.Namespace) -> dict[str, Any]:
    """The certified checks' settings the user gave (`--certify`, `--domain`, ...), by setting name."""
    out: dict[str, Any] = {"certify": True} if getattr(args, "certify", None) else {}
    if getattr(args, "domain", None):
        out["domain"] = {name: list(b) for name, b in args.domain}  # a later box for one input wins
    out.update({k: getattr(args, k) for k in CERTIFIED[2:] if getattr(args, k, None) is not None})
    return out


def refuse_loose_certify(given: dict[str, Any], op: Any, replay: bool) -> None:
    """`axiomcheck verify`: refuse --domain, --certify-gap, --certify-time without --certify, --certify with
    --replay, and a box for an input the operator does not take (a `UsageError`)."""
    from ..errors import UsageError
    from ..spec.boxes import unused

    loose = [f"--{k.replace('_', '-')}" for k in CERTIFIED[1:] if k in given]
    if loose and not given.get("certify"):
        raise UsageError(f"{', '.join(loose)} {'applies' if len(loose) == 1 else 'apply'} to certified checks: add --certify")
    if given.get("certify") and replay:
        raise UsageError("--certify does not combine with --replay: a replay runs one saved input again")
    extra = unused(given.get("domain", {}), op.takes())
    if extra:
        raise UsageError(f"--domain {', '.join(extra)}: {op.name!r} ({op.scale} scale) does not take "
                         f"{'it' if len(extra) == 1 else 'them'}; it takes {', '.join(op.takes())}")


def _builtin_suites() -> list[str]:
    """The names of the suites that ship with axiomcheck, read from the package (never listed by hand)."""
    from importlib.resources import files

    return sorted(p.name[:-5] for p in files("axiomcheck.suites").joinpath("builtin").iterdir()
                  if p.name.endswith(".toml"))


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="show the traceback of an internal error")


COLOR_HELP = ("colour and tables for people: auto (on a terminal, unless NO_COLOR is set; FORCE_COLOR forces "
              "it), always or never (default: auto)")


def _scales() -> tuple[str, ...]:
    """The scales `list --scale` takes: the registry's, read when the parser is built."""
    from ..spec.scales import names

    return names()


def _color(p: argparse.ArgumentParser) -> None:
    """--color, on every command that prints for people (added after the first release)."""
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto", help=COLOR_HELP)


def _checking(p: argparse.ArgumentParser) -> None:
    """Options of the commands that verify something (run, verify)."""
    O.add_to(p.add_argument, options=(*O.SETTINGS_OPTIONS, *O.WORLD_OPTIONS))
    p.add_argument("--axioms", type=_axiom_ids, action="extend", metavar="ID[,ID...]",
                   help="check only these axiom ids (comma-separated; repeatable)")
    p.add_argument("--format", "-f", type=_formats, action="extend", metavar="FORMAT",
                   help="text, json, junit, markdown, html or all (comma-separated; repeatable). Without --output a "
                        "single data format goes to stdout and the human summary to stderr; with --output the "
                        "default is every file format")
    O.add_to(p.add_argument, options=(O.REPORT_DIR,))
    p.add_argument("--baseline", metavar="FILE",
                   help="JSON list of known violations ({operator, axiom}); they no longer fail the run, new ones "
                        "do, and entries that pass now are reported as stale")
    p.add_argument("--write-baseline", metavar="FILE",
                   help="write every violation of this run to FILE as a baseline (the run then exits 0)")
    p.add_argument("--isolate", action="store_true", default=None,
                   help="run the operator in a separate process that is killed on a timeout or crash "
                        "(slower per call)")
    p.add_argument("--max-time", type=O.positive_float, metavar="SECONDS",
                   help="time budget of each operator checked: a check it cuts short says how many samples it got "
                        "of those asked (one never reached is skipped), never a silent pass")
    p.add_argument("--certify", action="store_true", default=None,
                   help="also prove what holds on a stated input domain: a certificate beside each sampled verdict "
                        "(proved, refuted with an input, or unknown with the reason), and the paper's assumptions "
                        "A1 and A2 that proves")
    p.add_argument("--domain", type=_box, action="append", metavar="INPUT=LO,HI",
                   help="an input box for --certify, e.g. context=-10,10 (repeatable; over the operator's and the "
                        "suite's own boxes)")
    p.add_argument("--certify-gap", type=O.positive_float, metavar="GAP",
                   help="with --certify: stop refining at this relative gap between certified and sampled bounds "
                        "(default: 0.1)")
    p.add_argument("--certify-time", type=O.positive_float, metavar="SECONDS",
                   help="with --certify: the certifier's time budget per operator")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress, only the summary")
    p.add_argument("-v", "--verbose", action="store_true", help="also list the failures the suites expect")
    _color(p)
    _common(p)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="axiomcheck",
        description="Check teacher-weighting operators for multi-teacher knowledge distillation against the axioms "
                    "of adaptive weighting. With no command, runs the suites in ./conformance_suites and writes "
                    "every report into ./reports/.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"axiomcheck {__version__}")
    p.add_argument("--debug", action="store_true", help="show the traceback of an internal error")
    sub = p.add_subparsers(dest="command", metavar="COMMAND",
                           help="what to do (default: run the suites in ./conformance_suites)")

    r = sub.add_parser("run", help="run conformance suites", epilog=_EPILOG,
                       description="Run conformance suites (TOML files, or folders of them; default: "
                                   "./conformance_suites). Each operator × axiom verdict is compared with the "
                                   "suite's expectation.")
    r.add_argument("suites", nargs="*", metavar="SUITE", help="suite files or folders")
    r.add_argument("--builtin", action="store_true",
                   help=f"also run the suites installed with axiomcheck ({', '.join(_builtin_suites())})")
    r.add_argument("--item", action="extend", nargs=1, metavar="ID", help="run only this item of the suites "
                                                                          "(repeatable)")
    _checking(r)

    v = sub.add_parser("verify", help="check one operator", epilog=_EPILOG,
                       description="Check one operator against every check of its scale; every verdict is "
                                   "expected to be pass (or not applicable).")
    v.add_argument("target", metavar="TARGET",
                   help="a registered name (see `axiomcheck list`), module:attr or path/to/file.py:attr")
    v.add_argument("--tolerance", type=O.nonneg_float, metavar="TOL",
                   help="absolute tolerance of the sum and bound checks (default: dtype-aware)")
    v.add_argument("--timeout", type=O.timeout_seconds, metavar="SECONDS",
                   help="per-call limit, > 0 and at most 86400 (default: 10)")
    v.add_argument("--replay", metavar="FILE.npz",
                   help="run the one check a saved counterexample names (written under --output DIR/counterexamples/) "
                        "on its input alone, with the world and seed it was found with")
    _checking(v)

    en = sub.add_parser("ensemble", help="check the ensemble G built from an operator's weights", epilog=_EPILOG,
                        description="Build the ensemble q = G(teachers, weights) with the JAX kernel on the sweep "
                                    "families and check ensemble.normalization, .nonnegativity, .convexity and "
                                    ".conformance (Defs. III.7, III.15, III.23).")
    en.add_argument("target", metavar="TARGET",
                    help="a registered name (see `axiomcheck list`), module:attr or path/to/file.py:attr")
    O.add_to(en.add_argument, options=(*O.SETTINGS_OPTIONS, *O.WORLD_OPTIONS))
    en.add_argument("--axioms", type=_axiom_ids, action="extend", metavar="ID[,ID...]",
                    help="show only these ensemble.* ids")
    en.add_argument("--format", "-f", choices=("text", "json"), default="text",
                    help="text (one line per check) or json on stdout (default: text)")
    _color(en)
    _common(en)

    sub.add_parser("dynamics", help="training-time checks of the paper's guarantees (see `axiomcheck dynamics -h`)",
                   add_help=False)

    li = sub.add_parser("list", help="list registered operators and the checks")
    li.add_argument("--scale", choices=_scales(), help="only this scale")
    li.add_argument("--format", "-f", choices=("text", "json"), default="text",
                    help="text (two tables) or json on stdout (default: text)")
    _color(li)
    _common(li)

    ex = sub.add_parser("explain", help="the paper's statement of an axiom and what its check does")
    ex.add_argument("axiom", metavar="AXIOM_ID", help="a check id such as context.boundedness "
                                                      "(see `axiomcheck list`)")
    _color(ex)  # explain always prints plain text; the flag is accepted like on every command that prints
    _common(ex)
    return p


def normalize_argv(argv: Sequence[str]) -> tuple[list[str], bool]:
    """No command given -> `run` (and, with no output options, write ./reports/).

    A first word that is neither a command nor an existing path, and looks like
    a command (no '/', no '.toml'), is a mistyped command: a `UsageError`.
    """
    argv = list(argv)
    first = next((a for a in argv if a != "--debug"), None)
    if first in COMMANDS or first in ("-h", "--help", "--version"):
        return argv, False
    if first is not None:
        _refuse_unknown_command(first)
    implicit = True
    return ["run", *argv], implicit


def _refuse_unknown_command(word: str) -> None:
    """Raise a `UsageError` for `word` if it is a command word that names no command and no path."""
    import os
    import re

    from ..errors import UsageError

    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", word) or os.path.exists(word):
        return  # an option, a path, a file name: the suites' loader judges it
    close = difflib.get_close_matches(word, COMMANDS, n=1, cutoff=0.6)
    if close:
        raise UsageError(f"unknown command {word!r}; did you mean {close[0]!r}? (commands: {', '.join(COMMANDS)})")
    raise UsageError(f"{word!r}: no such command or suite file (commands: {', '.join(COMMANDS)}; "
                     f"or name suite files or folders: axiomcheck run my_suite.toml)")


