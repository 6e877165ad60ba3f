from __future__ import annotations

import json
import math

import numpy as np
import pytest

from axiomcheck.report.results import Report, Result, plain


def test_plain_makes_strict_json_data():
    data = plain({"a": np.float32(1.5), "b": np.array([1.0, np.nan, np.inf, -np.inf]), "c": (1, 2)})
    assert data == {"a": 1.5, "b": [1.0, "nan", "inf", "-inf"], "c": [1, 2]}
    json.dumps(data, allow_nan=False)


def test_report_roundtrip_and_verdict():
    r1 = Result("token.positivity", "III.2", "pass", "ok", estimate={"x": math.nan})
    r2 = Result("token.normalization", "III.1", "fail", "must be 1, got 0.9", counterexample={"w": [0.9]})
    rep = Report("op", "token", (r1, r2), seed=1)
    assert not rep.passed and rep.failing() == ["token.normalization"]
    back = Report.from_dict(json.loads(rep.to_json()))
    assert back.statuses() == rep.statuses() and back["token.positivity"].estimate == {"x": "nan"}
    with pytest.raises(KeyError):
        rep["token.nope"]


def test_status_is_validated():
    with pytest.raises(ValueError, match="status"):
        Result("token.positivity", "III.2", "maybe", "")
