"""The certifier's entry point, `certify_operator` (internal: runs reach it through `verify(certify=True)`).

This build has no interval engine: every check of the operator's scale gets an
`unknown` certificate, "the certifier is not available", so a run that asks for
certificates says plainly that nothing was proved, and the sampled verdicts
stand as they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..axioms import for_scale
from .certificate import Certificate

UNAVAILABLE = "the certifier is not available"


def certify_operator(op: Any, world: Any, *, axioms: Sequence[str] | None = None,
                     domain: Mapping[str, Any] | None = None, gap: float = 0.1, max_time: float | None = None,
                     tolerance: float | None = None, sampled: Mapping[str, Any] | None = None
                     ) -> dict[str, Certificate]:
    """One `Certificate` per catalogue id of `op`'s scale it can speak about (here: `unknown` for each).

    Args:
        op: the `Operator`.
        world: the `World` it is checked in.
        axioms: the ids to certify (None: every id of the scale).
        domain: input boxes declared by the operator and the call (`axiomcheck.boxes`).
        gap: the relative gap between certified and sampled bounds at which refinement stops.
        max_time: a time budget in seconds (None: none).
        tolerance: the absolute tolerance of the sum and bound checks (None: dtype-aware).
        sampled: the sampled `Result` of each id, to prune against.
    """
    from ..boxes import describe

    text = describe(domain or {})
    return {a.id: Certificate(status="unknown", domain=text, reason=UNAVAILABLE)
            for a in for_scale(op.scale) if axioms is None or a.id in axioms}
