"""The operator registry's store: two tables of names, and what adding to them means.

The user's operators (registered by their decorators or `register()`) and the
built-in ones (the library's and those of installed plugins) are kept apart.
A user's operator may take a built-in's name: it shadows the built-in (said
once, with a `ShadowedBuiltinWarning`), which stays reachable as
`axiomcheck:NAME`, so no user's name ever clashes with the library.

Looking a name up — `get`, `operators`, `resolve`, `target_name`, and loading
the built-in library and the plugins the first time a name is read — is
`axiomcheck.library.lookup`, a later stage: the store imports nothing of the
library, and the library's decorators add to it.

>>> from axiomcheck.spec.operator import Operator
>>> op = Operator("doc_store_example", "context", lambda context: context)
>>> register(op) is op, "doc_store_example" in USER
(True, True)
>>> unregister("doc_store_example"); "doc_store_example" in USER
False
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import SpecError
from .operator import Operator

#: The user's operators: registered by their decorators or `register()`, outside the library.
USER: dict[str, Operator] = {}
#: The built-in operators (the library's) and those of installed plugins: a new process has them
#: too.  A user's operator of the same name shadows one.
BUILTINS: dict[str, Operator] = {}
#: How a built-in is named when a user's operator shadows its bare name (`axiomcheck:ca_mkd`).
BUILTIN_PREFIX = "axiomcheck:"
#: The package whose operators are built in (named, never imported, here).
LIBRARY = "axiomcheck.library"

_loading = False  # the library or a plugin is being loaded: what registers now is built in
_shadow_noted: set[str] = set()  # the names whose shadowing has been said once


class ShadowedBuiltinWarning(UserWarning):
    """A user's operator took the name of a built-in one; the built-in stays reachable as `axiomcheck:NAME`."""


@contextlib.contextmanager
def loading_builtins() -> Iterator[None]:
    """While it is open, every operator registered goes to the built-in table (a plugin loading)."""
    global _loading
    before, _loading = _loading, True
    try:
        yield
    finally:
        _loading = before


def _is_builtin(op: Operator) -> bool:
    """Whether `op` belongs to the built-in table: defined in the library, or loaded as a plugin."""
    module = str(getattr(op.fn, "__module__", "") or "")
    return _loading or module == LIBRARY or module.startswith(LIBRARY + ".")


def register(op: Operator, *, replace: bool = False) -> Operator:
    """Add `op` to the registry under its name; a clash with another user operator raises unless `replace`.

    A name that a built-in operator already has is not a clash: the user's
    operator shadows the built-in wherever the bare name is used (said once, as a
    `ShadowedBuiltinWarning`), and the built-in stays reachable as `axiomcheck:NAME`.
    """
    if not isinstance(op, Operator):
        raise SpecError(f"only an Operator can be registered, got {op!r}")
    table = BUILTINS if _is_builtin(op) else USER
    old = table.get(op.name)
    if old is not None and not replace and old is not op and not _same_definition(old, op):
        raise SpecError(f"an operator named {op.name!r} is already registered "
                        f"({old.fn!r}); pass replace=True or choose another name")
    table[op.name] = op
    note_shadows()
    return op


def _same_definition(old: Operator, new: Operator) -> bool:
    """The same function imported again (a module reloaded): the newest is kept."""
    return (getattr(old.fn, "__qualname__", None) == getattr(new.fn, "__qualname__", object())
            and getattr(old.fn, "__module__", None) == getattr(new.fn, "__module__", None))


def unregister(name: str) -> None:
    """Remove the operator registered as `name` (a user's one first, which uncovers a built-in it shadowed).

    No error if there is none.
    """
    if name in USER:
        USER.pop(name)
        _shadow_noted.discard(name)
    else:
        BUILTINS.pop(name, None)


def note_shadows() -> None:
    """Say once per name that a user's operator shadows a built-in one."""
    import warnings

    for name in sorted(set(USER) & set(BUILTINS) - _shadow_noted):
        _shadow_noted.add(name)
        user = USER[name].fn
        where = f"{getattr(user, '__module__', '?')}.{getattr(user, '__qualname__', '?')}"
        warnings.warn(f"axiomcheck: your operator {name!r} ({where}) shadows the built-in operator of that name; "
                      f"{name!r} now means yours, and the built-in one is {BUILTIN_PREFIX}{name}",
                      ShadowedBuiltinWarning, stacklevel=_user_stacklevel())


def _user_stacklevel() -> int:
    """The `stacklevel` of the first caller outside axiomcheck and the import machinery (for a warning).

    `warnings.warn` itself steps over the frames of `importlib._bootstrap` without counting them.
    """
    inside = (str(Path(__file__).resolve().parent.parent) + os.sep,  # the axiomcheck package
              str(Path(importlib.__file__).resolve().parent))
    frame: Any = sys._getframe(2)
    level = 2  # level 1 is the caller of warnings.warn, frame 1 here
    while frame is not None:
        name = frame.f_code.co_filename
        if not ("importlib" in name and "_bootstrap" in name):
            if not name.startswith(inside):
                break
            level += 1
        frame = frame.f_back
    return level
