"""Every result built outside the engine's sampled checks — the ensemble checks, the weight guard, the
training-time checks — is pinned byte for byte: status, message, paper reference, counterexample,
estimate, reproduce line, seed and samples.

The pins in `tests/data/pinned_results.json` were written by `python -m tests.result_scenarios` before
these paths were routed through the one builder of results (`axiomcheck.report.decision`); a difference here is
a changed report.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.result_scenarios import SCENARIOS

PINS = json.loads((Path(__file__).parent / "data" / "pinned_results.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("group", sorted(SCENARIOS))
def test_results_are_as_pinned(group):
    got = json.loads(json.dumps(SCENARIOS[group](), ensure_ascii=False))
    assert sorted(got) == sorted(PINS[group])
    for scenario, pinned in PINS[group].items():
        assert got[scenario] == pinned, scenario
