"""Certifiers that answer what a test needs, to test the plumbing of certified checks without the interval engine.

`install(monkeypatch, answer)` makes every certified run call `answer` in place
of the certifier (`axiomcheck.engine.certified.certifier`, the one place it is
imported); the returned `Calls` records the keywords of each call.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from axiomcheck.axioms import for_scale
from axiomcheck.engine import certified
from axiomcheck.report.certificate import Certificate

DOMAIN = "context ∈ [-10, 10]^3"


class Calls(list):
    """The keywords of each call of the fake certifier (with `op` and `world`)."""


def install(monkeypatch: pytest.MonkeyPatch, answer: Callable[..., Any]) -> Calls:
    calls = Calls()

    def certify_operator(op: Any, world: Any, **kw: Any) -> Any:
        calls.append({"op": op, "world": world, **kw})
        return answer(op, world, **kw)

    monkeypatch.setattr(certified, "certifier", lambda: certify_operator)
    return calls


def fixed(certs: dict[str, Certificate]) -> Callable[..., dict[str, Certificate]]:
    """A certifier answering `certs` (keyed by property, as `normalization` or `regularity`) for any operator."""

    def answer(op: Any, world: Any, **kw: Any) -> dict[str, Certificate]:
        return {a.id: certs[a.property] for a in for_scale(op.scale) if a.property in certs}

    return answer


#: One certificate of each kind a writer must show distinctly.
PROVED_BOUNDS = Certificate("proved", DOMAIN, domain_data={"context": [-10, 10]}, bound=[0.05, 0.9], gap=0.04)
PROVED_LIPSCHITZ = Certificate("proved", DOMAIN, lipschitz_upper=0.61, metric="‖Δcontext‖∞", gap=0.05)
INFINITE_LIPSCHITZ = Certificate("unknown", DOMAIN, lipschitz_upper=math.inf, metric="‖Δcontext‖∞",
                                 reason="∂w ∝ 1 + log p has no finite bound at the simplex edge")
UNKNOWN = Certificate("unknown", DOMAIN, reason="the certifier cannot enclose np.unique")
REFUTED = Certificate("refuted", DOMAIN, counterexample={"input": {"context": [[0.0, 0.0, 9.0]]}},
                      reason="found by the certifier's search")
