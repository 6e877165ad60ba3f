"""The certificate: a second, proved verdict beside a sampled one.

A sampled pass says no violation was found; a `Certificate` says what holds on
the *whole* stated domain.  `status` is `proved` (holds everywhere on
`domain`), `refuted` (a concrete input, kept in `counterexample`, violates the
property when evaluated) or `unknown` (the best enclosure reached is kept, and
`reason` says why it is not a proof).  It is plain data, written to JSON with
the result it belongs to.

>>> c = Certificate(status="proved", domain="context in [-10, 10]^3", bound=[0.05, 0.9])
>>> c.to_dict()["status"], Certificate.from_dict(c.to_dict()) == c
('proved', True)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from .plaindata import plain

CERTIFICATE_STATUSES = ("proved", "refuted", "unknown")
#: The largest gap written as a percentage (1000%); a larger one is written as the ratio of the bounds.
GAP_PERCENT_MAX = 10.0


def gap_text(gap: float) -> str:
    """A relative gap (certified / sampled − 1) as text: `4.8%` up to 1000%, then the ratio `×7.3e+300`.

    A percentage of a gap of 2e301 would run to 300 digits; past 1000% the
    ratio of the certified to the sampled bound, 1 + gap, says the same shortly.

    >>> gap_text(0.048), gap_text(41.0), gap_text(7.3e300)
    ('4.8%', '×42', '×7.3e+300')
    """
    return f"{gap:.1%}" if gap <= GAP_PERCENT_MAX else f"×{1.0 + gap:.2g}"


def _number(value: Any) -> Any:
    """Read back a float written by `plain` ("inf", "nan" strings)."""
    if isinstance(value, str) and value in ("inf", "-inf", "nan"):
        return float(value)
    return value


@dataclasses.dataclass(frozen=True)
class Certificate:
    """What is proved about one checked property of one operator.

    Args:
        status: `proved`, `refuted` or `unknown`.
        domain: the input domain it holds on, as text ("context in [-10, 10]^3, ...").
        domain_data: the same domain as data (input name -> description).
        bound: the certified enclosure [lo, hi] of the checked quantity (the weights,
            Σ_k w_k, or w_k − w_j on the safety set), when one was computed.
        lipschitz_upper: for regularity and continuity, a certified upper bound on the
            Lipschitz constant in the scale's metric (`inf` when none is finite).
        metric: the metric `lipschitz_upper` is measured in.
        reason: why the status is `unknown` (or why the Lipschitz bound is infinite).
        gap: the relative gap between the certified and the sampled bound, when reached.
        counterexample: for `refuted`, the concrete input that violates the property.
        elapsed_s: how long the certifier spent.
    """

    status: str
    domain: str = ""
    domain_data: dict[str, Any] = dataclasses.field(default_factory=dict)
    bound: list[float] | None = None
    lipschitz_upper: float | None = None
    metric: str | None = None
    reason: str | None = None
    gap: float | None = None
    counterexample: dict[str, Any] | None = None
    elapsed_s: float = 0.0

    def __post_init__(self) -> None:
        if self.status not in CERTIFICATE_STATUSES:
            raise ValueError(f"certificate status must be one of {CERTIFICATE_STATUSES}, got {self.status!r}")
        if self.status == "refuted" and not self.counterexample:
            raise ValueError("a refuted certificate must carry the input that violates the property")

    @property
    def proved(self) -> bool:
        return self.status == "proved"

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: plain(getattr(self, f.name)) for f in dataclasses.fields(self)}
        d["elapsed_s"] = round(float(self.elapsed_s), 4)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Certificate:
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in data.items() if k in names}
        if kw.get("bound") is not None:
            kw["bound"] = [_number(x) for x in kw["bound"]]
        for k in ("lipschitz_upper", "gap"):
            if k in kw:
                kw[k] = _number(kw[k])
        return cls(**kw)
