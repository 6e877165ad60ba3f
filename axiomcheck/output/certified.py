"""How every format shows a certificate: one line beside the sampled verdict, never in its place.

A certificate says what is proved on a stated domain; the sampled status says
what the sweep and the search saw.  Each writer (text, Markdown, JUnit, HTML)
shows them side by side with the words of `describe`, so the two read the
same everywhere:

    context.continuity   pass  proved · L ∈ [0.58 sampled, 0.61 certified] on context ∈ [-10, 10]
    context.boundedness  pass  proved on context ∈ [-10, 10] · w_k ∈ [0.05, 0.9]
    context.positivity   fail  refuted on context ∈ [-10, 10] · violated at context=[[0, 0, 9]]: found by ...
    context.finite       pass  unknown on context ∈ [-10, 10]: the certifier cannot enclose np.unique

A run without certificates has nothing here to show, and every writer then
writes exactly what it wrote before certified checks existed.

>>> from axiomcheck.report.certificate import Certificate
>>> describe(Certificate(status="proved", domain="context ∈ [-10, 10]", bound=[0.05, 0.9]))
'proved on context ∈ [-10, 10] · enclosure [0.05, 0.9]'
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..axioms import AXIOMS
from ..report.assumptions import lines as assumption_lines
from ..report.certificate import gap_text
from ..report.plaindata import plain
from .common import clip

__all__ = ["HTML_CSS", "Certified", "assumption_lines", "cell", "certificate_rows", "certificates", "describe",
           "has_certificates", "html_assumptions", "html_cell", "junit_assumptions", "junit_certificate",
           "markdown_section", "of_item", "of_results", "result_of", "sampled_lipschitz"]

#: What a certificate's enclosure bounds, by the property of its check.
_QUANTITY = {"bounds": "w_k", "positivity": "w_k", "finite": "w_k", "nonnegativity": "w_k",
             "safety": "w_safer − w_less_safe"}


def _num(x: Any) -> str:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return str(x)
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    return f"{x:.4g}"


def sampled_lipschitz(result: Any) -> float | None:
    """The Lipschitz lower bound the sampled regularity check measured, when it did."""
    est = getattr(result, "estimate", None) if result is not None else None
    value = getattr(est, "lipschitz_lower_bound", None) if est is not None else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _property(result: Any) -> str | None:
    axiom = getattr(result, "axiom", None)
    return AXIOMS[axiom].property if axiom in AXIOMS else None


def _where(cert: Any) -> str:
    return f"on {cert.domain}" if cert.domain else "on the certifier's default domain"


def _inputs(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in value.items())
    return json.dumps(value, ensure_ascii=False)


def _where_violated(cert: Any) -> str:
    """`at <input>`, or `between <input> and <other input>` for a pair (a regularity counterexample)."""
    ce = cert.counterexample or {}
    if isinstance(ce, dict) and "other_input" in ce:
        return f"between {clip(_inputs(ce.get('input')), 120)} and {clip(_inputs(ce['other_input']), 120)}"
    return "at " + clip(_inputs(ce.get("input", ce) if isinstance(ce, dict) else ce), 160)


def _enclosure(prop: str | None, bound: Any, importance: bool = False) -> str:
    """`w_k ∈ [lo, hi]`; for normalization the distance from 1, which the sum's own digits would hide."""
    lo, hi = bound
    numbers = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (lo, hi))
    if prop == "normalization" and numbers and math.isfinite(lo) and math.isfinite(hi):
        total = "Σ_t λ_t" if importance else "Σ_k w_k"
        return f"|{total} − 1| ≤ {max(abs(lo - 1), abs(hi - 1)):.2g}"
    what = "λ_t" if importance and prop in _QUANTITY else _QUANTITY.get(prop or "")
    return f"{what} ∈ [{_num(lo)}, {_num(hi)}]" if what else f"enclosure [{_num(lo)}, {_num(hi)}]"


def _lipschitz(low: float | None, cert: Any) -> str:
    """` · L ∈ [low sampled, up certified] in metric`, or the one end that is known ("" for neither)."""
    up = cert.lipschitz_upper
    metric = f" in {cert.metric}" if cert.metric else ""
    if up is None:
        return f" · L ≥ {_num(low)} sampled{metric}" if low is not None else ""
    if low is None:
        return f" · L ≤ {_num(up)} certified{metric}"
    return f" · L ∈ [{_num(low)} sampled, {_num(up)} certified]{metric}"


def describe(cert: Any, result: Any = None) -> str:
    """One line for `cert`, the certificate of `result` (whose estimate gives the sampled Lipschitz bound)."""
    prop = _property(result)
    gap = f" (gap {gap_text(cert.gap)})" if isinstance(cert.gap, (int, float)) and math.isfinite(cert.gap) else ""
    if prop == "regularity" or cert.lipschitz_upper is not None:
        text = f"{cert.status}{_lipschitz(sampled_lipschitz(result), cert)} {_where(cert)}{gap}"
    else:
        text = f"{cert.status} {_where(cert)}"
        if cert.bound is not None and len(cert.bound) == 2 and cert.status != "refuted":
            importance = str(getattr(result, "axiom", "")).startswith("importance.")
            text += " · " + _enclosure(prop, cert.bound, importance)
        text += gap
    if cert.status == "refuted":
        text += f" · violated {_where_violated(cert)}"
    if cert.reason and cert.status != "proved":
        text += f": {cert.reason}"
    elif cert.reason and cert.lipschitz_upper is not None and math.isinf(cert.lipschitz_upper):
        text += f": {cert.reason}"
    return text


def cell(cert: Any, result: Any) -> str:
    """A table cell for a check's certificate: `describe`, or a dash when the check has none."""
    return describe(cert, result) if cert is not None else "–"


