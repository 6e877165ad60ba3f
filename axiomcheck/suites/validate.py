"""Validation of a parsed suite: every key, value, axiom id and operator reference.

`Validator(path, text).load(data)` checks the TOML data of one suite file and
returns the `Suite`, or raises one `SuiteError` listing every problem found,
each with the line it is on (where it can be found) and its key.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..axioms import AXIOMS, for_scale
from ..errors import Problem, SpecError, SuiteError, TargetError
from ..library.lookup import resolve
from ..report.results import plain
from ..sampling.budget import timeout_problem
from ..spec import boxes
from ..spec.operator import Operator, Safety
from ..spec.registry import BUILTIN_PREFIX
from .keys import ITEM_KEYS as _ITEM_KEYS
from .keys import SAFETY_KEYS as _SAFETY_KEYS
from .keys import SPEC_KEYS as _SPEC_KEYS
from .keys import SUITE_KEYS as _SUITE_KEYS
from .keys import WORLD_KEYS as _WORLD_KEYS
from .model import Suite, SuiteItem, compose_targets

EXPECTATIONS = ("pass", "fail", "error", "skipped")



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


class Validator:
    """Checks the parsed TOML of one suite file and builds the `Suite`, collecting every problem."""

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
        defaults: dict[str, Any] = {"seed": None, "max_examples": None, "tolerance": None, "timeout": None,
                                    "isolate": None, "certify": None, "certify_gap": None, "certify_time": None,
                                    "domain": {}}
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
        self.import_targets(raw_items)
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
            problem = timeout_problem(data["timeout"])
            if problem is not None:
                self.problem(f"{where}.timeout: {problem}", table, item, "timeout")
            else:
                out["timeout"] = float(data["timeout"])
        for key in ("isolate", "certify"):
            if key in data:
                if isinstance(data[key], bool):
                    out[key] = data[key]
                else:
                    self.problem(f"{where}.{key}: must be true or false, got {data[key]!r}", table, item, key)
        for key in ("certify_gap", "certify_time"):
            if key in data:
                v = self.number(data[key], f"{where}.{key}", table, item, key, positive=True)
                out[key] = v if v is not None else out[key]
        if "domain" in data:  # an item's boxes over its suite's
            boxed, errors = boxes.checked(data["domain"])
            out["domain"] = {**out["domain"], **boxed}
            for error in errors:
                self.problem(f"{where}.{error}", table, item, "domain")

    def import_targets(self, raw_items: list[dict[str, Any]]) -> None:
        """Import every `module:attr` and `file.py:attr` the items name before any item is resolved.

        Importing a user's file registers its operators, and a user's operator shadows a built-in
        of the same name: without this pass a bare name meant the built-in in the items before the
        file's and the user's one after it.  A target that fails here is reported by its item.
        """
        base = Path(self.path).parent
        for raw in raw_items:
            refs = raw.get("compose", [raw.get("operator")])
            for ref in refs if isinstance(refs, list) else ():
                if isinstance(ref, str) and ":" in ref and not ref.strip().startswith(BUILTIN_PREFIX):
                    try:
                        resolve(ref, base=base)
                    except TargetError:
                        pass

    def item(self, raw: dict[str, Any], n: int, world: dict[str, int], defaults: dict[str, Any]) -> SuiteItem | None:
        where = f"[[item]] #{n}"
        before = len(self.problems)
        self.keys(raw, _ITEM_KEYS, where, "item", n)
        base = Path(self.path).parent
        # The suites shipped with axiomcheck mean the built-in operators, whatever a user registered.
        shipped = base.resolve() == Path(__file__).resolve().parent / "builtin"
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
                op = resolve(source, base=base, builtin_first=shipped)
            else:
                refs = raw["compose"]
                if not isinstance(refs, list) or len(refs) < 1 or not all(isinstance(r, str) for r in refs):
                    raise TargetError(f"must be a non-empty list of operator references, got {refs!r}")
                source = tuple(refs)
                op = compose_targets([resolve(r, base=base, builtin_first=shipped) for r in refs])
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
        if isinstance(raw.get("domain"), dict):  # an item's own boxes must be for inputs its operator takes
            extra = boxes.unused({k: v for k, v in settings["domain"].items() if k in raw["domain"]}, op.takes())
            if extra:
                self.problem(f"{where}.domain: bounds input(s) {extra} that {op.name!r} ({op.scale} scale) does not "
                             f"take; it takes {', '.join(op.takes())}", "item", n, "domain")
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
                         tolerance=settings["tolerance"], timeout=settings["timeout"], isolate=settings["isolate"],
                         certify=settings["certify"], certify_gap=settings["certify_gap"],
                         certify_time=settings["certify_time"], domain=dict(settings["domain"]),
                         description=description,
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


