"""The operator registry, and the one resolver of operator references.

`register`/`unregister`/`get`/`operators` manage the registry: operators
registered by their decorators, the built-in library (loaded the first time
the registry is read) and the operators of installed plugins (the entry point
group `axiomcheck.operators`).  `resolve` turns a reference into an
`Operator`: a registered name, `module:attr` or `path/to/file.py:attr`.
`target_name` is the reverse: how to name an operator on the command line.

>>> resolve("uniform_context").scale
'context'
>>> target_name(resolve("uniform_context"))
'uniform_context'
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import os
import re
import sys
from pathlib import Path
from typing import Any

from .errors import SpecError, TargetError, UnknownOperatorError
from .operator import SCALES, Operator

ENTRY_POINT_GROUP = "axiomcheck.operators"
#: Modules imported from a file path get a name under this prefix (not importable by name).
FILE_MODULE_PREFIX = "axiomcheck_user_"

_REGISTRY: dict[str, Operator] = {}
_BUILTIN_NAMES: set[str] = set()  # registered by the library or a plugin: a new process has them too
_ENTRY_POINTS_LOADED = False


def register(op: Operator, *, replace: bool = False) -> Operator:
    """Add `op` to the registry under its name; a clash raises unless `replace`."""
    if not isinstance(op, Operator):
        raise SpecError(f"only an Operator can be registered, got {op!r}")
    old = _REGISTRY.get(op.name)
    if old is not None and not replace and old is not op and not _same_definition(old, op):
        raise SpecError(f"an operator named {op.name!r} is already registered "
                        f"({old.fn!r}); pass replace=True or choose another name")
    _REGISTRY[op.name] = op
    return op


def _same_definition(old: Operator, new: Operator) -> bool:
    """The same function imported again (a module reloaded): the newest is kept."""
    return (getattr(old.fn, "__qualname__", None) == getattr(new.fn, "__qualname__", object())
            and getattr(old.fn, "__module__", None) == getattr(new.fn, "__module__", None))


def unregister(name: str) -> None:
    """Remove the operator registered as `name` from the registry (no error if absent)."""
    _REGISTRY.pop(name, None)


def _load_builtins_and_plugins() -> None:
    global _ENTRY_POINTS_LOADED
    if _ENTRY_POINTS_LOADED:
        return
    _ENTRY_POINTS_LOADED = True
    before = set(_REGISTRY)
    importlib.import_module("axiomcheck.library")
    _BUILTIN_NAMES.update(n for n, op in _REGISTRY.items()
                          if n not in before or (getattr(op.fn, "__module__", None) or "").startswith("axiomcheck."))
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
        except Exception as exc:  # a broken plugin must not break the registry
            import warnings

            warnings.warn(f"axiomcheck: entry point {ep.name!r} ({ep.value}) failed to load: {exc!r}",
                          stacklevel=2)
            continue
        for item in obj if isinstance(obj, (list, tuple)) else [obj]:
            if isinstance(item, Operator) and item.name not in _REGISTRY:
                register(item)
                _BUILTIN_NAMES.add(item.name)


def get(name: str) -> Operator:
    """The registered operator called `name` (built-ins and entry points included)."""
    _load_builtins_and_plugins()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise UnknownOperatorError(f"no operator named {name!r} is registered; known: {known}") from None


def operators(scale: str | None = None) -> list[Operator]:
    """Registered operators, sorted by name, optionally only those of one scale."""
    _load_builtins_and_plugins()
    if scale is not None and scale not in SCALES:
        raise SpecError(f"scale must be one of {SCALES}, got {scale!r}")
    return [op for _, op in sorted(_REGISTRY.items()) if scale is None or op.scale == scale]


# ----------------------------------------------------------------------------- references


def _is_path(where: str) -> bool:
    return where.endswith(".py") or "/" in where or "\\" in where


def _import_file(path: Path) -> Any:
    """Import a `.py` file by path, with its folder on `sys.path` (so it can import its siblings)."""
    path = path.resolve()
    name = FILE_MODULE_PREFIX + re.sub(r"\W", "_", str(path.with_suffix("")))
    if name in sys.modules:
        return sys.modules[name]
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise TargetError(f"cannot import {str(path)!r} as a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _import(text: str, where: str, base: Path | None) -> Any:
    try:
        if _is_path(where):
            path = Path(where)
            if not path.is_absolute():
                path = (base or Path.cwd()) / path
            if not path.is_file():
                raise TargetError(f"{text!r}: no such file {str(path)!r}")
            return _import_file(path)
        for folder in (str(Path.cwd()), str(base) if base else None):
            if folder and folder not in sys.path:
                sys.path.insert(0, folder)
        return importlib.import_module(where)
    except TargetError:
        raise
    except SpecError as exc:
        raise TargetError(f"{text!r}: importing {where!r} declared an invalid operator: {exc}") from None
    except (SystemExit, KeyboardInterrupt) as exc:
        # A module that exits or interrupts while it is imported is a broken target, not a request to stop.
        raise TargetError(f"{text!r}: importing {where!r} raised {type(exc).__name__}"
                          f"{f'({exc.args[0]!r})' if exc.args else ''}; an operator module must not "
                          f"exit when it is imported") from None
    except BaseException as exc:  # noqa: BLE001 - any import failure is the user's to see
        raise TargetError(f"{text!r}: cannot import {where!r}: {type(exc).__name__}: {exc}") from None


def resolve(target: Operator | str, *, base: Path | None = None, factory: bool = False) -> Operator:
    """The `Operator` a reference names: a registered name, `module:attr` or `path/file.py:attr`.

    `module:attr` is imported with the current directory (and `base`, a suite's
    folder) on `sys.path`, as `python -m` would; a `.py` path is read relative
    to `base` (else the current directory), with its own folder on `sys.path`.
    With `factory`, an attribute that is a zero-argument callable returning an
    Operator is called.  Raises `TargetError`.
    """
    if isinstance(target, Operator):
        return target
    if not isinstance(target, str) or not target.strip():
        raise TargetError(f"an operator reference must be an Operator or a non-empty string "
                          f"('name', 'module:attr' or 'file.py:attr'), got {target!r}")
    text = target.strip()
    if ":" not in text:
        try:
            return get(text)
        except KeyError:
            close = difflib.get_close_matches(text, list(_REGISTRY), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else \
                "; run `axiomcheck list` for the registered names, or write 'module:attr'"
            raise UnknownOperatorError(f"no operator named {text!r} is registered{hint}") from None
    where, _, attr = text.rpartition(":")
    if not where or not attr:
        raise TargetError(f"an operator reference must be 'name', 'module:attr' or 'file.py:attr', got {text!r}")
    obj: Any = _import(text, where, base)
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise TargetError(f"{text!r}: {where!r} has no attribute {attr!r}") from None
    if factory and not isinstance(obj, Operator) and callable(obj):
        obj = obj()
    if not isinstance(obj, Operator):
        raise TargetError(f"{text!r} is of type {type(obj).__name__}, not an axiomcheck Operator; decorate the function "
                          f"with @ac.token_operator(...), @ac.task_operator(...) or @ac.context_operator(...)")
    return obj


def target_name(op: Operator, *, relative_to: Path | None = None) -> str | None:
    """How to name `op` on a command line run from `relative_to` (default: the current directory).

    The registry name of a built-in or plugin operator (a new process registers
    it too); else `module:attr` when a new process can import the module by
    name; else `path/file.py:attr` for a module loaded from a file (by pytest's
    rootdir-based import, or by `resolve`); else None (no importable name: a
    lambda, an operator built in `__main__` or inside a function).
    """
    if _REGISTRY.get(op.name) is op and (op.name in _BUILTIN_NAMES
                                          or str(getattr(op.fn, "__module__", "")).startswith("axiomcheck.")):
        return op.name
    mod_name = getattr(op.fn, "__module__", None)
    module = sys.modules.get(mod_name) if isinstance(mod_name, str) else None
    if module is None or mod_name == "__main__":
        return None
    attr = _attribute_of(module, op)
    if attr is None:
        return None
    file = getattr(module, "__file__", None)
    here = (relative_to or Path.cwd()).resolve()
    if not file or _importable_as(mod_name, Path(file), here):
        return f"{mod_name}:{attr}"
    path = Path(file).resolve()
    try:
        shown = path.relative_to(here).as_posix()
    except ValueError:
        shown = str(path)
    return f"{shown}:{attr}"


def _attribute_of(module: Any, op: Operator) -> str | None:
    """The module-level name that holds `op` (its function's name first, as the decorators leave it)."""
    qual = getattr(op.fn, "__qualname__", "")
    if qual and "<" not in qual and getattr(module, qual, None) is op:
        return qual
    for name, value in vars(module).items():
        if value is op and not name.startswith("__"):
            return name
    return None


def _startup_paths() -> set[Path]:
    """The import roots a new process has too: PYTHONPATH, the standard library, site-packages, .pth files.

    Folders inserted at run time (pytest's rootdir-based import puts a test's
    folder in front of `sys.path`) come before the standard library and are
    left out.
    """
    std = Path(os.__file__).resolve().parent
    entries = [Path(p).resolve() for p in sys.path if p]
    late = entries[next((i for i, p in enumerate(entries) if p == std), len(entries)):]
    env = [Path(p).resolve() for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return set(late) | set(env)


def _importable_as(mod_name: str, file: Path, folder: Path) -> bool:
    """Whether `import mod_name` in a new process started in `folder` finds `file`."""
    if mod_name.startswith(FILE_MODULE_PREFIX):
        return False
    file = file.resolve()
    root = file.parent if file.name == "__init__.py" else file.with_suffix("")
    for _ in mod_name.split("."):
        root = root.parent
    return root == folder or root in _startup_paths()
