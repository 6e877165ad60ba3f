"""Plain-data results: one operator's `Report`, and the `Run` of suites built from them.

A `Report` holds one `Result` per checked axiom; a `Run` holds, per suite and
item, the report and one `Outcome` per axiom (the verdict judged against the
suite's expectation).  Everything here is plain Python data that the output
modules read, and that shows itself in Jupyter and rich consoles (`Displayable`:
the renderers are imported when shown).  `verdict` is the one rule that judges
a status against an expectation.  `to_json` is strict JSON: non-finite floats
are written as strings ("nan", "inf", "-inf"), never as NaN/Infinity tokens.

>>> r = Result(axiom="token.positivity", paper_ref="III.2", status="pass", message="ok")
>>> Report(operator="u", scale="token", results=(r,)).passed
True
>>> verdict("fail", "fail"), verdict("fail", "pass", known=True), verdict("skipped", "pass")
('ok', 'known', 'ok')
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .._version import __version__
from .displayable import Displayable
from .estimates import (  # noqa: F401 - re-exported: the typed estimates are part of a result
    ESTIMATES,
    BoundsEstimate,
    ParetoEstimate,
    RegularityEstimate,
    RuntimeEstimate,
    typed_estimate,
)
from .plaindata import plain
from .repro import Reproduction, render

STATUSES = ("pass", "fail", "error", "skipped")
SCHEMA_VERSION = 1
RUN_SCHEMA = "axiomcheck.run"
RUN_SCHEMA_VERSION = 1

if TYPE_CHECKING:
    from .certificate import Certificate


def matched(status: str, expected: str) -> bool:
    """Whether `status` is what was expected (`skipped`, not applicable, matches "pass")."""
    if expected == "pass":
        return status in ("pass", "skipped")
    return status == expected


def verdict(status: str, expected: str, known: bool = False) -> str:
    """"ok" (as expected), "known" (unexpected but in the baseline) or "unexpected"."""
    if matched(status, expected):
        return "ok"
    return "known" if known else "unexpected"


def combined(verdicts: Iterable[str], error: bool = False) -> str:
    """The verdict on several checks: "unexpected" if any is (or axiomcheck failed), else "known", else "ok"."""
    vs = set(verdicts)
    if error or "unexpected" in vs:
        return "unexpected"
    return "known" if "known" in vs else "ok"


# ============================================================================= one operator


@dataclasses.dataclass(frozen=True)
class Result(Displayable):
    """The verdict on one axiom for one operator.

    Args:
        axiom: the catalogue id.
        paper_ref: where the paper states it.
        status: `pass`, `fail` (axiom violated), `error` (the operator
            misbehaved: raised, timed out, wrong shape) or `skipped` (not
            applicable; the message says why).
        message: "must be X, got Y, at <input>", with the share of inputs that violate it.
        counterexample: the smallest input found, as plain data.
        estimate: measured quantities (a `BoundsEstimate`, `RegularityEstimate`
            or `ParetoEstimate` for those checks, else a dict).
        reproduce: a command or Python call that replays the check (rendered from `reproduction`
            when there is one: `axiomcheck.report.repro.render`).
        seed: the seed of the run.
        samples: how many sampled inputs the check saw.
        arrays: the counterexample's full arrays when it was too large to show (name -> array;
            kept in memory and written as .npz beside the reports, never in JSON).
        certificate: what the certifier proved about this check on its stated domain (a
            `axiomcheck.certifier.Certificate`), when the run asked for certificates; a second
            verdict beside `status`, never a replacement.  In `to_dict()` only when present.
        reproduction: how to run the check again, as plain data (`axiomcheck.report.repro.Reproduction`);
            a front end renders it for its own context (`with_reproduction`).  Given without
            `reproduce`, the line is rendered from it.  Kept in memory, not in `to_dict()`: a
            report read back has the line only.
    """

    axiom: str
    paper_ref: str
    status: str
    message: str
    counterexample: dict[str, Any] | None = None
    estimate: Any = None
    reproduce: str | None = None
    seed: int | None = None
    samples: int = 0
    arrays: dict[str, Any] | None = dataclasses.field(default=None, repr=False, compare=False)
    certificate: Certificate | None = None
    reproduction: Reproduction | None = dataclasses.field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        if self.reproduction is not None and self.reproduce is None:
            object.__setattr__(self, "reproduce", render(self.reproduction))
        object.__setattr__(self, "counterexample", plain(self.counterexample))
        object.__setattr__(self, "estimate", typed_estimate(self.axiom, self.estimate))
        if isinstance(self.certificate, Mapping):  # read back from JSON
            from .certificate import Certificate as Cert  # only when there is one to read

            object.__setattr__(self, "certificate", Cert.from_dict(self.certificate))

    @property
    def ok(self) -> bool:
        """Not a violation nor an error (`pass` or `skipped`)."""
        return self.status in ("pass", "skipped")

    def with_reproduction(self, record: Reproduction) -> Result:
        """This result with `record` as how to run it again, and its `reproduce` line rendered from it."""
        return dataclasses.replace(self, reproduction=record, reproduce=render(record))

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: plain(getattr(self, f.name)) for f in dataclasses.fields(self)
             if f.name not in ("arrays", "certificate", "reproduction")}
        if self.certificate is not None:  # a run without certificates writes what it always wrote
            d["certificate"] = self.certificate.to_dict()
        return d


@dataclasses.dataclass(frozen=True)
class Report(Displayable):
    """Everything `verify()` found about one operator.

    Args:
        operator: the operator's name.
        scale: its scale.
        results: one `Result` per check, in catalogue order.
        seed: the seed of the run.
        world: the sizes sampled at (teachers, vocab, context_dim, tasks).
        spec: what the operator declares (bounds, Lipschitz constant, safety, ...).
        derived: what a composition provably keeps (its derived bounds).
        elapsed_s: wall time of the run.
        assumptions: when the run asked for certificates, which of the paper's assumptions on
            the weights (A1 bounds, A2 Lipschitz) are proved and which results that makes apply
            (`axiomcheck.report.assumptions`); empty otherwise, and then not in `to_dict()`.
    """

    operator: str
    scale: str
    results: tuple[Result, ...]
    seed: int = 0
    world: dict[str, Any] = dataclasses.field(default_factory=dict)
    spec: dict[str, Any] = dataclasses.field(default_factory=dict)
    derived: dict[str, Any] = dataclasses.field(default_factory=dict)
    elapsed_s: float = 0.0
    assumptions: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True when no result is `fail` or `error`."""
        return all(r.ok for r in self.results)

    def __getitem__(self, axiom: str) -> Result:
        for r in self.results:
            if r.axiom == axiom:
                return r
        raise KeyError(f"no result for axiom {axiom!r} in the report of {self.operator!r}")

    def failing(self) -> list[str]:
        """Ids of the results that are `fail` or `error`."""
        return [r.axiom for r in self.results if not r.ok]

    def statuses(self) -> dict[str, str]:
        return {r.axiom: r.status for r in self.results}

    def to_dict(self) -> dict[str, Any]:
        d = {"schema": SCHEMA_VERSION, "operator": self.operator, "scale": self.scale, "passed": self.passed,
             "seed": self.seed, "world": plain(self.world), "spec": plain(self.spec),
             "derived": plain(self.derived), "elapsed_s": round(float(self.elapsed_s), 4),
             "results": [r.to_dict() for r in self.results]}
        if self.assumptions:
            d["assumptions"] = plain(self.assumptions)
        return d

    def to_json(self, **kwargs: Any) -> str:
        kwargs.setdefault("indent", 2)
        return json.dumps(self.to_dict(), allow_nan=False, ensure_ascii=False, **kwargs)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        """Rebuild a report written by `to_dict` (non-finite floats stay strings)."""
        fields = {f.name for f in dataclasses.fields(Result)}
        results = tuple(Result(**{k: v for k, v in r.items() if k in fields}) for r in data["results"])
        return cls(operator=data["operator"], scale=data["scale"], results=results,
                   seed=data.get("seed", 0), world=data.get("world", {}), spec=data.get("spec", {}),
                   derived=data.get("derived", {}), elapsed_s=data.get("elapsed_s", 0.0),
                   assumptions=dict(data.get("assumptions") or {}))


