"""Plain-data results of a verification run and their serializers.

A `Report` holds one `Result` per checked axiom.  Both are frozen dataclasses of
plain Python data (str, float, int, list, dict): rendering lives elsewhere
(`axiomcheck.render`).  `to_json` is strict JSON: non-finite floats are written
as strings ("nan", "inf", "-inf"), never as NaN/Infinity tokens.

>>> r = Result(axiom="token.positivity", paper_ref="III.2", status="pass", message="ok")
>>> Report(operator="u", scale="token", results=(r,)).passed
True
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

STATUSES = ("pass", "fail", "error", "skipped")
SCHEMA_VERSION = 1


def plain(value: Any) -> Any:
    """Convert numpy scalars/arrays, tuples and non-finite floats into JSON-safe plain data."""
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is a hard dependency
        np = None
    if np is not None:
        if isinstance(value, np.ndarray):
            return plain(value.tolist())
        if isinstance(value, np.generic):
            return plain(value.item())
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return repr(value)


@dataclasses.dataclass(frozen=True)
class Result:
    """The verdict on one axiom for one operator.

    status: `pass`, `fail` (axiom violated), `error` (the operator misbehaved:
    raised, timed out, wrong shape) or `skipped` (not applicable; the message
    says why).  `counterexample` is the smallest input found, as plain data;
    `estimate` holds measured quantities (observed weight range, Lipschitz
    lower bound and the radii it was seen at, ...); `reproduce` replays it.
    """

    axiom: str
    paper_ref: str
    status: str
    message: str
    counterexample: dict[str, Any] | None = None
    estimate: dict[str, Any] | None = None
    reproduce: str | None = None
    seed: int | None = None
    samples: int = 0

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        object.__setattr__(self, "counterexample", plain(self.counterexample))
        object.__setattr__(self, "estimate", plain(self.estimate))

    @property
    def ok(self) -> bool:
        """Not a violation nor an error (`pass` or `skipped`)."""
        return self.status in ("pass", "skipped")

    def to_dict(self) -> dict[str, Any]:
        return plain(dataclasses.asdict(self))


@dataclasses.dataclass(frozen=True)
class Report:
    """Everything `verify()` found about one operator."""

    operator: str
    scale: str
    results: tuple[Result, ...]
    seed: int = 0
    world: dict[str, Any] = dataclasses.field(default_factory=dict)
    spec: dict[str, Any] = dataclasses.field(default_factory=dict)
    derived: dict[str, Any] = dataclasses.field(default_factory=dict)
    elapsed_s: float = 0.0

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
        return {
            "schema": SCHEMA_VERSION,
            "operator": self.operator,
            "scale": self.scale,
            "passed": self.passed,
            "seed": self.seed,
            "world": plain(self.world),
            "spec": plain(self.spec),
            "derived": plain(self.derived),
            "elapsed_s": round(float(self.elapsed_s), 4),
            "results": [r.to_dict() for r in self.results],
        }

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
                   derived=data.get("derived", {}), elapsed_s=data.get("elapsed_s", 0.0))
