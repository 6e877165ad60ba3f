"""Typed estimates: what a check measured, as frozen records that read like the dicts they stand for.

Each property that measures something has its record (`BoundsEstimate`,
`RegularityEstimate`, `ParetoEstimate`; `RuntimeEstimate` for what the weight
guard saw in training); `typed_estimate` turns a result's plain-data estimate
into its record, so a report read back from JSON has the same types.

>>> typed_estimate("context.boundedness", {"observed_min": [0.1], "observed_max": [0.4]}).observed_max
[0.4]
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..axioms import AXIOMS
from .plaindata import Estimate, plain


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class BoundsEstimate(Estimate):
    """The smallest and largest weight seen per teacher."""

    observed_min: list[float] | None = None
    observed_max: list[float] | None = None


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class RegularityEstimate(Estimate):
    """What the regularity check measured on shrinking segments of input pairs."""

    metric: str | None = None
    lipschitz_lower_bound: float | None = None
    radii: list[float] | None = None
    max_ratio_by_radius: list[float] | None = None
    pairs: int | None = None
    discontinuous_pairs: int | None = None
    non_lipschitz_pairs: int | None = None
    declared: float | None = None
    radius_floor: float | None = None


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class ParetoEstimate(Estimate):
    """How many scalarized problems and importance samples the Pareto check looked at."""

    problems_checked: int | None = None
    importance_samples: int | None = None


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class RuntimeEstimate(BoundsEstimate):
    """What the weight guard saw in training: the observed range per teacher, and for one property
    the counts, the worst value and where it was first violated (−1: never)."""

    steps: int | None = None
    runs: int | None = None
    checked: int | None = None
    violations: int | None = None
    nonfinite: int | None = None
    worst: float | None = None
    tolerance: float | None = None
    declared: Any = None
    first_step: int | None = None
    first_position: int | None = None
    first_token: int | None = None
    first_teacher: int | None = None
    first_pair: list[int] | None = None
    first_value: float | None = None


#: The typed estimate of each property, and of every result observed in training ("runtime").
ESTIMATES: dict[str, type[Estimate]] = {"bounds": BoundsEstimate, "regularity": RegularityEstimate,
                                        "pareto": ParetoEstimate, "runtime": RuntimeEstimate}


def typed_estimate(axiom: str, value: Any) -> Any:
    """The typed estimate of `axiom`'s property (of its kind, for `runtime.*`) for a dict of
    (some of) its fields, else the plain data."""
    data = plain(value)
    a = AXIOMS.get(axiom)
    cls = ESTIMATES.get("runtime" if a.kind == "runtime" else a.property) if a is not None else None
    if cls is None or not isinstance(data, dict) or not data:
        return data
    if not set(data) <= {f.name for f in dataclasses.fields(cls)}:  # type: ignore[arg-type]
        return data
    return cls.from_dict(data)
