"""Baselines: known violations that no longer fail a run.

A baseline file is JSON, a list of entries `{"operator": ..., "axiom": ...}`
(optionally `"suite"`, to pin an entry to one suite, and `"status"` /
`"message"`, kept for the reader).  `operator` is the item id of a suite item
(the operator reference unless the item sets `id`), or the target of
`axiomcheck verify`.

Applying a baseline to a run marks each unexpected verdict it lists as
*known* (reported, but the run still passes); a new unexpected verdict still
fails; an entry whose check ran and now behaves as expected is *stale* and is
reported so it can be removed.  An entry for a check that did not run is left
alone.

>>> b = Baseline.from_data([{"operator": "my_op", "axiom": "token.positivity"}], "known.json")
>>> b.lookup("any suite", "my_op", "token.positivity") is not None
True
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..axioms import AXIOMS
from ..errors import BaselineError
from .fsio import atomic_write
from .results import Outcome, Run

__all__ = ["Baseline", "BaselineError", "Entry", "entries_for", "write"]


@dataclasses.dataclass(frozen=True)
class Entry:
    operator: str
    axiom: str
    suite: str | None = None
    status: str | None = None
    message: str | None = None

    def matches(self, suite: str, operator: str, axiom: str) -> bool:
        return self.operator == operator and self.axiom == axiom and (self.suite is None or self.suite == suite)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


@dataclasses.dataclass(frozen=True)
class Baseline:
    path: str
    entries: tuple[Entry, ...]

    @classmethod
    def from_data(cls, data: Any, path: str) -> Baseline:
        if isinstance(data, dict) and "entries" in data:
            data = data["entries"]
        if not isinstance(data, list):
            raise BaselineError(f"{path}: a baseline must be a JSON list of {{\"operator\": ..., \"axiom\": ...}} "
                                f"objects, got {type(data).__name__}")
        entries = []
        for n, raw in enumerate(data):
            where = f"{path}: entry {n}"
            if not isinstance(raw, dict):
                raise BaselineError(f"{where}: must be an object {{\"operator\": ..., \"axiom\": ...}}, got {raw!r}")
            unknown = set(raw) - {f.name for f in dataclasses.fields(Entry)}
            if unknown:
                raise BaselineError(f"{where}: unknown key(s) {sorted(unknown)}; expected operator, axiom, and "
                                    f"optionally suite, status, message")
            for key in ("operator", "axiom"):
                if not isinstance(raw.get(key), str) or not raw[key]:
                    raise BaselineError(f"{where}: {key!r} must be a non-empty string, got {raw.get(key)!r}")
            for key in ("suite", "status", "message"):
                if raw.get(key) is not None and not isinstance(raw[key], str):
                    raise BaselineError(f"{where}: {key!r} must be a string, got {raw[key]!r}")
            if raw["axiom"] not in AXIOMS:
                raise BaselineError(f"{where}: unknown axiom id {raw['axiom']!r}")
            entries.append(Entry(**raw))
        return cls(path, tuple(entries))

    @classmethod
    def read(cls, path: str | Path) -> Baseline:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise BaselineError(f"{path}: cannot read the baseline: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise BaselineError(f"{path}: a baseline must be UTF-8 JSON; byte {exc.start} is not UTF-8") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BaselineError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
        except RecursionError:
            raise BaselineError(f"{path}: invalid JSON: nested too deeply") from None
        return cls.from_data(data, str(path))

    def lookup(self, suite: str, operator: str, axiom: str) -> Entry | None:
        for e in self.entries:
            if e.matches(suite, operator, axiom):
                return e
        return None

    def apply(self, run: Run) -> list[Entry]:
        """Mark known violations in `run`, record the stale entries on it and return them."""
        used: set[Entry] = set()
        checked: dict[Entry, bool] = {}  # entry -> still failing somewhere it applies
        for o in run.outcomes():
            for e in self.entries:
                if e.matches(o.suite, o.item, o.axiom):
                    checked[e] = checked.get(e, False) or not o.matched
            entry = self.lookup(o.suite, o.item, o.axiom)
            if entry is not None and not o.matched:
                o.known = True
                used.add(entry)
        stale = [e for e, failing in checked.items() if not failing]
        run.baseline = self.path
        run.stale = [e.to_dict() for e in stale]
        return stale


def entries_for(outcomes: Iterable[Outcome]) -> list[Entry]:
    """Baseline entries for every outcome that is not as expected (known ones included)."""
    return [Entry(operator=o.item, axiom=o.axiom, suite=o.suite, status=o.status, message=o.message[:200])
            for o in outcomes if not o.matched]


def write(path: str | Path, entries: Sequence[Entry]) -> None:
    """Write a baseline file atomically."""
    text = json.dumps([e.to_dict() for e in entries], indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    atomic_write(Path(path), text.encode("utf-8"))

