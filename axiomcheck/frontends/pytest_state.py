"""The pytest plugin's session state: settings, the per-process cache of reports, and what ran.

Like the plugin, this imports only `axiomcheck.frontends.options` until an axiomcheck
item or the fixture runs, so a pytest session that does not use axiomcheck
stays cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from . import options as O


class State:
    """Settings, the per-process cache of reports, and what ran (for the summary and report files)."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.cli = {o.name: config.getoption(o.pytest_dest, None) for o in O.OPTIONS}
        self.ini: dict[str, Any] = {}
        self.ini_error: str | None = None
        for o in O.OPTIONS:
            raw = config.getini(o.ini)
            if raw in (None, "", []):
                continue
            try:
                self.ini[o.name] = O.parse_value(o.name, raw) if o.name != "report_dir" else raw
            except ValueError as exc:
                self.ini_error = str(exc)
        self.cache: dict[Any, tuple[Any, str | None]] = {}
        # Absolute now: a test (or an operator) that changes the working directory does not move the reports.
        self.report_path = str(Path(self.report_dir).absolute()) if self.report_dir else None
        self.written: dict[str, Path] = {}
        self.write_error: str | None = None
        self.runs: dict[tuple[str, str], dict[str, Any]] = {}  # (suite, item) -> ItemRun as a dict + order

    @property
    def overrides(self) -> dict[str, Any]:
        """Settings given on the command line."""
        return {k: v for k, v in self.cli.items() if v is not None and k != "report_dir"}

    @property
    def report_dir(self) -> str | None:
        return self.cli.get("report_dir") or self.ini.get("report_dir")

    def verified(self, item: Any, settings: dict[str, Any]) -> tuple[Any, str | None]:
        """(Report, None) or (None, internal error): verified once per operator × settings in this process."""
        import json

        from .. import suites as S
        from ..report.plaindata import plain

        frozen = json.dumps(plain(settings), sort_keys=True)  # settings may hold a table (a certify domain)
        try:
            key: Any = (item.operator, item.axioms, frozen)
            hash(key)
        except TypeError:
            key = (id(item.operator), item.axioms, frozen)
        if key not in self.cache:
            try:
                self.cache[key] = (S.verify_item(item, settings), None)
            except Exception as exc:  # noqa: BLE001 - recorded as an internal error of this item
                self.cache[key] = (None, S.internal_error(exc, item))
        return self.cache[key]

    def record(self, suite_name: str, path: str | None, description: str, order: tuple[Any, ...],
               ir: Any, outcome: Any) -> None:
        entry = self.runs.get((suite_name, ir.item))
        if entry is None:
            data = ir.to_dict()
            data["outcomes"] = []
            entry = {"suite": suite_name, "path": path, "description": description, "order": list(order),
                     "run": data}
            self.runs[(suite_name, ir.item)] = entry
        outs = entry["run"]["outcomes"]
        if all(o["axiom"] != outcome.axiom for o in outs):
            outs.append(outcome.to_dict())

    def merge(self, entries: list[dict[str, Any]]) -> None:
        """Entries from an xdist worker."""
        for e in entries:
            key = (e["suite"], e["run"]["item"])
            mine = self.runs.get(key)
            if mine is None:
                self.runs[key] = e
                continue
            have = {o["axiom"] for o in mine["run"]["outcomes"]}
            mine["run"]["outcomes"].extend(o for o in e["run"]["outcomes"] if o["axiom"] not in have)
            if mine["run"].get("report") is None and e["run"].get("report") is not None:
                mine["run"]["report"] = e["run"]["report"]

    def build_run(self) -> Any:
        from .. import suites as S
        from ..axioms import AXIOMS

        order = list(AXIOMS)
        entries = sorted(self.runs.values(), key=lambda e: (e["order"], e["run"]["item"]))
        suites: dict[str, S.SuiteRun] = {}
        elapsed = 0.0
        for e in entries:
            sr = suites.setdefault(e["suite"], S.SuiteRun(name=e["suite"], path=e["path"], items=[],
                                                          description=e.get("description", "")))
            ir = S.ItemRun.from_dict(e["suite"], e["run"])
            ir.outcomes.sort(key=lambda o: order.index(o.axiom) if o.axiom in order else len(order))
            if ir.report is not None:
                elapsed += ir.report.elapsed_s
            sr.items.append(ir)
        return S.Run(suites=list(suites.values()), overrides=self.overrides, elapsed_s=elapsed)
