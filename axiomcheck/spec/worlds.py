"""The world an operator is checked in: its sizes, what the operator declares, and which wins.

`World` is the one definition of the sizes the checks sample at.  Its fields
drive every place a size appears: the command-line flags (`--context-dim`), the
pytest options, ini keys and marker keywords, the keys of a suite's `world`
table, the reproduce lines, the ensemble's report.  Each field carries its
symbol and help text as metadata; `flag(name)` spells its command-line flag.

An operator may declare the sizes it needs (`world={"context_dim": 16}` on its
decorator).  Every front end builds its sizes with `sizes_for` (or `world_for`),
in one order of precedence, field by field:

    what the caller gives explicitly (verify() keywords, command-line flags,
    a suite item's or the pytest marker's world), in the order given
    > what the operator declares
    > the caller's defaults (pytest ini keys)
    > the built-in `World` defaults.

This module imports nothing heavy: the command line and the pytest plugin read it
before anything is checked.

>>> declaration({"context_dim": 16})
(('context_dim', 16),)
>>> world_for((("context_dim", 16),), {"teachers": 2, "context_dim": None}).context_dim
16
>>> world_for((("context_dim", 16),), {"context_dim": 5}).context_dim
5
>>> flag("context_dim")
'--context-dim'
"""

from __future__ import annotations

import dataclasses
import difflib
import numbers
from collections.abc import Iterable, Mapping
from typing import Any

Declared = tuple[tuple[str, int], ...]


def _size(default: int, symbol: str, help: str, *, input_size: bool = False) -> Any:
    """A `World` field: its default, the symbol the docs use, the help text of its flag.

    `input_size` marks the size of a keyword input (most operators name none): a
    reproduce line writes it only when it differs from its default.
    """
    return dataclasses.field(default=default, metadata={"symbol": symbol, "help": help, "input_size": input_size})


@dataclasses.dataclass(frozen=True)
class World:
    """The sizes the checks sample at.

    Args:
        teachers: K, the number of teachers.
        vocab: V, the vocabulary size.
        context_dim: D, the number of context features.
        tasks: M, the number of tasks.
        features: F, the length of the `features` vector an operator may ask for.
        history: H, the number of past steps in the `history` of task losses.
    """

    teachers: int = _size(4, "K", "number of teachers K in the sampled world")
    vocab: int = _size(16, "V", "vocabulary size V in the sampled world")
    context_dim: int = _size(3, "D", "context features D in the sampled world")
    tasks: int = _size(3, "M", "number of tasks M in the sampled world")
    features: int = _size(8, "F", "length F of the `features` input an operator may name", input_size=True)
    history: int = _size(2, "H", "past steps H of the `history` input an operator may name", input_size=True)

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"World.{field.name} must be an integer ≥ 1, got {value!r}")

    def with_teachers(self, k: int) -> World:
        return dataclasses.replace(self, teachers=k)


def fields() -> tuple[str, ...]:
    """The names of the `World` sizes, in field order."""
    return tuple(f.name for f in dataclasses.fields(World))


def _field(name: str) -> dataclasses.Field[Any]:
    return next(f for f in dataclasses.fields(World) if f.name == name)


def default(name: str) -> int:
    """The built-in size of `name`."""
    return int(_field(name).default)  # type: ignore[arg-type]


def symbol(name: str) -> str:
    """The letter the docs and the flags' metavar use for `name` (K, V, D, ...)."""
    return str(_field(name).metadata["symbol"])


def help_text(name: str) -> str:
    """What the size `name` is, as the help of its flag says it."""
    return str(_field(name).metadata["help"])


def is_input_size(name: str) -> bool:
    """Whether `name` sizes a keyword input (written in a reproduce line only when not its default)."""
    return bool(_field(name).metadata["input_size"])


def flag(name: str) -> str:
    """The command-line flag of the size `name`: `--context-dim` for `context_dim`."""
    return "--" + name.replace("_", "-")


