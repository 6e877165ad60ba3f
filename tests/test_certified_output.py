"""Certificates in every format: each writer shows a proved, refuted, unknown and infinite-Lipschitz
certificate distinctly from the sampled verdict, escapes hostile names, keeps the paper link; and a run
without certificates writes, byte for byte, what it wrote before certified checks existed."""

from __future__ import annotations

import dataclasses
import io
import json
import math
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from axiomcheck.output import files
from axiomcheck.output.html import to_html
from axiomcheck.output.text import Renderer, print_report
from axiomcheck.report.assumptions import summarize
from axiomcheck.report.certificate import Certificate
from axiomcheck.report.results import ItemRun, Outcome, Report, Result, Run
from tests import uncertified_runs as U
from tests.fake_certifier import DOMAIN, INFINITE_LIPSCHITZ, PROVED_BOUNDS, UNKNOWN

EVIL = "<script>alert('x')</script>|`"
HOSTILE = "cannot enclose <img src=x onerror=alert(1)> | `np.foo`\x1b[31m"  # a reason quoting user code
PROVED_L = Certificate("proved", DOMAIN, lipschitz_upper=0.66, metric="‖Δcontext‖∞", gap=0.048)
REFUTED_SAMPLED = Certificate("refuted", DOMAIN, counterexample={"input": {"context": [[0.0, 1.0, 2.0]]}},
                              reason="found by the sampled checks")


# ============================================================================= without certificates


@pytest.fixture(scope="module")
def uncertified() -> dict[str, str]:
    return U.renders(U.run(), U.report())  # the page's plots take a second: drawn once


@pytest.mark.parametrize("name", sorted(p.name for p in U.GOLDEN.iterdir()))
def test_a_run_without_certificates_writes_what_it_always_wrote(uncertified, name):
    """The golden files were written by the writers before certified checks existed."""
    assert sorted(uncertified) == sorted(p.name for p in U.GOLDEN.iterdir())
    assert uncertified[name] == (U.GOLDEN / name).read_text(encoding="utf-8")


# ============================================================================= with certificates


def certified_report() -> Report:
    """The golden report, certified: a refuted failure, a proof, a finite and an unknown Lipschitz bound."""
    base = U.report()
    certs = {"context.normalization": REFUTED_SAMPLED, "context.boundedness": PROVED_BOUNDS,
             "context.continuity": PROVED_L, "context.safety_prioritization": UNKNOWN}
    rep = dataclasses.replace(base, operator=EVIL, results=tuple(
        dataclasses.replace(r, certificate=certs.get(r.axiom)) for r in base.results))
    return dataclasses.replace(rep, assumptions=summarize(rep))


def certified_run() -> Run:
    """The golden run with the certified report, and a second certified item whose Lipschitz bound is ∞."""
    rep = certified_report()
    run = U.run(rep)
    run.suites[0].items[0].item = EVIL
    for o in run.suites[0].items[0].outcomes:
        o.item = EVIL
    entropy = Report("entropy<&>", "token", (
        Result("token.regularity", "III.4 / A2", "pass", "continuous", certificate=INFINITE_LIPSCHITZ,
               estimate={"metric": "max(‖Δprobs‖∞, ‖Δcontext‖∞)", "lipschitz_lower_bound": 4.2}),
        Result("token.bounded_influence", "III.3", "pass", "ok", certificate=PROVED_BOUNDS),
        Result("token.positivity", "III.2", "pass", "ok", certificate=Certificate("unknown", DOMAIN, reason=HOSTILE))))
    entropy = dataclasses.replace(entropy, assumptions=summarize(entropy))
    outs = [Outcome("s", "entropy<&>", "entropy<&>", "token", r.axiom, r.paper_ref, r.status, "pass", r.message)
            for r in entropy.results]
    run.suites[0].items.append(ItemRun("s", "entropy<&>", "ops.py:e", entropy, outs, {"seed": 0, "certify": True}))
    return run


def _text(show) -> str:
    buf = io.StringIO()
    show(buf)
    return buf.getvalue()


def _rows(text: str) -> dict[str, str]:
    """Each table row of plain text, by its first cell (the check id)."""
    return {line.split()[0]: line for line in text.splitlines() if line.startswith(("context.", "token."))}


