"""Report files: strict versioned JSON, JUnit XML mapping, Markdown, HTML escaping and plots, atomic writes."""

from __future__ import annotations

import json
import math
import os
import re
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from axiomcheck.output import files as W
from axiomcheck.output.html import to_html
from axiomcheck.report.results import ItemRun, Outcome, Report, Result, Run, SuiteRun

EVIL = "<script>alert('x')</script>|`"


def outcome(axiom, status, expected="pass", message="m", item="op", suite="s", **kw):
    return Outcome(suite=suite, item=item, operator=item, scale=axiom.split(".")[0], axiom=axiom,
                   paper_ref="III.1", status=status, expected=expected, message=message, **kw)


def make_run() -> Run:
    results = (
        Result("context.normalization", "III.18", "fail", f"sum must be 1, got 1.2 {EVIL}",
               counterexample={"input": {"context": [[0.0, 1.0, math.nan]]}, "weights": [0.3, 0.3, 0.3, 0.3]}),
        Result("context.boundedness", "III.20", "pass", "ok",
               estimate={"observed_min": [0.1, 0.2, 0.05, 0.3], "observed_max": [0.4, 0.5, 0.45, 0.35]}),
        Result("context.continuity", "III.21", "pass", "ok",
               estimate={"radii": [1.0, 0.5, 0.25, 0.125], "max_ratio_by_radius": [0.5, 0.6, 0.62, 0.63],
                         "metric": "‖Δcontext‖∞", "declared": 1.0}),
        Result("context.safety_prioritization", "III.22", "skipped", "no safety ordering declared"),
        Result("context.finite", "well-posedness", "error", "must return weights, but raised RuntimeError"),
    )
    rep = Report(operator=EVIL, scale="context", results=results, spec={"bounds": [0.05, 0.9]}, elapsed_s=0.5)
    outs = [
        outcome("context.normalization", "fail", item=EVIL, message=results[0].message,
                reproduce="axiomcheck verify x --axioms context.normalization",
                counterexample=results[0].counterexample),
        outcome("context.boundedness", "pass", item=EVIL),
        outcome("context.continuity", "pass", expected="fail", item=EVIL, reproduce="axiomcheck run s.toml"),
        outcome("context.safety_prioritization", "skipped", item=EVIL, message="no safety ordering declared"),
        outcome("context.finite", "error", item=EVIL, message="raised RuntimeError", reproduce="axiomcheck verify x"),
    ]
    expected_fail = [outcome("context.positivity", "fail", expected="fail", item="b", reproduce="r")]
    known = [outcome("context.positivity", "fail", item="c", known=True, reproduce="r")]
    items = [ItemRun("s", EVIL, "ops.py:x", rep, outs, {"seed": 0}),
             ItemRun("s", "b", "b", None, expected_fail, {}),
             ItemRun("s", "c", "c", None, known, {})]
    return Run(suites=[SuiteRun(name="s", path="suites/s.toml", items=items, description=EVIL)], elapsed_s=1.0,
               baseline="base.json")


# ----------------------------------------------------------------------------- JSON


def _check(schema, value, where="$"):
    """Enough of JSON Schema for RUN_JSON_SCHEMA: type, const, enum, required, properties, items."""
    if "const" in schema:
        assert value == schema["const"], where
    if "enum" in schema:
        assert value in schema["enum"], where
    if "type" in schema:
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        py = {"object": dict, "array": list, "string": str, "number": (int, float), "boolean": bool,
              "null": type(None), "integer": int}
        assert any(isinstance(value, py[k]) for k in kinds), f"{where}: {value!r} is not {kinds}"
    for key in schema.get("required", []):
        assert key in value, f"{where}: missing {key}"
    for key, sub in schema.get("properties", {}).items():
        if isinstance(value, dict) and key in value:
            _check(sub, value[key], f"{where}.{key}")
    if "items" in schema and isinstance(value, list):
        for n, v in enumerate(value):
            _check(schema["items"], v, f"{where}[{n}]")


def test_json_is_strict_versioned_and_matches_its_schema():
    text = W.to_json(make_run())

    def refuse(token):
        raise AssertionError(f"non-standard JSON token {token}")

    doc = json.loads(text, parse_constant=refuse)
    assert doc["schema"] == "axiomcheck.run" and doc["schema_version"] == 1
    _check(W.RUN_JSON_SCHEMA, doc)
    ce = doc["suites"][0]["items"][0]["outcomes"][0]["counterexample"]
    assert ce["input"]["context"][0][2] == "nan"
    back = Run.from_dict(doc)
    assert [o.verdict for o in back.outcomes()] == [o.verdict for o in make_run().outcomes()]


def test_from_dict_refuses_other_schemas():
    with pytest.raises(ValueError, match="schema"):
        Run.from_dict({"schema": "something else"})