def certificate_rows(items: Iterable[Any]) -> list[tuple[str, str, str, str]]:
    """(operator, check, sampled status, certificate) for each certificate of some `ItemRun`s."""
    out = []
    for i in items:
        for axiom, cert in certificates(i).items():
            res = result_of(i, axiom)
            out.append((i.item, axiom, res.status if res is not None else "", describe(cert, res)))
    return out


#: Check id -> (its certificate, its `Result`): what the HTML tables take to add a certified column.
Certified = Mapping[str, tuple[Any, Any]]


def of_item(item: Any) -> dict[str, tuple[Any, Any]]:
    """The certificates of an `ItemRun`'s checks, each with its `Result` (empty without certificates)."""
    return {axiom: (cert, result_of(item, axiom)) for axiom, cert in certificates(item).items()}


def of_results(results: Iterable[Any]) -> dict[str, tuple[Any, Any]]:
    """The certificates of some `Result`s, each with its result (empty without certificates)."""
    return {r.axiom: (r.certificate, r) for r in results if getattr(r, "certificate", None) is not None}


def certificates(item: Any) -> dict[str, Any]:
    """Axiom id -> certificate of an `ItemRun`'s report (empty without a report or certificates)."""
    rep = getattr(item, "report", None)
    if rep is None:
        return {}
    return {r.axiom: r.certificate for r in rep.results if r.certificate is not None}


def has_certificates(run: Any) -> bool:
    """Whether any item of a `Run` carries a certificate."""
    return any(certificates(i) for i in run.items())


def result_of(item: Any, axiom: str) -> Any:
    """The `Result` of `axiom` in an `ItemRun`'s report, or None."""
    rep = getattr(item, "report", None)
    return next((r for r in rep.results if r.axiom == axiom), None) if rep is not None else None


# ----------------------------------------------------------------------------- pieces of the file formats

Escape = Callable[[Any], str]


def junit_certificate(tc: ET.Element, cert: Any, result: Any, x: Escape) -> None:
    """A check's certificate as `certificate.*` properties of its testcase (`x` makes text XML-safe)."""
    props = tc.find("properties")
    if props is None:
        props = ET.Element("properties")
        tc.insert(0, props)
    values = {"certificate": cert.status, "certificate.summary": describe(cert, result),
              "certificate.domain": cert.domain}
    if cert.bound is not None:
        values["certificate.bound"] = json.dumps(plain(cert.bound))
    if cert.lipschitz_upper is not None:
        values["certificate.lipschitz_upper"] = str(plain(cert.lipschitz_upper))
    if cert.reason:
        values["certificate.reason"] = cert.reason
    if cert.counterexample:
        values["certificate.counterexample"] = clip(json.dumps(cert.counterexample, ensure_ascii=False), 4000)
    for name, value in values.items():
        ET.SubElement(props, "property", name=name, value=x(value))


def junit_assumptions(ts: ET.Element, items: Iterable[Any], x: Escape) -> None:
    """Each certified operator's paper link as `paper.<operator>.*` properties of its testsuite."""
    pairs = []
    for item in items:
        a = item.report.assumptions if item.report is not None else {}
        if a:
            pairs += [(f"paper.{item.item}.A1", a["A1"]["text"]), (f"paper.{item.item}.A2", a["A2"]["text"]),
                      (f"paper.{item.item}.applies", "; ".join(a["applies"]) or "none yet")]
    if pairs:
        props = ET.Element("properties")
        ts.insert(0, props)
        for name, value in pairs:
            ET.SubElement(props, "property", name=x(name), value=x(value))


def markdown_section(run: Any, md: Escape, code: Escape, limit: int = 400) -> list[str]:
    """The certificates of a run and each certified operator's paper link, as Markdown lines (`md` escapes
    text for a table cell, `code` makes a code span); nothing for a run without certificates."""
    rows = certificate_rows(run.items())
    if not rows:
        return []
    out = ["### Certified checks", "", "Each certificate holds on the domain it states; the sampled status beside it "
           "is what the sweep and the search saw.", "", "| operator | check | sampled | certified |", "|---|---|---|---|"]
    for item, axiom, status, text in rows[:limit]:
        out.append(f"| {code(item)} | {code(axiom)} | {status} | {md(clip(text, 400))} |")
    if len(rows) > limit:
        out += ["", f"*… {len(rows) - limit} more certificates left out; see the JSON or HTML report.*"]
    out.append("")
    for i in run.items():
        lines = assumption_lines(i.report.assumptions) if i.report is not None else []
        if lines:
            out += [f"**{code(i.item)}**: paper assumptions, certified", ""]
            out += [f"- {md(text)}" for text in lines] + [""]
    return out


#: The page's style for certificates, added only when the run carries some (else the page is what it was).
HTML_CSS = """
td.cert{overflow-wrap:anywhere} td.cert-proved{background:#dafbe1} td.cert-refuted{background:#ffebe9}
td.cert-unknown{background:#eaeef2} .paper{border-left:3px solid #54aeff;padding:2px 10px;margin:8px 0}
"""


def html_cell(cert: Any, result: Any, e: Escape) -> str:
    """A check's certificate as a table cell beside its sampled status (`e` escapes for HTML; a dash when the
    certifier says nothing about the check)."""
    status = f" cert-{e(cert.status)}" if cert is not None else ""
    return f"<td class='cert{status}'>{e(cell(cert, result))}</td>"


def html_assumptions(summary: dict[str, Any], e: Escape) -> str:
    """An operator's paper link as an HTML block (`e` escapes for HTML)."""
    return ("<div class='paper'><p><b>Paper assumptions, certified</b></p><ul>"
            + "".join(f"<li>{e(text)}</li>" for text in assumption_lines(summary)) + "</ul></div>")
