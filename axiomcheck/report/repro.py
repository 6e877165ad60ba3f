"""How to run a check again: the `Reproduction` record, and `render`, the one place it becomes a line.

Whoever runs a check attaches a `Reproduction` to its `Result` (plain data:
the command, the operator's name and the name a new process resolves it by,
the check ids, the seed, the world sizes, the settings that differ from the
defaults).  `render` writes the line a person runs: an `axiomcheck verify`
(or `run`, `ensemble`) command when the operator has a name a new process can
resolve (`axiomcheck.library.lookup.target_name` finds it), else the Python
call to make; for the training-time checks a `python` command.  A front end
that names things its own way (the target as the user typed it, the suite item
that ran, a saved counterexample) derives a record for its context
(`dataclasses.replace`, `in_suite`) and renders that: a line is never edited
as text.  The world sizes a line spells out are those of `worlds.shown`.

>>> rec = Reproduction("verify", "entropy_exp", target="entropy_exp", axioms=("token.normalization",), seed=0,
...                    max_examples=100, world={"teachers": 4, "vocab": 16, "context_dim": 3, "tasks": 3})
>>> render(rec)
'axiomcheck verify entropy_exp --seed 0 --max-examples 100 --teachers 4 --vocab 16 --context-dim 3 --tasks 3 --axioms token.normalization'
>>> render(dataclasses.replace(rec, target=None))
"ac.verify(op, seed=0, max_examples=100, teachers=4, vocab=16, context_dim=3, tasks=3, axioms=['token.normalization'])  # op: the Operator 'entropy_exp' (no importable name)"
>>> render(in_suite(rec, "s.toml", "my op", {"teachers": 4, "vocab": 8, "context_dim": 3, "tasks": 3}))
"axiomcheck run s.toml --item 'my op' --axioms token.normalization --seed 0 --max-examples 100 --vocab 16"
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Callable, Mapping
from typing import Any

from ..spec import worlds

#: What a record can replay: the three commands of the command line that check an operator, and the
#: training-time checks' three `python` lines (one check, one negative control, the demo).
COMMANDS = ("verify", "run", "ensemble", "dynamics", "control", "demo")


@dataclasses.dataclass(frozen=True)
class Reproduction:
    """How to run one check again, as plain data (`render` writes it as a line).

    Args:
        command: one of `COMMANDS`: `verify`, `run` (a suite item), `ensemble`; `dynamics` (one
            training-time check), `control` (one negative control), `demo` (the real-data run).
        operator: the operator's own name (said when it has no importable name); None for a
            training-time check of the default operator.
        target: how a new process names the operator (a registered name, `module:attr`,
            `path/file.py:attr`); None: no importable name, so the line is the Python call to make.
        axioms: the check ids to run again.
        seed: the seed of the run.
        max_examples: the search budget it ran with (None: the line does not say it).
        world: the world sizes the line spells out, by `World` field, in field order (for `verify`
            and `ensemble` those of `worlds.shown`; for `run` those that differ from the suite's).
        settings: the settings that differ from the defaults: `tolerance`, `timeout`, `isolate`.
        suite: `run`: the suite file.
        item: `run`: the item's id; `control`: the negative control's name.
        replay: `verify`: a saved counterexample (`.npz`) to run again on its input alone.
        options: `dynamics`, `demo`: the keyword arguments of the Python call (`quick`, ...).
        note: said after the line, as a comment.
    """

    command: str
    operator: str | None = None
    target: str | None = None
    axioms: tuple[str, ...] = ()
    seed: int = 0
    max_examples: int | None = None
    world: Mapping[str, int] = dataclasses.field(default_factory=dict)
    settings: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    suite: str | None = None
    item: str | None = None
    replay: str | None = None
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    note: str | None = None

    def __post_init__(self) -> None:
        if self.command not in COMMANDS:
            raise ValueError(f"command must be one of {COMMANDS}, got {self.command!r}")
        if isinstance(self.axioms, str):
            raise TypeError(f"axioms must be a sequence of check ids, got the string {self.axioms!r}")
        object.__setattr__(self, "axioms", tuple(self.axioms))
        for name in ("world", "settings", "options"):
            object.__setattr__(self, name, dict(getattr(self, name)))

    def sizes(self) -> dict[str, int]:
        """Every world size, those the line leaves out at their defaults (`worlds.shown`'s rule)."""
        return worlds.sizes_for({}, self.world)


# ----------------------------------------------------------------------------- building records


def changed(*, tolerance: float | None = None, timeout: float | None = None, isolate: bool = False) -> dict[str, Any]:
    """The `settings` of a record: those given (not None, isolation when on), in the order a line says them."""
    out: dict[str, Any] = {}
    if tolerance is not None:
        out["tolerance"] = tolerance
    if timeout is not None:
        out["timeout"] = timeout
    if isolate:
        out["isolate"] = True
    return out


def for_verify(target: str | None, operator: str, world: Any, settings: Any, axiom: str) -> Reproduction:
    """The record `verify()` attaches to one check of an operator named `operator`.

    `target` is how a new process names it (`lookup.target_name`); `settings` is the run's
    `Settings`.  Its tolerance, per-call timeout and isolation travel when they differ from the
    defaults of the `Settings` class (a timeout of None, no limit, is not said either).
    """
    default_timeout = next(f.default for f in dataclasses.fields(settings) if f.name == "timeout")
    timeout = settings.timeout if settings.timeout not in (None, default_timeout) else None
    return Reproduction("verify", operator, target=target, axioms=(axiom,), seed=settings.seed,
                        max_examples=settings.max_examples, world=dict(worlds.shown(world)),
                        settings=changed(tolerance=settings.tolerance, timeout=timeout, isolate=settings.isolate))


def for_ensemble(target: str | None, operator: str, world: Any, seed: int, max_examples: int | None,
                 axiom: str) -> Reproduction:
    """The record `verify_ensemble()` attaches to one check of the ensemble G."""
    return Reproduction("ensemble", operator, target=target, axioms=(axiom,), seed=seed, max_examples=max_examples,
                        world=dict(worlds.shown(world)))


def in_suite(rec: Reproduction, suite: str, item: str, suite_world: Mapping[str, Any],
             suite_isolates: bool = False) -> Reproduction:
    """`rec` as `axiomcheck run SUITE --item ITEM`: only the world sizes that differ from what the suite
    gives the item (`suite_world`; a size it leaves out is its default), and isolation when the suite
    does not already ask for it."""
    sizes, given = rec.sizes(), worlds.sizes_for({}, suite_world)  # a size not given: its default
    world = {name: sizes[name] for name in worlds.fields() if sizes[name] != given[name]}
    settings = {"isolate": True} if rec.settings.get("isolate") and not suite_isolates else {}
    return dataclasses.replace(rec, command="run", suite=suite, item=item, world=world, settings=settings)


def for_dynamics(check: str, operator: str | None, seed: int, *, registered: bool = True,
                 options: Mapping[str, Any] | None = None) -> Reproduction:
    """The record of one training-time check (`dynamics.*`) of `operator` (None: the default one).

    A registered operator is named in a `python -c` line; any other gets the call to make.
    """
    return Reproduction("dynamics", operator, target=operator if registered else None, axioms=(check,), seed=seed,
                        options=dict(options or {}))


def for_control(operator: str, control: str, seed: int) -> Reproduction:
    """The record of one negative control of the training-time checks."""
    return Reproduction("control", operator, target=operator, item=control, seed=seed)


def for_demo(seed: int, quick: bool = False, note: str | None = None) -> Reproduction:
    """The record of the training-time demo (the real-data run)."""
    return Reproduction("demo", seed=seed, options={"quick": True} if quick else {}, note=note)


# ----------------------------------------------------------------------------- the one renderer


def render(rec: Reproduction) -> str:
    """The line that runs `rec` again (a shell command, or a Python call with a comment)."""
    line = _RENDERERS[rec.command](rec)
    return f"{line}  # {rec.note}" if rec.note else line


def _world_flags(rec: Reproduction) -> list[str]:
    """`--teachers 4 --vocab 16 ...`: the record's sizes as flags."""
    return [f"{worlds.flag(name)} {size}" for name, size in rec.world.items()]


def _world_keywords(rec: Reproduction) -> list[str]:
    """`teachers=4, vocab=16, ...`: the same sizes as keywords of a Python call."""
    return [f"{name}={size}" for name, size in rec.world.items()]


def _setting_flags(rec: Reproduction) -> list[str]:
    """`--tolerance 1e-05 --timeout 3 --isolate`: the settings that differ from the defaults."""
    out = []
    for name in ("tolerance", "timeout"):
        if rec.settings.get(name) is not None:
            out.append(f"--{name} {shlex.quote(format(rec.settings[name], 'g'))}")
    if rec.settings.get("isolate"):
        out.append("--isolate")
    return out


def _ids(rec: Reproduction) -> str:
    return ",".join(rec.axioms)


def _verify(rec: Reproduction) -> str:
    if rec.replay is not None:
        return f"axiomcheck verify {shlex.quote(str(rec.target))} --replay {shlex.quote(rec.replay)}"
    if rec.target is None:
        keywords = [f"seed={rec.seed}", *([f"max_examples={rec.max_examples}"] if rec.max_examples is not None
                                          else []), *_world_keywords(rec), f"axioms={list(rec.axioms)!r}"]
        return f"ac.verify(op, {', '.join(keywords)})  # op: the Operator {rec.operator!r} (no importable name)"
    parts = ["axiomcheck verify", shlex.quote(rec.target), f"--seed {rec.seed}",
             *([f"--max-examples {rec.max_examples}"] if rec.max_examples is not None else []),
             *_world_flags(rec), f"--axioms {_ids(rec)}", *_setting_flags(rec)]
    return " ".join(parts)


def _run(rec: Reproduction) -> str:
    parts = ["axiomcheck run", shlex.quote(str(rec.suite)), "--item", shlex.quote(str(rec.item)),
             f"--axioms {_ids(rec)}", f"--seed {rec.seed}",
             *([f"--max-examples {rec.max_examples}"] if rec.max_examples is not None else []),
             *_world_flags(rec), *_setting_flags(rec)]
    return " ".join(parts)


def _ensemble(rec: Reproduction) -> str:
    if rec.target is None:
        return (f"ac.verify_ensemble(op, {', '.join([f'seed={rec.seed}', *_world_keywords(rec)])})  "
                f"# {', '.join(rec.axioms)}; op: the Operator {rec.operator!r}")
    parts = ["axiomcheck ensemble", shlex.quote(rec.target), f"--seed {rec.seed}",
             *([f"--max-examples {rec.max_examples}"] if rec.max_examples is not None else []),
             *_world_flags(rec), f"--axioms {_ids(rec)}"]
    return " ".join(parts)


def _dynamics(rec: Reproduction) -> str:
    fn = "check_" + rec.axioms[0].split(".", 1)[1]
    keywords = f"seed={rec.seed}" + "".join(f", {k}={v!r}" for k, v in rec.options.items())
    if rec.operator is not None and rec.target is None:
        return (f"from axiomcheck.dynamics import {fn}; {fn}(op, {keywords})"
                f"  # op = your Operator {rec.operator!r} (not in the registry)")
    arg = repr(rec.target) if rec.operator is not None else "None"
    return f"python -c \"from axiomcheck.dynamics import {fn}; print({fn}({arg}, {keywords}).to_dict())\""


def _control(rec: Reproduction) -> str:
    return ("python -c \"from axiomcheck.dynamics import negative_controls; "
            f"print([c['result']['message'] for c in negative_controls({rec.target!r}, seed={rec.seed}) "
            f"if c['name'] == '{rec.item}'])\"")


def _demo(rec: Reproduction) -> str:
    return f"python -m axiomcheck.dynamics --demo --seed {rec.seed}" + (" --quick" if rec.options.get("quick") else "")


_RENDERERS: dict[str, Callable[[Reproduction], str]] = {
    "verify": _verify, "run": _run, "ensemble": _ensemble, "dynamics": _dynamics, "control": _control, "demo": _demo,
}