def test_print_report_shows_each_certificate_beside_the_sampled_status():
    out = _text(lambda s: print_report(certified_report(), s, fancy=False))
    head = next(line for line in out.splitlines() if line.startswith("check"))
    assert head.split() == ["check", "paper", "status", "certified", "message"]
    rows = _rows(out)
    assert re.search(r"\bfail\s+refuted on context ∈ \[-10, 10\]\^3 · violated at context=\[\[0.0, 1.0, 2.0\]\]",
                     rows["context.normalization"])
    assert re.search(r"\bpass\s+proved on context ∈ \[-10, 10\]\^3 · w_k ∈ \[0.05, 0.9\] \(gap 4.0%\)",
                     rows["context.boundedness"])
    assert re.search(r"\bpass\s+proved · L ∈ \[0.63 sampled, 0.66 certified\] in ‖Δcontext‖∞ on context",
                     rows["context.continuity"])
    assert re.search(r"\bskipped\s+unknown on .*: the certifier cannot enclose np.unique",
                     rows["context.safety_prioritization"])
    assert "paper assumptions, certified:" in out
    assert "A1 (bounded weights): proved on context ∈ [-10, 10]^3: w_k ∈ [0.05, 0.9]" in out
    assert "A2 (Lipschitz continuity): proved on context ∈ [-10, 10]^3: L ≤ 0.66 in ‖Δcontext‖∞" in out
    # the report has a failing check: no result of the paper applies, each says what it waits for
    assert "Thm VII.1 (needs the failing checks to pass (context.normalization))" in out


def test_verify_and_run_text_show_certificates_and_infinite_lipschitz():
    run = certified_run()
    one = _text(lambda s: Renderer(s, fancy=False).report(run.items()[0]))
    assert "L ∈ [0.63 sampled, 0.66 certified]" in one and "paper assumptions, certified:" in one
    both = _text(lambda s: Renderer(s, fancy=False).run(run))
    assert "certified checks, suite s" in both
    inf = next(line for line in both.splitlines() if "token.regularity" in line)
    assert "unknown · L ∈ [4.2 sampled, ∞ certified]" in inf and "no finite bound at the simplex edge" in inf
    assert "s · entropy<&>: paper assumptions, certified:" in both
    assert "A2 (Lipschitz continuity): not proved: no finite Lipschitz constant" in both
    fancy = _text(lambda s: Renderer(s, fancy=True).run(run))  # rich: same words, no crash on odd names
    assert "certified checks" in fancy and "refuted" in fancy


def test_json_keeps_every_certificate_and_the_paper_link():
    run = certified_run()
    doc = json.loads(files.to_json(run), parse_constant=lambda t: pytest.fail(f"non-standard token {t}"))
    item = doc["suites"][0]["items"][2]
    assert item["report"]["results"][0]["certificate"]["lipschitz_upper"] == "inf"
    back = Run.from_dict(doc)
    for mine, theirs in zip(run.items(), back.items(), strict=True):
        if mine.report is None:
            continue
        assert [r.certificate for r in theirs.report.results] == [r.certificate for r in mine.report.results]
        assert theirs.report.assumptions == json.loads(json.dumps(mine.report.assumptions))
    assert "certificate" not in doc["suites"][0]["items"][0]["outcomes"][0]  # outcomes are as they were


def test_junit_carries_certificates_as_properties_beside_the_failure():
    root = ET.fromstring(files.to_junit(certified_run()))
    cases = {c.get("name"): c for c in root.iter("testcase")}

    def props(case):
        return {p.get("name"): p.get("value") for p in case.iter("property")}

    norm = cases["context.normalization"]
    assert norm.find("failure") is not None  # the sampled verdict decides the testcase
    assert props(norm)["certificate"] == "refuted"
    assert json.loads(props(norm)["certificate.counterexample"]) == REFUTED_SAMPLED.counterexample
    assert props(cases["context.boundedness"])["certificate.bound"] == "[0.05, 0.9]"
    assert props(cases["context.continuity"])["certificate.lipschitz_upper"] == "0.66"
    reg = props(cases["token.regularity"])
    assert (reg["certificate"], reg["certificate.lipschitz_upper"]) == ("unknown", "inf")
    assert props(cases["context.safety_prioritization"])["certificate.reason"] == UNKNOWN.reason
    assert "\\x1b[31m" in props(cases["token.positivity"])["certificate.reason"]  # spelled out, XML-safe
    suite = root.find("testsuite")
    assert suite[0].tag == "properties"  # before the testcases
    paper = {p.get("name"): p.get("value") for p in suite[0]}
    assert paper[f"paper.{EVIL}.A1"].startswith("proved on context")
    assert paper["paper.entropy<&>.A2"].startswith("not proved: no finite Lipschitz constant")


