"""Conformance suites: TOML files that name operators, worlds and expected verdicts.

A suite is validated completely when it is loaded — TOML syntax, every key,
every axiom id, every operator import — so a malformed suite is refused with a
`SuiteError` naming the file, the line (where it can be found) and the key,
before anything runs.  Running a suite gives a `Run`: plain data (one
`Outcome` per operator × axiom) that the writers and renderers read.

The format (the README, "Conformance suites", has the full reference)::

    [suite]
    name = "reference"
    seed = 0
    max_examples = 100
    [suite.world]
    teachers = 4

    [[item]]
    operator = "entropy_exp"            # a registered name, "module:attr" or "file.py:attr"
    spec = { bounds = [0.05, 0.9] }     # optional declared-spec overrides
    axioms = ["token.normalization"]    # optional; default: every check of the scale
    expect = { "token.normalization" = "fail" }   # default "pass"

An item passes when each verdict matches its expectation; a `skipped` result
matches "pass".

>>> suite = loads('[suite]\\nname = "doc"\\n[[item]]\\noperator = "uniform_context"\\n', "doc.toml")
>>> suite.items[0].id, suite.items[0].operator.scale
('uniform_context', 'context')
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import importlib.util
import re
import shlex
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import tomllib

from . import options as O
from .axioms import AXIOMS, for_scale
from .engine import DEFAULT_TIMEOUT, verify
from .operator import Operator, Safety, SpecError, get
from .report import Report, plain

EXPECTATIONS = ("pass", "fail", "error", "skipped")
RUN_SCHEMA = "axiomcheck.run"
RUN_SCHEMA_VERSION = 1

_SUITE_KEYS = {
    "name": "a string",
    "description": "a string",
    "seed": "an integer ≥ 0",
    "max_examples": "an integer ≥ 0",
    "tolerance": "a number ≥ 0",
    "timeout": "a number of seconds > 0",
    "world": "a table of world sizes",
}
_ITEM_KEYS = {
    "id": "a string naming the item (default: the operator)",
    "operator": "an operator: a registered name, 'module:attr' or 'file.py:attr'",
    "compose": "a list of operators to compose (product-then-normalize)",
    "description": "a string",
    "spec": "a table of declared-spec overrides",
    "world": "a table of world sizes",
    "axioms": "a list of axiom ids",
    "expect": "a table of axiom id = 'pass' | 'fail' | 'error' | 'skipped'",
    "seed": "an integer ≥ 0",
    "max_examples": "an integer ≥ 0",
    "tolerance": "a number ≥ 0",
    "timeout": "a number of seconds > 0",
}
_WORLD_KEYS = O.world_fields()
_SPEC_KEYS = {"bounds": "[w_min, w_max]", "lipschitz": "a number ≥ 0", "safety": "a table"}
_SAFETY_KEYS = {"tokens": "a list of token ids", "order": "a list of teacher indices, safest first",
                "pairs": "a list of [better, worse] teacher pairs"}


# ============================================================================= errors


class TargetError(ValueError):
    """An operator reference (name, module:attr, file.py:attr) that does not resolve to an Operator."""


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with a suite file."""

    path: str
    message: str
    line: int | None = None
    key: str | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


