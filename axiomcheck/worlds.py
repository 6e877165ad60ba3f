"""The world an operator is checked in: what it declares, what the caller asks for, and which wins.

An operator may declare the sizes it needs (`world={"context_dim": 16}` on its
decorator).  Every front end builds its `World` with `world_for`, in one order of
precedence, field by field:

    what the caller gives explicitly (verify() keywords, command-line flags,
    a suite item's or the pytest marker's world)
    > what the operator declares
    > the caller's defaults (pytest ini keys)
    > the built-in `World` defaults.

>>> declaration({"context_dim": 16})
(('context_dim', 16),)
>>> world_for((("context_dim", 16),), {"teachers": 2, "context_dim": None}).context_dim
16
>>> world_for((("context_dim", 16),), {"context_dim": 5}).context_dim
5
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from .domains import World

Declared = tuple[tuple[str, int], ...]


def fields() -> tuple[str, ...]:
    """The names of the `World` sizes, in field order."""
    return tuple(f.name for f in dataclasses.fields(World))


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


def world_for(declared: Declared, given: Mapping[str, Any], defaults: Mapping[str, Any] | None = None) -> World:
    """The `World` to check in: `given` (None: not given) > `declared` > `defaults` > `World`'s defaults."""
    decl = dict(declared)
    defaults = defaults or {}
    sizes = {}
    for name in fields():
        for value in (given.get(name), decl.get(name), defaults.get(name)):
            if value is not None:
                sizes[name] = value
                break
    return World(**sizes)


def declared_of(op: Any) -> Declared:
    """An operator's declared world (empty for an object without one)."""
    return tuple(getattr(op, "world", ()) or ())
