"""Looking operators up by name: the one resolver of operator references, and its reverse.

`get` and `operators` read the registry (`axiomcheck.spec.registry`, the store):
a user's operator first, then a built-in or plugin one.  The built-in library
(`axiomcheck.library.shipped`) and the plugins of the entry point group
`axiomcheck.operators` are loaded the first time a name is read, not when this
module is imported.  `resolve` turns a reference into an `Operator`: a
registered name, `axiomcheck:NAME` (the built-in even when a user's operator
shadows the name), `module:attr` or `path/to/file.py:attr`.  `target_name` is
the reverse: how to name an operator on the command line.

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

from ..errors import SpecError, TargetError, UnknownOperatorError
from ..spec import registry
from ..spec.operator import Operator
from ..spec.registry import BUILTIN_PREFIX, BUILTINS, USER
from ..spec.scales import names as scale_names

ENTRY_POINT_GROUP = "axiomcheck.operators"
#: Modules imported from a file path get a name under this prefix (not importable by name).
FILE_MODULE_PREFIX = "axiomcheck_user_"
#: The module whose import registers every built-in operator.
SHIPPED = "axiomcheck.library.shipped"

_loaded = False  # the built-ins and the plugins have been loaded


def _load_builtins_and_plugins() -> None:
    """Register the built-in library and the installed plugins, once (the first lookup)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    with registry.loading_builtins():
        importlib.import_module(SHIPPED)
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
                if isinstance(item, Operator) and item.name not in BUILTINS:
                    registry.register(item)
    registry.note_shadows()


def get(name: str) -> Operator:
    """The operator a name means: a user's operator first, then a built-in or plugin one.

    `axiomcheck:NAME` names the built-in operator `NAME` even when a user's
    operator shadows it.
    """
    _load_builtins_and_plugins()
    if name in USER:
        return USER[name]
    if name in BUILTINS:
        return BUILTINS[name]
    if name.startswith(BUILTIN_PREFIX) and name[len(BUILTIN_PREFIX):] in BUILTINS:
        return BUILTINS[name[len(BUILTIN_PREFIX):]]
    known = ", ".join(sorted(_visible())) or "none"
    raise UnknownOperatorError(f"no operator named {name!r} is registered; known: {known}") from None


def _visible() -> dict[str, Operator]:
    """Every name and the operator it means (a user's operator over a built-in of the same name)."""
    return {**BUILTINS, **USER}


def shadowed(name: str) -> bool:
    """Whether a user's operator has taken the name of a built-in one (so a new process means the built-in)."""
    return name in USER and name in BUILTINS


def builtin(name: str) -> Operator:
    """The built-in (or plugin) operator called `name`, whether or not a user's operator shadows the name."""
    _load_builtins_and_plugins()
    try:
        return BUILTINS[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(BUILTINS), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else "; run `axiomcheck list` for the names"
        raise UnknownOperatorError(f"no built-in operator named {name!r}{hint}") from None


def operators(scale: str | None = None) -> list[Operator]:
    """Registered operators, sorted by name, optionally only those of one scale.

    A built-in operator that a user's operator shadows is left out (its name means the user's).
    """
    _load_builtins_and_plugins()
    if scale is not None and scale not in scale_names():
        raise SpecError(f"scale must be one of {scale_names()}, got {scale!r}")
    return [op for _, op in sorted(_visible().items()) if scale is None or op.scale == scale]


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


def resolve(target: Operator | str, *, base: Path | None = None, factory: bool = False,
            builtin_first: bool = False) -> Operator:
    """The `Operator` a reference names: a registered name, `module:attr` or `path/file.py:attr`.

    A bare name means a user's operator before a built-in one of the same name;
    `axiomcheck:NAME` always means the built-in, and so does a bare name with
    `builtin_first` (the suites shipped with axiomcheck).  `module:attr` is imported with the current directory (and `base`, a suite's
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
    if text.startswith(BUILTIN_PREFIX):
        return builtin(text[len(BUILTIN_PREFIX):])
    if ":" not in text:
        try:
            if builtin_first:
                _load_builtins_and_plugins()
                if text in BUILTINS:
                    return BUILTINS[text]
            return get(text)
        except KeyError:
            close = difflib.get_close_matches(text, list(_visible()), n=3)
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
            raise TargetError(f"{text!r}: {where!r} has no attribute {attr!r}{_close_attributes(obj, part)}") from None
    if factory and not isinstance(obj, Operator) and callable(obj):
        obj = obj()
    if not isinstance(obj, Operator):
        raise TargetError(f"{text!r} is of type {type(obj).__name__}, not an axiomcheck Operator; decorate the function "
                          f"with @ac.token_operator(...), @ac.task_operator(...) or @ac.context_operator(...)")
    return obj


def _close_attributes(obj: Any, name: str) -> str:
    """"; did you mean ...?" with the attributes of `obj` closest to `name` (its operators first), or ""."""
    try:
        names = [n for n in dir(obj) if not n.startswith("__")]
    except Exception:  # noqa: BLE001 - a module whose __dir__ fails gets no suggestion, not a crash
        return ""
    ops = [n for n in names if isinstance(getattr(obj, n, None), Operator)]
    close = difflib.get_close_matches(name, ops, n=3) or difflib.get_close_matches(name, names, n=3)
    if close:
        return f"; did you mean {', '.join(repr(c) for c in close)}?"
    return f"; its operators are {', '.join(ops)}" if 0 < len(ops) <= 12 else ""


def target_name(op: Operator, *, relative_to: Path | None = None) -> str | None:
    """How to name `op` on a command line run from `relative_to` (default: the current directory).

    The registry name of a built-in or plugin operator (a new process registers
    it too; `axiomcheck:NAME` while a user's operator shadows the name); else `module:attr` when a new process can import the module by
    name; else `path/file.py:attr` for a module loaded from a file (by pytest's
    rootdir-based import, or by `resolve`); else None (no importable name: a
    lambda, an operator built in `__main__` or inside a function).
    """
    if BUILTINS.get(op.name) is op:
        return BUILTIN_PREFIX + op.name if op.name in USER else op.name
    if (USER.get(op.name) is op and op.name not in BUILTINS
            and str(getattr(op.fn, "__module__", "")).startswith("axiomcheck.")):
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