class SuiteError(ValueError):
    """A suite that cannot be run; `problems` lists each error with its file, line and key."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @property
    def path(self) -> str:
        return self.problems[0].path

    @property
    def line(self) -> int | None:
        return self.problems[0].line


# ============================================================================= operator references


def _import_file(path: Path) -> Any:
    name = "axiomcheck_user_" + re.sub(r"\W", "_", str(path.resolve().with_suffix("")))
    if name in sys.modules:
        return sys.modules[name]
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


def resolve_target(text: str, *, base: Path | None = None) -> Operator:
    """The `Operator` a reference names: a registered name, `module:attr` or `path/file.py:attr`.

    `module:attr` is imported with the current directory (and `base`, a suite's
    folder) on `sys.path`, as `python -m` would; a `.py` path is read relative
    to `base` (else the current directory).  Raises `TargetError`.
    """
    if not isinstance(text, str) or not text.strip():
        raise TargetError(f"an operator reference must be a non-empty string, got {text!r}")
    text = text.strip()
    if ":" not in text:
        try:
            return get(text)
        except KeyError:
            from .operator import _REGISTRY

            close = difflib.get_close_matches(text, list(_REGISTRY), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else \
                "; run `axiomcheck list` for the registered names, or write 'module:attr'"
            raise TargetError(f"no operator named {text!r} is registered{hint}") from None
    where, _, attr = text.rpartition(":")
    if not where or not attr:
        raise TargetError(f"an operator reference must be 'name', 'module:attr' or 'file.py:attr', got {text!r}")
    try:
        if where.endswith(".py") or "/" in where or "\\" in where:
            path = Path(where)
            if not path.is_absolute():
                path = (base or Path.cwd()) / path
            if not path.is_file():
                raise TargetError(f"{text!r}: no such file {str(path)!r}")
            module = _import_file(path)
        else:
            for folder in (str(Path.cwd()), str(base) if base else None):
                if folder and folder not in sys.path:
                    sys.path.insert(0, folder)
            module = importlib.import_module(where)
    except TargetError:
        raise
    except SpecError as exc:
        raise TargetError(f"{text!r}: importing {where!r} declared an invalid operator: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - any import failure is the user's to see
        raise TargetError(f"{text!r}: cannot import {where!r}: {type(exc).__name__}: {exc}") from None
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise TargetError(f"{text!r}: {where!r} has no attribute {attr!r}") from None
    if not isinstance(obj, Operator):
        raise TargetError(f"{text!r} is of type {type(obj).__name__}, not an axiomcheck Operator; decorate the function "
                          f"with @ac.token_operator(...), @ac.task_operator(...) or @ac.context_operator(...)")
    return obj


def compose_targets(ops: Sequence[Operator]) -> Operator:
    """`ac.compose(*ops)`; a `TargetError` when composition is not available."""
    try:
        from .compose import compose
    except ImportError as exc:
        raise TargetError(f"composition needs axiomcheck.compose, which cannot be imported: {exc}") from None
    try:
        return compose(*ops)
    except SpecError as exc:
        raise TargetError(f"cannot compose {[op.name for op in ops]}: {exc}") from None


# ============================================================================= the suite model


@dataclasses.dataclass(frozen=True)
class SuiteItem:
    """One operator of a suite, resolved, with its world, axioms and expectations."""

    id: str
    operator: Operator
    source: str | tuple[str, ...]  # the reference as written, or the composed references
    world: dict[str, int]
    axioms: tuple[str, ...]
    expect: dict[str, str]  # every axiom of `axioms` -> "pass" | "fail" | "error" | "skipped"
    seed: int | None = None  # None: not set by the suite (the run's defaults apply)
    max_examples: int | None = None
    tolerance: float | None = None
    timeout: float | None = None
    description: str = ""
    spec_overrides: dict[str, Any] = dataclasses.field(default_factory=dict)
    line: int | None = None

    @property
    def is_plain(self) -> bool:
        """Reproducible with `axiomcheck verify SOURCE` alone (no overrides, no composition)."""
        return (isinstance(self.source, str) and not self.spec_overrides and self.tolerance is None
                and self.timeout is None and ".py:" not in self.source)


@dataclasses.dataclass(frozen=True)
class Suite:
    name: str
    path: str
    items: tuple[SuiteItem, ...]
    description: str = ""

    def select(self, ids: Iterable[str]) -> Suite:
        wanted = set(ids)
        return dataclasses.replace(self, items=tuple(i for i in self.items if i.id in wanted))


# ============================================================================= loading


def _line_index(text: str) -> dict[tuple[str, int, str], int]:
    """Best-effort map (table, item number, key) -> line, for error messages.

    Table is "" (top level), "suite", "suite.world", "item", "item.spec", ...;
    the item number counts `[[item]]` headers (0 outside items).
    """
    out: dict[tuple[str, int, str], int] = {}
    table, item = "", 0
    header = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\"' -]+?)\s*\]\]?\s*(#.*)?$")
    keyline = re.compile(r"^\s*([A-Za-z0-9_\-]+|\"[^\"]*\"|'[^']*')\s*(\.\s*[A-Za-z0-9_\-\"']+\s*)*=")
    for n, line in enumerate(text.splitlines(), start=1):
        m = header.match(line)
        if m:
            table = m.group(2).replace(" ", "")
            if m.group(1) == "[[" and table == "item":
                item += 1
            out.setdefault((table, item if table.startswith("item") else 0, ""), n)
            continue
        k = keyline.match(line)
        if k:
            key = k.group(1).strip("\"'")
            out.setdefault((table, item if table.startswith("item") else 0, key), n)
    return out


class _Loader:
    def __init__(self, path: str, text: str):
        self.path = path
        self.text = text
        self.lines = _line_index(text)
        self.problems: list[Problem] = []

    def line(self, table: str, item: int, key: str = "") -> int | None:
        found = self.lines.get((table, item, key))
        if found is None and key:
            # An inline table (`world = { ... }`) lives on the parent's line.
            parent, _, child = table.rpartition(".")
            if parent:
                found = self.lines.get((parent, item, child))
            found = found or self.lines.get((table, item, ""))
        return found

    def problem(self, message: str, table: str = "", item: int = 0, key: str = "") -> None:
        self.problems.append(Problem(self.path, message, self.line(table, item, key), key or None))

    def keys(self, data: Mapping[str, Any], allowed: Mapping[str, str] | Sequence[str], where: str,
             table: str, item: int = 0) -> None:
        for key in data:
            if key not in allowed:
                close = difflib.get_close_matches(key, list(allowed), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.problem(f"{where}: unknown key {key!r}{hint}; expected one of: {', '.join(allowed)}",
                             table, item, key)

    # -------------------------------------------------------------- values

    def integer(self, value: Any, minimum: int, what: str, table: str, item: int, key: str) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.problem(f"{what}: must be an integer ≥ {minimum}, got {value!r}", table, item, key)
            return None
        return value

    def number(self, value: Any, what: str, table: str, item: int, key: str, *, positive: bool = False) -> float | None:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (value > 0 if positive else value >= 0)
        if not ok or value != value or value in (float("inf"),):
            self.problem(f"{what}: must be a finite number {'> 0' if positive else '≥ 0'}, got {value!r}",
                         table, item, key)
            return None
        return float(value)

    def world(self, data: Any, base: Mapping[str, int], where: str, table: str, item: int) -> dict[str, int]:
        out = dict(base)
        if not isinstance(data, dict):
            self.problem(f"{where}: must be a table of world sizes ({', '.join(_WORLD_KEYS)}), got {data!r}",
                         table.rpartition(".")[0], item, "world")
            return out
        self.keys(data, _WORLD_KEYS, where, table, item)
        for key in _WORLD_KEYS:
            if key in data:
                v = self.integer(data[key], 1, f"{where}.{key}", table, item, key)
                if v is not None:
                    out[key] = v
        return out

    # -------------------------------------------------------------- the file

    def load(self, data: dict[str, Any]) -> Suite:
        self.keys(data, ("suite", "item"), "top level", "", 0)
        head = data.get("suite")
        if not isinstance(head, dict):
            self.problem("a suite needs a [suite] table (with at least name = \"...\")"
                         if head is None else f"'suite' must be a table [suite], got {head!r}", "", 0, "suite")
            head = {}
        self.keys(head, _SUITE_KEYS, "[suite]", "suite")
        name = head.get("name", Path(self.path).stem)
        if not isinstance(name, str) or not name.strip():
            self.problem(f"[suite].name: must be a non-empty string, got {name!r}", "suite", 0, "name")
            name = Path(self.path).stem
        description = head.get("description", "")
        if not isinstance(description, str):
            self.problem(f"[suite].description: must be a string, got {description!r}", "suite", 0, "description")
            description = ""
        # Unset values stay None: the run's defaults (command line, pytest ini, built-in) fill them.
        defaults: dict[str, Any] = {"seed": None, "max_examples": None, "tolerance": None, "timeout": None}
        self.settings(head, defaults, "[suite]", "suite", 0)
        world: dict[str, int] = {}
        if "world" in head:
            world = self.world(head["world"], world, "[suite.world]", "suite.world", 0)
        raw_items = data.get("item")
        if raw_items is None:
            self.problem("a suite needs at least one [[item]] (an operator to check)", "", 0, "item")
            raw_items = []
        elif not isinstance(raw_items, list) or not all(isinstance(i, dict) for i in raw_items):
            self.problem("'item' must be an array of tables, written [[item]]", "", 0, "item")
            raw_items = []
        items: list[SuiteItem] = []
        seen: dict[str, int] = {}
        for n, raw in enumerate(raw_items, start=1):
            it = self.item(raw, n, world, defaults)
            if it is None:
                continue
            if it.id in seen:
                self.problem(f"[[item]] #{n}: the id {it.id!r} is already used by item #{seen[it.id]}; give one of "
                             f"them its own id = \"...\"", "item", n, "id" if "id" in raw else "")
                continue
            seen[it.id] = n
            items.append(it)
        if self.problems:
            raise SuiteError(self.problems)
        return Suite(name=name, path=self.path, items=tuple(items), description=description)

    def settings(self, data: Mapping[str, Any], out: dict[str, Any], where: str, table: str, item: int) -> None:
        if "seed" in data:
            v = self.integer(data["seed"], 0, f"{where}.seed", table, item, "seed")
            out["seed"] = v if v is not None else out["seed"]
        if "max_examples" in data:
            v = self.integer(data["max_examples"], 0, f"{where}.max_examples", table, item, "max_examples")
            out["max_examples"] = v if v is not None else out["max_examples"]
        if "tolerance" in data:
            out["tolerance"] = self.number(data["tolerance"], f"{where}.tolerance", table, item, "tolerance")
        if "timeout" in data:
            v = self.number(data["timeout"], f"{where}.timeout", table, item, "timeout", positive=True)
            out["timeout"] = v if v is not None else out["timeout"]

    def item(self, raw: dict[str, Any], n: int, world: dict[str, int], defaults: dict[str, Any]) -> SuiteItem | None:
        where = f"[[item]] #{n}"
        before = len(self.problems)
        self.keys(raw, _ITEM_KEYS, where, "item", n)
        base = Path(self.path).parent
        has_op, has_comp = "operator" in raw, "compose" in raw
        if has_op == has_comp:
            self.problem(f"{where}: needs exactly one of operator = \"name\" or compose = [\"a\", \"b\", ...], got "
                         f"{'both' if has_op else 'neither'}", "item", n, "operator" if has_op else "")
            return None
        op: Operator | None = None
        source: str | tuple[str, ...]
        key = "operator" if has_op else "compose"
        try:
            if has_op:
                source = raw["operator"]
                if not isinstance(source, str):
                    raise TargetError(f"must be a string ('name', 'module:attr' or 'file.py:attr'), got {source!r}")
                op = resolve_target(source, base=base)
            else:
                refs = raw["compose"]
                if not isinstance(refs, list) or len(refs) < 1 or not all(isinstance(r, str) for r in refs):
                    raise TargetError(f"must be a non-empty list of operator references, got {refs!r}")
                source = tuple(refs)
                op = compose_targets([resolve_target(r, base=base) for r in refs])
        except TargetError as exc:
            self.problem(f"{where}, key '{key}': {exc}", "item", n, key)
            return None
        ident = raw.get("id", source if isinstance(source, str) else "+".join(source))
        if not isinstance(ident, str) or not ident.strip() or "::" in ident or any(c.isspace() for c in ident):
            self.problem(f"{where}.id: must be a non-empty string without spaces or '::', got {ident!r}",
                         "item", n, "id")
            ident = f"item{n}"
        description = raw.get("description", "")
        if not isinstance(description, str):
            self.problem(f"{where}.description: must be a string, got {description!r}", "item", n, "description")
            description = ""
        overrides: dict[str, Any] = {}
        if "spec" in raw:
            op, overrides = self.spec(raw["spec"], op, where, n)
        item_world = self.world(raw["world"], world, f"{where}.world", "item.world", n) if "world" in raw else dict(world)
        settings = dict(defaults)
        self.settings(raw, settings, where, "item", n)
        scale_ids = [a.id for a in for_scale(op.scale)]
        axioms = tuple(scale_ids)
        if "axioms" in raw:
            axioms = self.axiom_list(raw["axioms"], op, scale_ids, where, n)
        expect = {a: "pass" for a in axioms}
        if "expect" in raw:
            self.expectations(raw["expect"], op, axioms, scale_ids, expect, where, n)
        if len(self.problems) > before:
            return None
        return SuiteItem(id=ident, operator=op, source=source, world=item_world, axioms=axioms, expect=expect,
                         seed=settings["seed"], max_examples=settings["max_examples"],
                         tolerance=settings["tolerance"], timeout=settings["timeout"], description=description,
                         spec_overrides=overrides, line=self.line("item", n))

    def spec(self, data: Any, op: Operator, where: str, n: int) -> tuple[Operator, dict[str, Any]]:
        if not isinstance(data, dict):
            self.problem(f"{where}.spec: must be a table like {{ bounds = [lo, hi], lipschitz = L }}, got {data!r}",
                         "item", n, "spec")
            return op, {}
        self.keys(data, _SPEC_KEYS, f"{where}.spec", "item.spec", n)
        changes: dict[str, Any] = {}
        if "bounds" in data:
            b = data["bounds"]
            if (not isinstance(b, list) or len(b) != 2
                    or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in b)):
                self.problem(f"{where}.spec.bounds: must be [w_min, w_max] (two numbers), got {b!r}",
                             "item.spec", n, "bounds")
            else:
                changes["bounds"] = (float(b[0]), float(b[1]))
        if "lipschitz" in data:
            v = self.number(data["lipschitz"], f"{where}.spec.lipschitz", "item.spec", n, "lipschitz")
            if v is not None:
                changes["lipschitz"] = v
        if "safety" in data:
            s = data["safety"]
            if not isinstance(s, dict):
                self.problem(f"{where}.spec.safety: must be a table like {{ order = [0, 2, 1] }}, got {s!r}",
                             "item.spec", n, "safety")
            else:
                self.keys(s, _SAFETY_KEYS, f"{where}.spec.safety", "item.spec.safety", n)
                old = op.safety
                fields = {"tokens": old.tokens if old else None, "contexts": old.contexts if old else None,
                          "order": None, "pairs": None}
                if "order" not in s and "pairs" not in s and old is not None:
                    fields["order"], fields["pairs"] = old.order, old.pairs
                for k in ("tokens", "order", "pairs"):
                    if k in s:
                        fields[k] = s[k]
                try:
                    changes["safety"] = Safety(**fields)
                except (SpecError, TypeError, ValueError) as exc:
                    self.problem(f"{where}.spec.safety: {exc}", "item.spec", n, "safety")
        if not changes:
            return op, {}
        try:
            new = op.replace(**changes)
        except SpecError as exc:
            self.problem(f"{where}.spec: {exc}", "item", n, "spec")
            return op, {}
        return new, plain({k: (v if k != "safety" else {"order": v.order, "pairs": v.pairs, "tokens": v.tokens})
                           for k, v in changes.items()})

    def axiom_list(self, data: Any, op: Operator, scale_ids: list[str], where: str, n: int) -> tuple[str, ...]:
        if not isinstance(data, list) or not data or not all(isinstance(a, str) for a in data):
            self.problem(f"{where}.axioms: must be a non-empty list of axiom ids, got {data!r}", "item", n, "axioms")
            return tuple(scale_ids)
        good = []
        for a in data:
            if self.known_axiom(a, op, scale_ids, f"{where}.axioms", "item", n, "axioms"):
                if a not in good:
                    good.append(a)
        # Report order: catalogue order, whatever order they were written in.
        return tuple(a for a in scale_ids if a in good)

    def known_axiom(self, a: str, op: Operator, scale_ids: list[str], where: str, table: str, n: int, key: str) -> bool:
        if a in scale_ids:
            return True
        if a in AXIOMS:
            self.problem(f"{where}: {a!r} is a {AXIOMS[a].scale}-scale check, but {op.name!r} is a {op.scale}-scale "
                         f"operator; expected one of: {', '.join(scale_ids)}", table, n, key)
        else:
            close = difflib.get_close_matches(a, list(AXIOMS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            self.problem(f"{where}: unknown axiom id {a!r}{hint}; expected one of the {op.scale}-scale ids: "
                         f"{', '.join(scale_ids)}", table, n, key)
        return False

    def expectations(self, data: Any, op: Operator, axioms: tuple[str, ...], scale_ids: list[str],
                     out: dict[str, str], where: str, n: int) -> None:
        if not isinstance(data, dict):
            self.problem(f"{where}.expect: must be a table like {{ \"{scale_ids[0]}\" = \"fail\" }}, got {data!r}",
                         "item", n, "expect")
            return
        for axiom, verdict in _flatten_dotted(data):
            if not self.known_axiom(axiom, op, scale_ids, f"{where}.expect", "item", n, "expect"):
                continue
            if axiom not in axioms:
                self.problem(f"{where}.expect: {axiom!r} is not among the item's axioms {list(axioms)}; add it to "
                             f"axioms or drop the expectation", "item", n, "expect")
                continue
            if verdict not in EXPECTATIONS:
                self.problem(f"{where}.expect.{axiom}: must be one of {', '.join(map(repr, EXPECTATIONS))}, got "
                             f"{verdict!r}", "item", n, "expect")
                continue
            out[axiom] = verdict


def _flatten_dotted(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """`{"token": {"positivity": "fail"}}` (an unquoted dotted key) -> `[("token.positivity", "fail")]`."""
    out = []
    for k, v in data.items():
        if isinstance(v, dict):
            out.extend(_flatten_dotted(v, f"{prefix}{k}."))
        else:
            out.append((f"{prefix}{k}", v))
    return out


def _display_path(path: str | Path) -> str:
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


def loads(text: str, path: str = "<suite>") -> Suite:
    """Parse and validate a suite from TOML text (`path` is used in messages)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line = int(m.group(1)) if m else None
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        col = f", column {m.group(2)}" if m else ""
        raise SuiteError([Problem(path, f"invalid TOML{col}: {msg}", line)]) from None
    return _Loader(path, text).load(data)


