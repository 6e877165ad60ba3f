"""Certified verdicts: sound proofs over a stated input domain, beside the sampled ones.

`certify_operator(op, world, ...)` returns one `Certificate` per check it
covers (finite, normalization, positivity, bounds, the safety order, the
Lipschitz bound); `Certificate` is the plain-data record; `region(...)` is a
safety set of contexts the certifier can read.  The interval core and its
front ends live in the private modules of this package; they load only when
`certify_operator` is first used.  The public call is `axiomcheck.certify(op, ...)`,
which runs `verify(op, certify=True, ...)`.
"""

from typing import Any

from ..report.certificate import CERTIFICATE_STATUSES, Certificate
from .region import Region, region

__all__ = [
    "CERTIFICATE_STATUSES",
    "DEFAULT_TIME",
    "Certificate",
    "Region",
    "certify_operator",
    "region",
]

_LAZY = ("DEFAULT_TIME", "certify_operator")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import certifier

        return getattr(certifier, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