# ----------------------------------------------------------------------------- JUnit


def test_junit_maps_verdicts_to_failure_error_skipped():
    root = ET.fromstring(W.to_junit(make_run()))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("7", "2", "1", "2")
    cases = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
    norm = cases[(f"s.{EVIL}", "context.normalization")]
    fail = norm.find("failure")
    assert fail.get("type") == "AxiomViolation" and "reproduce: axiomcheck verify x" in fail.text
    assert cases[(f"s.{EVIL}", "context.finite")].find("error").get("type") == "OperatorError"
    assert cases[(f"s.{EVIL}", "context.continuity")].find("failure").get("type") == "UnexpectedVerdict"
    assert cases[(f"s.{EVIL}", "context.safety_prioritization")].find("skipped") is not None
    assert "known violation" in cases[("s.c", "context.positivity")].find("skipped").get("message")
    passed = cases[("s.b", "context.positivity")]
    assert passed.find("failure") is None and "as expected" in passed.find("system-out").text


# ----------------------------------------------------------------------------- Markdown


def test_markdown_summary_escapes_and_reproduces():
    md = W.to_markdown(make_run())
    assert md.startswith("## axiomcheck: ❌ 3 unexpected verdicts")
    outside_code = re.sub(r"``.*?``|`[^`]*`", "", md)
    assert "<script>" not in outside_code  # code spans show their content literally
    assert "axiomcheck verify x --axioms context.normalization" in md
    assert "### Known violations (baseline)" in md
    for line in md.splitlines():
        if line.startswith("| ") and EVIL[:5] in line:
            assert "\\|" in line  # a pipe in a name does not break the table


def test_markdown_respects_its_budget():
    run = make_run()
    big = [outcome("context.normalization", "fail", item=f"op{n}", message="x" * 500, reproduce="r" * 200)
           for n in range(400)]
    run.suites[0].items.append(ItemRun("s", "many", "many", None, big, {}))
    md = W.to_markdown(run, budget=50_000)
    assert len(md) <= 50_000
    assert "left out" in md or "truncated" in md


# ----------------------------------------------------------------------------- HTML


class _Strict(HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts = 0
        self.imgs = 0

    def handle_starttag(self, tag, attrs):
        self.scripts += tag == "script"
        self.imgs += tag == "img"


def test_html_escapes_every_user_string_and_embeds_plots():
    pytest.importorskip("matplotlib")
    page = to_html(make_run())
    parser = _Strict()
    parser.feed(page)
    assert parser.scripts == 0 and "<script>alert" not in page
    assert "&lt;script&gt;" in page
    assert parser.imgs == 2  # weight ranges against bounds, Lipschitz ratio against radius
    assert "data:image/png;base64," in page
    assert "axiomcheck verify x --axioms context.normalization" in page
    assert "http://" not in page and "https://" not in page  # self-contained


def test_html_overview_has_a_column_for_every_check_of_a_run():
    """`importance.nonnegativity` once had no column, so its verdict never showed in the overview."""
    from axiomcheck.axioms import AXIOMS, for_scale

    def overview_row(scale):
        outs = [outcome(a.id, "fail", item=f"op_{scale}") for a in for_scale(scale)]
        run = Run(suites=[SuiteRun(name="s", path=None, items=[ItemRun("s", f"op_{scale}", "x", None, outs, {})])])
        page = to_html(run)
        matrix = page[page.index("<table class='matrix'>"):]
        heads = re.findall(r"<th class='p' title='([^']*)'>", matrix)
        row = matrix[matrix.index(f"op_{scale}"):].split("</tr>")[0]
        return heads, re.findall(r"<td class='st-fail' title='([^:]*):", row)

    for scale in ("token", "task", "context", "unified", "importance", "runtime"):
        heads, shown = overview_row(scale)
        assert sorted(shown) == sorted(a.id for a in for_scale(scale)), scale
        assert {AXIOMS[i].property.replace("_", " ") for i in shown} <= set(heads)


def test_html_without_matplotlib_says_so(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    page = to_html(make_run())
    assert "Plots are not included" in page and "axiomcheck[plots]" in page
    assert "<img" not in page


# ----------------------------------------------------------------------------- files


def test_write_all_is_atomic(tmp_path, monkeypatch):
    run = make_run()
    paths = W.write_all(run, tmp_path / "out", ["json", "markdown"])
    assert sorted(p.name for p in paths.values()) == ["report.json", "summary.md"]
    before = paths["json"].read_text()

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    run.suites[0].name = "changed"
    with pytest.raises(KeyboardInterrupt):
        W.write_all(run, tmp_path / "out", ["json"])
    assert paths["json"].read_text() == before  # the old file is whole
    assert sorted(os.listdir(tmp_path / "out")) == ["report.json", "summary.md"]  # no temporary left