def load(path: str | Path) -> Suite:
    """Read, parse and validate a suite file."""
    shown = _display_path(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SuiteError([Problem(shown, f"cannot read the suite: {exc}")]) from None
    return loads(text, shown)


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """Suite files named by `paths`: files as given, folders as their `*.toml` files (sorted)."""
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out.extend(sorted(p.glob("*.toml")))
        elif p.exists():
            out.append(p)
        else:
            raise SuiteError([Problem(str(p), "no such suite file or folder")])
    return out


def load_all(paths: Iterable[str | Path]) -> list[Suite]:
    """Load every suite, collecting the problems of all files before raising."""
    suites, problems = [], []
    for p in discover(paths):
        try:
            suites.append(load(p))
        except SuiteError as exc:
            problems.extend(exc.problems)
    if problems:
        raise SuiteError(problems)
    return suites


def default_suite_dir() -> Path | None:
    """`./conformance_suites`, else the one shipped next to the package (a source checkout)."""
    for candidate in (Path.cwd() / "conformance_suites", Path(__file__).resolve().parent.parent / "conformance_suites"):
        if candidate.is_dir() and any(candidate.glob("*.toml")):
            return candidate
    return None


# ============================================================================= results of a run


@dataclasses.dataclass
class Outcome:
    """The verdict on one operator × axiom, judged against its expectation."""

    suite: str
    item: str
    operator: str
    scale: str
    axiom: str
    paper_ref: str
    status: str
    expected: str
    message: str
    reproduce: str | None = None
    counterexample: Any = None
    known: bool = False  # an unexpected verdict recorded in the baseline

    @property
    def matched(self) -> bool:
        if self.expected == "pass":
            return self.status in ("pass", "skipped")
        return self.status == self.expected

    @property
    def verdict(self) -> str:
        """"ok" (as expected), "known" (unexpected but baselined) or "unexpected"."""
        if self.matched:
            return "ok"
        return "known" if self.known else "unexpected"

    @property
    def key(self) -> tuple[str, str]:
        return (self.item, self.axiom)

    def to_dict(self) -> dict[str, Any]:
        d = plain(dataclasses.asdict(self))
        d["matched"] = self.matched
        d["verdict"] = self.verdict
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Outcome:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclasses.dataclass
class ItemRun:
    """One suite item after it ran: its report and its outcomes."""

    suite: str
    item: str
    source: Any
    report: Report | None
    outcomes: list[Outcome]
    settings: dict[str, Any]
    error: str | None = None  # axiomcheck itself failed on this item (an internal error)
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"item": self.item, "source": plain(self.source), "description": self.description,
                "settings": plain(self.settings), "error": self.error,
                "report": self.report.to_dict() if self.report else None,
                "outcomes": [o.to_dict() for o in self.outcomes]}

    @classmethod
    def from_dict(cls, suite: str, data: Mapping[str, Any]) -> ItemRun:
        return cls(suite=suite, item=data["item"], source=data.get("source"),
                   report=Report.from_dict(data["report"]) if data.get("report") else None,
                   outcomes=[Outcome.from_dict(o) for o in data.get("outcomes", [])],
                   settings=dict(data.get("settings") or {}), error=data.get("error"),
                   description=data.get("description", ""))


