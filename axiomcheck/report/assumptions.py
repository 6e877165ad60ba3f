"""The paper link: which of the paper's assumptions on the weights are proved, and which results then apply.

The paper's guarantees rest on two assumptions about the weight operator
(Sec. II-B): (A1) bounded weights, 0 < w_min ≤ w_k ≤ w_max, and (A2) a finite
Lipschitz constant L.  A sampled pass never establishes either; a certificate
does, on its stated domain.  `summarize(report)` reads the certificates of a
report and says, as plain data, whether A1 and A2 are proved there and which of
the paper's results have every assumption on the weights they need proved.

The other premises of those results are not the operator's to prove: A3
(realizability) and A4 (smoothness) are about the student, and the axioms a
result also assumes are checked by sampling (`NOTE`).  Task importance λ is not
a teacher weight (λ_t = 0 is allowed), so its reports get no summary.

>>> [r.ref for r in RESULTS if r.needs == ("A1",)]
['Thm VI.2', 'Lemma VII.4']
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from ..axioms import AXIOMS
from ..spec.scales import SCALES

#: What the assumptions are called in the reports.
NAMES = {"A1": "bounded weights", "A2": "Lipschitz continuity", "III.22": "context safety prioritization"}
NOTE = ("as far as the weights go: A3 (realizability) and A4 (smoothness) are about the student, and the axioms "
        "each result also assumes are checked by sampling")


@dataclasses.dataclass(frozen=True)
class PaperResult:
    """One of the paper's results and the assumptions on the weight operator it needs."""

    ref: str
    what: str
    needs: tuple[str, ...]
    scales: tuple[str, ...] = ("token", "task", "context", "unified")


RESULTS = (
    PaperResult("Thm VI.2", "SGD on the adaptive KD loss converges (rate O(1/t) under strong convexity)", ("A1",)),
    PaperResult("Remark VI.4", "with weight noise ‖ε‖∞ ≤ δ the loss converges to within O(δ·L)", ("A1", "A2")),
    PaperResult("Thm VII.1", "a contractive weight update (step β < 1/L) has a unique fixed point, reached "
                             "geometrically", ("A1", "A2")),
    PaperResult("Thm VII.2", "the optimum moves at most C·δ under weight perturbations of size δ", ("A1", "A2")),
    PaperResult("Lemma VII.4", "gradient variance at most (w_max/w_min)² times that of uniform weights", ("A1",)),
    PaperResult("Cor. VIII.7", "the student's safety in safety-critical contexts is at least the ensemble's",
                ("A1", "III.22"), scales=("context", "unified")),
)


def _num(x: float) -> str:
    return f"{x:.4g}"


def _on(cert: Any) -> str:
    return f"on {cert.domain}" if cert.domain else "on the certifier's default domain"


def _result(report: Any, prop: str) -> Any:
    return next((r for r in report.results if r.axiom in AXIOMS and AXIOMS[r.axiom].property == prop), None)


def _why_not(r: Any) -> str:
    if r is None:
        return "not checked in this run"
    c = r.certificate
    if c is None:
        return "no certificate"
    return f"{c.status}: {c.reason}" if c.reason else c.status


def _enclosure(cert: Any) -> tuple[float, float] | None:
    b = cert.bound
    if not isinstance(b, (list, tuple)) or len(b) != 2:
        return None
    lo, hi = b
    ok = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (lo, hi))
    return (float(lo), float(hi)) if ok and 0 < lo <= hi < math.inf else None


def a1(report: Any) -> dict[str, Any]:
    """A1 from a proved certificate of the bounds check (its enclosure, else the bounds it proved),
    or of positivity when its enclosure is bounded away from 0."""
    bounds, positivity = _result(report, "bounds"), _result(report, "positivity")
    for r in (bounds, positivity):
        c = r.certificate if r is not None else None
        if c is None or not c.proved:
            continue
        enc = _enclosure(c)
        if enc is None and r is bounds:
            declared = report.spec.get("bounds") or (report.derived or {}).get("bounds")
            enc = (float(declared[0]), float(declared[1])) if declared else None
        if enc is not None:
            return {"status": "proved", "check": r.axiom, "domain": c.domain, "bound": list(enc),
                    "text": f"proved {_on(c)}: w_k ∈ [{_num(enc[0])}, {_num(enc[1])}]"}
    return {"status": "not proved", "check": bounds.axiom if bounds is not None else None,
            "text": f"not proved: {_why_not(bounds)}"}


def a2(report: Any) -> dict[str, Any]:
    """A2 from a proved certificate of the regularity check with a finite Lipschitz upper bound."""
    r = _result(report, "regularity")
    c = r.certificate if r is not None else None
    up = c.lipschitz_upper if c is not None else None
    if c is not None and c.proved and isinstance(up, (int, float)) and math.isfinite(up):
        metric = f" in {c.metric}" if c.metric else ""
        return {"status": "proved", "check": r.axiom, "domain": c.domain, "lipschitz_upper": float(up),
                "text": f"proved {_on(c)}: L ≤ {_num(up)}{metric}"}
    why = _why_not(r)
    if c is not None and isinstance(up, (int, float)) and math.isinf(up):
        why = "no finite Lipschitz constant" + (f": {c.reason}" if c.reason else "")
    return {"status": "not proved", "check": r.axiom if r is not None else None, "text": f"not proved: {why}"}


def _safety(report: Any) -> bool:
    r = _result(report, "safety")
    return r is not None and r.certificate is not None and r.certificate.proved


def summarize(report: Any) -> dict[str, Any]:
    """The paper link of a certified report: A1, A2, the results that apply and those still pending.

    Returns `{}` for a report without certificates and for task importance.
    """
    if (report.scale in SCALES and SCALES[report.scale].task_importance) or not any(r.certificate is not None for r in report.results):
        return {}
    first, second = a1(report), a2(report)
    proved = {k for k, v in (("A1", first), ("A2", second)) if v["status"] == "proved"}
    if _safety(report):
        proved.add("III.22")
    # A result of the paper is about a conforming operator: a violated axiom (a sampled fail or error
    # of a value check) stops every result, whatever A1 and A2 say.
    broken = [r.axiom for r in report.results if r.status in ("fail", "error")]
    applies, pending = [], []
    for res in RESULTS:
        if report.scale not in res.scales:
            continue
        missing = [n for n in res.needs if n not in proved] + (
            [f"the failing checks to pass ({', '.join(broken)})"] if broken else [])
        if missing:
            pending.append(f"{res.ref} (needs {', '.join(missing)})")
        else:
            applies.append(f"{res.ref}: {res.what}")
    return {"A1": first, "A2": second, "applies": applies, "pending": pending, "note": NOTE}


def lines(summary: dict[str, Any]) -> list[str]:
    """The summary as short lines of text, for every writer (empty for an empty summary)."""
    if not summary:
        return []
    out = [f"A1 ({NAMES['A1']}): {summary['A1']['text']}", f"A2 ({NAMES['A2']}): {summary['A2']['text']}"]
    out.append("results whose assumptions on the weights are proved: "
               + ("; ".join(summary["applies"]) if summary["applies"] else "none yet"))
    if summary.get("pending"):
        out.append("not yet: " + ", ".join(summary["pending"]))
    if summary.get("note"):
        out.append(f"({summary['note']})")
    return out