def sizes(world: World) -> dict[str, int]:
    """Every size of `world`, by field name, in field order (what a report records)."""
    return {name: int(getattr(world, name)) for name in fields()}


def shown(world: World | Mapping[str, Any]) -> list[tuple[str, int]]:
    """The `(name, size)` pairs a reproduce line spells out, in field order.

    Every size, except that of a keyword input still at its default.  A mapping
    without some size stands for that size's default.
    """
    out = []
    for name in fields():
        value = world.get(name, default(name)) if isinstance(world, Mapping) else getattr(world, name)
        if not is_input_size(name) or value != default(name):
            out.append((name, value))
    return out


def picked(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The World sizes among `namespace` (a function's keyword arguments), None where not given."""
    return {name: namespace.get(name) for name in fields()}


def declaration(world: Any) -> Declared:
    """A declared world as `(field, size)` pairs in `World` field order; a `ValueError` says what is wrong.

    Accepts a mapping or `(field, size)` pairs.  Every field must be a `World`
    field and every size an integer ≥ 1.
    """
    if world is None:
        return ()
    items = _items(world)
    known = fields()
    unknown = [name for name, _ in items if name not in known]
    if unknown:
        hints = [difflib.get_close_matches(str(n), known, n=1) for n in unknown]
        said = "; ".join(f"{n!r}" + (f" (did you mean {h[0]!r}?)" if h else "") for n, h in zip(unknown, hints))
        raise ValueError(f"world names no World size {said}; the sizes are {', '.join(known)}")
    names = [name for name, _ in items]
    if len(set(names)) != len(names):
        raise ValueError(f"world names a size twice, got {world!r}")
    given = dict(items)
    World(**given)  # each size an integer ≥ 1, else World's own message
    return tuple((name, int(given[name])) for name in known if name in given)


def _items(world: Any) -> list[tuple[Any, Any]]:
    """The `(field, size)` pairs of a mapping or a sequence of pairs."""
    if isinstance(world, Mapping):
        return list(world.items())
    try:
        pairs = [tuple(pair) for pair in world]
    except TypeError:
        pairs = []
        world_ok = False
    else:
        world_ok = all(len(pair) == 2 for pair in pairs)
    if not world_ok:
        raise ValueError(f"world must be a mapping of World sizes such as {{'context_dim': 16}}, got {world!r}")
    return [(pair[0], pair[1]) for pair in pairs]


def union(declared: Iterable[Declared]) -> Declared:
    """One declaration holding all of several (a composition needs what each part needs).

    Two parts that need different sizes of the same field cannot be checked in one world: a `ValueError`.
    """
    merged: dict[str, int] = {}
    for decl in declared:
        for name, size in decl:
            if merged.get(name, size) != size:
                raise ValueError(f"the parts declare different worlds: {name}={merged[name]} and {name}={size}")
            merged[name] = size
    return declaration(merged)


def sizes_for(declared: Declared | Mapping[str, int], *given: Mapping[str, Any] | None,
              defaults: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The one order of precedence: each size from the first of `given` (in order; None: not given)
    that has it, else `declared`, else `defaults`, else `World`'s default.

    >>> sizes_for({"tasks": 2}, {"tasks": None, "vocab": 8}, {"tasks": 5}, defaults={"vocab": 9})["tasks"]
    5
    """
    layers = [*(g or {} for g in given), dict(declared), defaults or {}]
    out = {}
    for name in fields():
        out[name] = next((layer[name] for layer in layers if layer.get(name) is not None), default(name))
    return out


def world_for(declared: Declared | Mapping[str, int], given: Mapping[str, Any],
              defaults: Mapping[str, Any] | None = None) -> World:
    """The `World` to check in: `given` (None: not given) > `declared` > `defaults` > `World`'s defaults."""
    return World(**sizes_for(declared, given, defaults=defaults))