@dataclasses.dataclass
class SuiteRun:
    name: str
    path: str | None
    items: list[ItemRun]
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "description": self.description,
                "items": [i.to_dict() for i in self.items]}


@dataclasses.dataclass
class Run:
    """Everything one `axiomcheck` invocation (or pytest session) checked."""

    suites: list[SuiteRun]
    started: float = dataclasses.field(default_factory=time.time)
    elapsed_s: float = 0.0
    overrides: dict[str, Any] = dataclasses.field(default_factory=dict)
    baseline: str | None = None
    stale: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def outcomes(self) -> list[Outcome]:
        return [o for s in self.suites for i in s.items for o in i.outcomes]

    def items(self) -> list[ItemRun]:
        return [i for s in self.suites for i in s.items]

    def counts(self) -> dict[str, int]:
        out = {k: 0 for k in ("checks", "ok", "unexpected", "known", "pass", "fail", "error", "skipped",
                              "expected_fail", "operators", "internal_errors")}
        for o in self.outcomes():
            out["checks"] += 1
            out[o.verdict] += 1
            out[o.status] += 1
            if o.matched and o.expected != "pass":
                out["expected_fail"] += 1
        out["operators"] = len(self.items())
        out["internal_errors"] = sum(1 for i in self.items() if i.error)
        out["stale"] = len(self.stale)
        return out

    @property
    def ok(self) -> bool:
        return all(o.verdict != "unexpected" for o in self.outcomes()) and not any(i.error for i in self.items())

    @property
    def exit_code(self) -> int:
        """0 as expected, 1 an unexpected verdict, 3 axiomcheck failed on some item."""
        if any(i.error for i in self.items()):
            return 3
        return 0 if self.ok else 1

    def to_dict(self) -> dict[str, Any]:
        from . import __version__

        return {
            "schema": RUN_SCHEMA,
            "schema_version": RUN_SCHEMA_VERSION,
            "axiomcheck_version": __version__,
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started)),
            "elapsed_s": round(float(self.elapsed_s), 3),
            "ok": self.ok,
            "counts": self.counts(),
            "overrides": plain(self.overrides),
            "baseline": self.baseline,
            "stale_baseline_entries": plain(self.stale),
            "suites": [s.to_dict() for s in self.suites],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Run:
        if data.get("schema") != RUN_SCHEMA:
            raise ValueError(f"not an axiomcheck run document (schema must be {RUN_SCHEMA!r}, "
                             f"got {data.get('schema')!r})")
        if data.get("schema_version") != RUN_SCHEMA_VERSION:
            raise ValueError(f"schema_version must be {RUN_SCHEMA_VERSION}, got {data.get('schema_version')!r}")
        suites = [SuiteRun(name=s["name"], path=s.get("path"), description=s.get("description", ""),
                           items=[ItemRun.from_dict(s["name"], i) for i in s["items"]]) for s in data["suites"]]
        return cls(suites=suites, elapsed_s=float(data.get("elapsed_s", 0.0)), overrides=dict(data.get("overrides") or {}),
                   baseline=data.get("baseline"), stale=list(data.get("stale_baseline_entries") or []))