# ============================================================================= a run of suites


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
        return matched(self.status, self.expected)

    @property
    def verdict(self) -> str:
        """"ok" (as expected), "known" (unexpected but baselined) or "unexpected"."""
        return verdict(self.status, self.expected, self.known)

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

    @property
    def verdict(self) -> str:
        """The item's verdict: `combined` over its outcomes (an internal error is unexpected)."""
        return combined((o.verdict for o in self.outcomes), bool(self.error))

    @property
    def scale(self) -> str:
        return self.report.scale if self.report else (self.outcomes[0].scale if self.outcomes else "")

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
class Run(Displayable):
    """Everything one `axiomcheck` invocation (or pytest session) checked; `run_id` names it in each file written."""

    suites: list[SuiteRun]
    started: float = dataclasses.field(default_factory=time.time)
    run_id: str = dataclasses.field(default_factory=lambda: secrets.token_hex(8))
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
        return 3 if any(i.error for i in self.items()) else 0 if self.ok else 1

    def to_dict(self) -> dict[str, Any]:
        return {"schema": RUN_SCHEMA, "schema_version": RUN_SCHEMA_VERSION, "axiomcheck_version": __version__,
                "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started)), "run_id": self.run_id,
                "elapsed_s": round(float(self.elapsed_s), 3), "ok": self.ok, "counts": self.counts(),
                "overrides": plain(self.overrides), "baseline": self.baseline,
                "stale_baseline_entries": plain(self.stale), "suites": [s.to_dict() for s in self.suites]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Run:
        if data.get("schema") != RUN_SCHEMA:
            raise ValueError(f"not an axiomcheck run document (schema must be {RUN_SCHEMA!r}, "
                             f"got {data.get('schema')!r})")
        if data.get("schema_version") != RUN_SCHEMA_VERSION:
            raise ValueError(f"schema_version must be {RUN_SCHEMA_VERSION}, got {data.get('schema_version')!r}")
        suites = [SuiteRun(name=s["name"], path=s.get("path"), description=s.get("description", ""),
                           items=[ItemRun.from_dict(s["name"], i) for i in s["items"]]) for s in data["suites"]]
        return cls(suites=suites, elapsed_s=float(data.get("elapsed_s", 0.0)),
                   overrides=dict(data.get("overrides") or {}), baseline=data.get("baseline"),
                   stale=list(data.get("stale_baseline_entries") or []))
