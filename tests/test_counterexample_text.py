"""The text output shows a failing check's counterexample, compactly, in both renderings.

A message says "at <input>" or "between the two inputs in the counterexample";
`axiomcheck verify` and `ac.print_report` print those inputs (and the weights)
under it, summarized at a large vocabulary, within the output's width.
"""

from __future__ import annotations

import io
import re

import numpy as np
import pytest

import axiomcheck as ac
from axiomcheck.frontends import cli
from axiomcheck.output.counterexample import lines
from axiomcheck.report import summary
from tests.helpers import context, softmax

FAST = dict(max_examples=10, sweep_size=32)


def zero_beyond_two(c):
    """Teacher 0 gets weight 0 where c₀ > 2 (a positivity violation at a readable input)."""
    w = softmax(np.tanh(c[:, :1]) * np.arange(4.0))
    w[c[:, 0] > 2, 0] = 0.0
    return w / w.sum(axis=1, keepdims=True)


def step(c):
    return softmax(np.where(c[:, :1] > 0, 1.0, 0.0) * np.arange(4.0))


def block(text: str, head: str) -> list[str]:
    """The lines of the counterexample printed after the line that contains `head`."""
    rows = text.splitlines()
    start = next(i for i, r in enumerate(rows) if head in r)
    out = []
    for r in rows[start + 1:]:
        if r.strip().startswith(("reproduce", "axiomcheck:")) or not r.startswith(" "):
            break
        out.append(r)
    return out


def test_print_report_shows_the_input_of_a_failing_check():
    report = ac.verify(context(zero_beyond_two, name="zero_beyond_two"), axioms=["context.positivity"], **FAST)
    out = io.StringIO()
    ac.print_report(report, out, fancy=False)
    text = out.getvalue()
    shown = block(text, "counterexample")
    ce = report["context.positivity"].counterexample
    first = np.asarray(ce["input"]["context"]).ravel()
    assert any(line.strip().startswith("context = [") for line in shown), text
    assert f"{first[0]:.4g}" in "\n".join(shown)
    assert any(line.strip().startswith("weights = [") for line in shown)
    assert all(len(line) <= 100 for line in shown)


def test_a_jump_shows_both_inputs_of_its_segment():
    report = ac.verify(context(step, name="step"), axioms=["context.continuity"], **FAST)
    out = io.StringIO()
    ac.print_report(report, out, fancy=False)
    text = out.getvalue()
    assert "between the two inputs in the counterexample" in report["context.continuity"].message
    assert "    input:\n      context = [" in text and "    other input:\n      context = [" in text
    assert "other weights = [" in text and "radius = " in text


def test_the_verify_command_shows_the_counterexample_under_the_failure(tmp_path, monkeypatch, capsys):
    (tmp_path / "stepper.py").write_text(
        "import numpy as np\nimport axiomcheck as ac\n\n"
        "@ac.context_operator(name='stepper_ce', register=False)\n"
        "def stepper(context):\n"
        "    z = np.where(context[:, :1] > 0, 1.0, 0.0) * np.arange(4.0)\n"
        "    e = np.exp(z)\n    return e / e.sum(axis=1, keepdims=True)\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    code = cli.main(["verify", "stepper:stepper", "--max-examples", "5", "--color", "never",
                     "--axioms", "context.continuity"])
    out = capsys.readouterr().out
    assert code == 1
    shown = block(out, "FAIL  stepper:stepper · context.continuity")
    assert shown[1].strip() == "counterexample (regularity bisection):"
    assert any(line.strip() == "other input:" for line in shown)
    assert all(len(line) <= 100 for line in shown[1:])  # shown[0] is the message


def test_the_rich_rendering_keeps_the_counterexample_within_the_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "72")
    report = ac.verify(context(zero_beyond_two, name="zero_beyond_two"), axioms=["context.positivity"], **FAST)
    out = io.StringIO()
    ac.print_report(report, out, fancy=True)
    text = re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue())
    shown = block(text, "counterexample")
    assert any(line.strip().startswith("context = [") for line in shown), text
    assert all(len(line) <= 72 for line in shown)


def test_a_large_counterexample_is_summarized():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(5000), size=(1, 4))
    probs[0, 1] = probs[0, 0]  # tied teachers are shown once
    shown, _ = summary.sample(("probs", "context"), (probs, rng.standard_normal((1, 3))), (17,))
    text = lines({"input": shown, "weights": [0.25] * 4, "where": "sweep family 'zipf'"}, width=80)
    assert text[0] == "counterexample (sweep family 'zipf'):"
    joined = "\n".join(text)
    assert "teachers 0, 1 (identical): top " in joined and "support 5000 of 5000" in joined
    assert "S: 17=" in joined
    assert all(len(line) <= 80 for line in text)
    assert len(text) < 15


@pytest.mark.parametrize("value, expected", [
    ([0.5, "nan", "inf"], "x = [0.5, nan, inf]"),
    (3, "x = 3"),
    ({"shape": [4], "dtype": "float64", "min": 0.1, "max": 0.4, "nonfinite": 0}, "x = shape [4], range [0.1, 0.4]"),
])
def test_values_of_every_kind_are_shown(value, expected):
    assert f"  {expected}" in lines({"input": {"x": value}})