# ============================================================================= running


def effective(item: SuiteItem, overrides: Mapping[str, Any],
              defaults: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The settings an item runs with.

    Precedence: `overrides` (the command line) > the suite's values > `defaults`
    (e.g. pytest ini keys) > the built-in defaults of `axiomcheck.options`.
    """
    defaults = defaults or {}
    world = {k: O.resolve(k, overrides.get(k), item.world.get(k), defaults.get(k)) for k in _WORLD_KEYS}
    return {"seed": O.resolve("seed", overrides.get("seed"), item.seed, defaults.get("seed")),
            "max_examples": O.resolve("max_examples", overrides.get("max_examples"), item.max_examples,
                                      defaults.get("max_examples")),
            "tolerance": item.tolerance, "timeout": item.timeout, **world}


def verify_command(target: str, settings: Mapping[str, Any], axiom: str) -> str:
    """The one-line `axiomcheck verify` command that replays one check."""
    return (f"axiomcheck verify {shlex.quote(target)} --seed {settings['seed']} --max-examples "
            f"{settings['max_examples']} --teachers {settings['teachers']} --vocab {settings['vocab']} "
            f"--context-dim {settings['context_dim']} --tasks {settings['tasks']} --axioms {axiom}")


def reproduction(suite: Suite | None, item: SuiteItem, settings: Mapping[str, Any], axiom: str) -> str:
    """A one-line command replaying `axiom` on `item` with exactly these settings."""
    if suite is None or item.is_plain:
        return verify_command(item.source if isinstance(item.source, str) else item.id, settings, axiom)
    parts = ["axiomcheck", "run", shlex.quote(suite.path), "--item", shlex.quote(item.id), "--axioms", axiom,
             "--seed", str(settings["seed"]), "--max-examples", str(settings["max_examples"])]
    for opt in O.WORLD_OPTIONS:
        if settings[opt.name] != item.world.get(opt.name, opt.default):
            parts += [opt.cli_flags[0], str(settings[opt.name])]
    return " ".join(parts)


def judge(suite: Suite | None, item: SuiteItem, report: Report, settings: Mapping[str, Any]) -> list[Outcome]:
    out = []
    suite_name = suite.name if suite else "verify"
    for r in report.results:
        expected = item.expect.get(r.axiom, "pass")
        o = Outcome(suite=suite_name, item=item.id, operator=report.operator, scale=report.scale, axiom=r.axiom,
                    paper_ref=r.paper_ref, status=r.status, expected=expected, message=r.message,
                    counterexample=r.counterexample)
        if r.status in ("fail", "error") or not o.matched:
            o.reproduce = reproduction(suite, item, settings, r.axiom)
        out.append(o)
    return out


def verify_item(item: SuiteItem, settings: Mapping[str, Any]) -> Report:
    """`verify()` of one item with its effective settings (may raise on an internal error)."""
    timeout = settings["timeout"] if settings.get("timeout") is not None else DEFAULT_TIMEOUT
    return verify(item.operator, teachers=settings["teachers"], vocab=settings["vocab"],
                  context_dim=settings["context_dim"], tasks=settings["tasks"], seed=settings["seed"],
                  max_examples=settings["max_examples"], tolerance=settings["tolerance"],
                  timeout=timeout, axioms=list(item.axioms))


def internal_error(exc: BaseException, item: SuiteItem) -> str:
    return f"axiomcheck failed while verifying {item.id!r}: {type(exc).__name__}: {exc}"


def item_run(suite: Suite | None, item: SuiteItem, settings: Mapping[str, Any], report: Report | None,
             error: str | None = None) -> ItemRun:
    """Judge a report (or record an internal error) as the ItemRun of `item`."""
    name = suite.name if suite else "verify"
    if report is None:
        outcomes = [Outcome(suite=name, item=item.id, operator=item.operator.name, scale=item.operator.scale,
                            axiom=a, paper_ref=AXIOMS[a].paper_ref, status="error", expected=item.expect[a],
                            message=error or "not verified", reproduce=reproduction(suite, item, settings, a))
                    for a in item.axioms]
        return ItemRun(name, item.id, item.source, None, outcomes, dict(settings), error=error or "not verified",
                       description=item.description)
    return ItemRun(name, item.id, item.source, report, judge(suite, item, report, settings), dict(settings),
                   description=item.description)


def run_item(suite: Suite | None, item: SuiteItem, overrides: Mapping[str, Any],
             defaults: Mapping[str, Any] | None = None) -> ItemRun:
    """Verify one item (never raises: an internal failure is recorded on the ItemRun)."""
    settings = effective(item, overrides, defaults)
    try:
        report = verify_item(item, settings)
    except Exception as exc:  # noqa: BLE001 - one broken item must not lose the rest of the run
        return item_run(suite, item, settings, None, internal_error(exc, item))
    return item_run(suite, item, settings, report)


ProgressHook = Callable[[str, Suite, SuiteItem, "ItemRun | None"], None]


def run(suites: Sequence[Suite], overrides: Mapping[str, Any] | None = None, *,
        on_event: ProgressHook | None = None) -> Run:
    """Run every item of every suite; `on_event("start"|"done", suite, item, item_run)` reports progress."""
    overrides = dict(overrides or {})
    start = time.perf_counter()
    result = Run(suites=[], overrides=overrides)
    for suite in suites:
        sr = SuiteRun(name=suite.name, path=suite.path, items=[], description=suite.description)
        result.suites.append(sr)
        for item in suite.items:
            if on_event:
                on_event("start", suite, item, None)
            ir = run_item(suite, item, overrides)
            sr.items.append(ir)
            if on_event:
                on_event("done", suite, item, ir)
    result.elapsed_s = time.perf_counter() - start
    return result


def single(op: Operator, source: str, *, axioms: Sequence[str] | None = None,
           world: Mapping[str, int] | None = None, seed: int | None = None, max_examples: int | None = None,
           tolerance: float | None = None, timeout: float | None = None) -> SuiteItem:
    """A one-operator item (expect pass everywhere), for `axiomcheck verify` and the pytest fixture."""
    scale_ids = [a.id for a in for_scale(op.scale)]
    chosen = tuple(a for a in scale_ids if axioms is None or a in axioms)
    w = dict(world or {})
    return SuiteItem(id=source, operator=op, source=source, world=w, axioms=chosen,
                     expect={a: "pass" for a in chosen}, seed=seed, max_examples=max_examples,
                     tolerance=tolerance, timeout=timeout)

