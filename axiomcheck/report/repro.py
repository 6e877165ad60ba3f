"""Every reproduction command axiomcheck prints, built in one place.

A failing check comes with one line that replays it: an `axiomcheck verify`
(or `run`, `ensemble`) command when the operator has a name a new process can
resolve (see `axiomcheck.spec.registry.target_name`), else the Python call to make.
The world sizes in them are the `World` fields (`axiomcheck.spec.worlds.shown`).

>>> w = {"teachers": 4, "vocab": 16, "context_dim": 3, "tasks": 3}
>>> verify_line("entropy_exp", w, seed=0, max_examples=100, axiom="token.normalization")
'axiomcheck verify entropy_exp --seed 0 --max-examples 100 --teachers 4 --vocab 16 --context-dim 3 --tasks 3 --axioms token.normalization'
>>> suite_line("s.toml", "my op", "context.positivity", seed=1, max_examples=10)
"axiomcheck run s.toml --item 'my op' --axioms context.positivity --seed 1 --max-examples 10"
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Iterable, Sequence
from typing import Any

from ..spec import worlds


def _world_flags(world: Any) -> str:
    """`--teachers 4 --vocab 16 ...`: the sizes `worlds.shown` spells out, as flags."""
    return " ".join(f"{worlds.flag(name)} {size}" for name, size in worlds.shown(world))


def _world_keywords(world: Any) -> str:
    """`teachers=4, vocab=16, ...`: the same sizes as keywords of a Python call."""
    return ", ".join(f"{name}={size}" for name, size in worlds.shown(world))


def flags(*, tolerance: float | None = None, timeout: float | None = None, isolate: bool = False) -> list[str]:
    """The extra `axiomcheck verify` flags for settings that differ from the defaults."""
    out = []
    if tolerance is not None:
        out += ["--tolerance", f"{tolerance:g}"]
    if timeout is not None:
        out += ["--timeout", f"{timeout:g}"]
    if isolate:
        out.append("--isolate")
    return out


def verify_line(target: str, world: Any, seed: int, max_examples: int, axiom: str,
                extra: Sequence[str] = ()) -> str:
    """`axiomcheck verify TARGET ...` replaying `axiom` with exactly these settings."""
    line = (f"axiomcheck verify {shlex.quote(target)} --seed {seed} --max-examples {max_examples} "
            f"{_world_flags(world)} --axioms {axiom}")
    return line + "".join(" " + shlex.quote(x) for x in extra)


def for_verify(op: Any, world: Any, settings: Any, axiom: str) -> str:
    """The reproduction `verify()` prints for one check of `op`: a command when the operator has a
    name a new process can resolve (`registry.target_name`), else the Python call.

    Settings that differ from the defaults (tolerance, per-call timeout, isolation) travel with it;
    the defaults are those of the `settings` record's own class.
    """
    from ..library.lookup import target_name

    default_timeout = next(f.default for f in dataclasses.fields(settings) if f.name == "timeout")
    extra = flags(tolerance=settings.tolerance,
                  timeout=settings.timeout if settings.timeout not in (None, default_timeout) else None,
                  isolate=settings.isolate)
    return verify_or_call(target_name(op), op.name, world, settings.seed, settings.max_examples, axiom, extra)


def replay_line(target: str, path: Any) -> str:
    """`axiomcheck verify TARGET --replay FILE.npz`: the saved counterexample's check, run again.

    >>> replay_line("my_op", "reports/counterexamples/x.npz")
    'axiomcheck verify my_op --replay reports/counterexamples/x.npz'
    """
    return f"axiomcheck verify {shlex.quote(target)} --replay {shlex.quote(str(path))}"


def python_call(name: str, world: Any, seed: int, max_examples: int, axiom: str) -> str:
    """The `ac.verify(...)` call replaying `axiom` for an operator with no importable name."""
    return (f"ac.verify(op, seed={seed}, max_examples={max_examples}, {_world_keywords(world)}, "
            f"axioms=[{axiom!r}])  # op: the Operator {name!r} (no importable name)")


def verify_or_call(target: str | None, name: str, world: Any, seed: int, max_examples: int, axiom: str,
                   extra: Sequence[str] = ()) -> str:
    """`verify_line` when the operator has a command-line name, else `python_call`."""
    if target is None:
        return python_call(name, world, seed, max_examples, axiom)
    return verify_line(target, world, seed, max_examples, axiom, extra)


def suite_line(suite_path: str, item: str, axiom: str, seed: int, max_examples: int,
               world: Iterable[tuple[str, Any]] = ()) -> str:
    """`axiomcheck run SUITE --item ID ...`; `world` holds the (flag, value) pairs that differ from the suite."""
    parts = ["axiomcheck", "run", shlex.quote(suite_path), "--item", shlex.quote(item), "--axioms", axiom,
             "--seed", str(seed), "--max-examples", str(max_examples)]
    for flag, value in world:
        parts += [flag, str(value)]
    return " ".join(parts)


def ensemble_line(target: str, world: Any, seed: int, axiom: str, max_examples: int | None = None) -> str:
    """`axiomcheck ensemble TARGET ...` replaying one ensemble check."""
    budget = f" --max-examples {max_examples}" if max_examples is not None else ""
    return f"axiomcheck ensemble {shlex.quote(target)} --seed {seed}{budget} {_world_flags(world)} --axioms {axiom}"


def ensemble_call(name: str, world: Any, seed: int, axiom: str) -> str:
    """The `ac.verify_ensemble(...)` call for an operator with no importable name."""
    return (f"ac.verify_ensemble(op, seed={seed}, {_world_keywords(world)})  # {axiom}; "
            f"op: the Operator {name!r}")


def dynamics_check(check: str, name: str | None, seed: int, quick: bool = False, extra: str = "",
                   registered: bool = True) -> str:
    """A Python one-liner rerunning one training-time check (or the call to make, for an unregistered op)."""
    fn = "check_" + check.split(".", 1)[1]
    q = ", quick=True" if quick else ""
    if not registered:
        return (f"from axiomcheck.dynamics import {fn}; {fn}(op, seed={seed}{q}{extra})"
                f"  # op = your Operator {name!r} (not in the registry)")
    arg = repr(name) if name is not None else "None"
    return f"python -c \"from axiomcheck.dynamics import {fn}; print({fn}({arg}, seed={seed}{q}{extra}).to_dict())\""


def dynamics_control(name: str, control: str, seed: int) -> str:
    """A Python one-liner rerunning one negative control of the training-time checks."""
    return ("python -c \"from axiomcheck.dynamics import negative_controls; "
            f"print([c['result']['message'] for c in negative_controls({name!r}, seed={seed}) "
            f"if c['name'] == '{control}'])\"")


def dynamics_demo(seed: int, quick: bool = False) -> str:
    """The command rerunning the training-time demo (the real-data run)."""
    return f"python -m axiomcheck.dynamics --demo --seed {seed}" + (" --quick" if quick else "")