def test_markdown_lists_certificates_escaped_with_the_paper_link():
    md = files.to_markdown(certified_run())
    section = md[md.index("### Certified checks"):md.index("<details><summary>Failures that are expected")]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert len(rows) == 7
    assert any("| fail | refuted on context" in r for r in rows)
    assert any("| pass | unknown · L ∈ [4.2 sampled, ∞ certified]" in r for r in rows)
    outside_code = re.sub(r"``.*?``|`[^`]*`", "", section)
    assert "<script>" not in outside_code and "<&>" not in outside_code and "<img" not in outside_code
    assert "\x1b" not in section
    assert "- A1 (bounded weights): proved on context" in section
    assert "paper assumptions, certified" in section


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs, self.cells, self._in = [], set(), [], None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs |= {name for name, _ in attrs}
        cls = dict(attrs).get("class") or ""
        self._in = cls if "cert" in cls.split() else None

    def handle_data(self, data):
        if self._in:
            self.cells.append((self._in, data))
            self._in = None


def test_html_shows_certificates_in_their_own_column_escaped():
    page = to_html(certified_run())
    parser = _Collect()
    parser.feed(page)
    assert "script" not in parser.tags and "onerror" not in parser.attrs  # hostile names and reasons stay text
    assert "\x1b" not in page
    assert "<th>Certified</th>" in page and ".cert-proved{" in page
    kinds = {cls.split()[-1]: text for cls, text in parser.cells if cls != "cert"}
    assert set(kinds) == {"cert-proved", "cert-refuted", "cert-unknown"}
    assert "L ∈ [4.2 sampled, ∞ certified]" in page
    assert "Paper assumptions, certified" in page and "entropy&lt;&amp;&gt;" in page


def test_pytest_failure_text_names_the_certificate():
    from axiomcheck.pytest_plugin import _describe

    rep = certified_report()
    o = U.run(rep).items()[0].outcomes[0]
    text = _describe(o, None, rep["context.normalization"])
    assert "  certified: refuted on context ∈ [-10, 10]^3 · violated at context=[[0.0, 1.0, 2.0]]" in text
    assert "certified" not in _describe(o, None, U.report()["context.normalization"])


def test_describe_never_hides_a_non_finite_enclosure():
    from axiomcheck.output.certified import describe

    cert = Certificate("unknown", "", bound=[0.0, math.inf], reason="budget")
    assert describe(cert, Result("context.boundedness", "x", "pass", "ok")) == (
        "unknown on the certifier's default domain · w_k ∈ [0, ∞]: budget")
    norm = Certificate("proved", "", bound=[1 - 2e-15, 1 + 1e-15])
    assert describe(norm, Result("context.normalization", "x", "pass", "ok")).endswith("|Σ_k w_k − 1| ≤ 2e-15")


def test_describe_a_lipschitz_bound_by_the_ends_it_knows_and_a_jump_by_its_two_inputs():
    from axiomcheck.output.certified import describe

    sampled = Result("context.continuity", "x", "fail", "a jump", estimate={"lipschitz_lower_bound": 0.7})
    jump = Certificate("refuted", "D", reason="found by the sampled checks", counterexample={
        "input": {"context": [[1.0, 2.0, 3.0]]}, "other_input": {"context": [[1.0, 2.0, 3.5]]}})
    assert describe(jump, sampled) == ("refuted · L ≥ 0.7 sampled on D · violated between context=[[1.0, 2.0, 3.0]] "
                                       "and context=[[1.0, 2.0, 3.5]]: found by the sampled checks")
    unjudged = Result("context.continuity", "x", "error", "cannot be judged")
    assert describe(Certificate("unknown", "D", lipschitz_upper=0.8), unjudged) == "unknown · L ≤ 0.8 certified on D"


def test_the_notebook_and_rich_display_show_certificates_with_their_scoped_style():
    from axiomcheck.output import display

    rep = certified_report()
    fragment = display.html(rep)  # what Jupyter shows for a Report
    assert "<th>Certified</th>" in fragment and "div.axiomcheck-nb td.cert-proved{" in fragment
    assert "L ∈ [0.63 sampled, 0.66 certified]" in fragment and "Paper assumptions, certified" in fragment
    one = display.html(rep["context.normalization"])  # a Result on its own
    assert "<th>Certified</th>" in one and "refuted on context" in one
    plain = display.html(U.report()["context.normalization"])
    assert "Certified" not in plain and "cert-" not in plain
    from rich.console import Console

    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(rep)  # what a rich console shows for a Report
    shown = console.file.getvalue()
    assert "certified" in shown and "proved · L ∈ [0.63 sampled, 0.66 certified]" in shown
    assert "paper assumptions, certified:" in shown
