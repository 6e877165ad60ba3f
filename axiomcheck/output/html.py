"""The HTML report: the self-contained page, and the same overview as a fragment for notebooks.

`to_html(run)` is the page `report.html`: inline CSS, plots embedded as base64
PNG (`axiomcheck.output.plots`; without matplotlib the page says so).
`overview_html(run)` draws the same sections without the page around them and
without plots, and `results_html(outcomes)` the table and details of a few
results on their own: both are what Jupyter shows for a `Run`, `Report`,
`Result` or the guard's results (`axiomcheck.output.display`).  A fragment
carries its CSS in a `<style>` scoped to its own `div.axiomcheck-nb`, so it
styles nothing else in the notebook, and it loads nothing from anywhere.
Every user string is escaped (HTML-escaped, control characters spelled out).

>>> from axiomcheck.report.results import Run
>>> to_html(Run(suites=[])).startswith("<!DOCTYPE html>")
True
>>> overview_html(Run(suites=[])).startswith("<style>div.axiomcheck-nb{")
True
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from ..axioms import AXIOMS
from ..report.results import ItemRun, Outcome, Run
from . import certified as C
from .common import (
    HTML_ICON,
    TRAINING_LABEL,
    clip,
    headline,
    observed_in_training,
    run_mark,
    summary_line,
)
from .common import escape as _e
from .plots import Plots, lipschitz_plot, weight_plot

# What only the page styles: the fragment lives inside someone else's page.
_PAGE_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;color:#1f2328;background:#fff}
main{max-width:1100px;margin:0 auto;padding:24px}
"""
# The rules of the sections the page and the fragment share.
_CSS = """h1{font-size:22px;margin:0 0 4px} h2{font-size:18px;margin-top:32px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
h3{font-size:15px;margin:0} h4{margin:14px 0 4px}
table{border-collapse:collapse;margin:8px 0;font-size:13px} th,td{border:1px solid #d0d7de;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f6f8fa} td.num{text-align:right;font-variant-numeric:tabular-nums}
.scroll{max-width:100%;overflow-x:auto} .scroll>table{margin:0} .scroll{margin:8px 0}
code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace} pre{background:#f6f8fa;padding:8px;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
p code,td.msg{overflow-wrap:anywhere}
.ok{color:#1a7f37} .bad{color:#cf222e} .warn{color:#9a6700} .muted{color:#656d76}
.st-pass{background:#dafbe1} .st-fail{background:#ffebe9} .st-error{background:#fff1d6} .st-skipped{background:#eaeef2}
.expfail{outline:2px dashed #1a7f37;outline-offset:-3px}
.tag{display:inline-block;font-size:11px;font-weight:600;line-height:1.3;padding:0 5px;border-radius:8px;white-space:nowrap}
.tag.exp{background:#dafbe1;color:#116329;border:1px solid #4ac26b} .tag.unexp{background:#ffebe9;color:#a40e26;border:1px solid #ff8182}
.tag.known{background:#fff8c5;color:#7d4e00;border:1px solid #d4a72c}
.tag.train{background:#ddf4ff;color:#0550ae;border:1px solid #54aeff}
details.item{border:1px solid #d0d7de;border-radius:6px;margin:10px 0;padding:6px 10px;min-width:0} details.item>summary{cursor:pointer}
.plots{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0} .plots img{max-width:100%;height:auto;border:1px solid #eaeef2}
.banner{padding:10px 14px;border-radius:6px;margin:12px 0}
.banner.ok{background:#dafbe1} .banner.bad{background:#ffebe9} .note{background:#fff8c5;padding:6px 10px;border-radius:6px}
table.vals{font-size:12px;margin:2px 0} table.vals th,table.vals td{padding:1px 4px} .verdict{white-space:nowrap}
.matrix th{font-size:12px;vertical-align:bottom} .matrix th.p{max-width:72px;hyphens:manual}
.matrix td{text-align:center;min-width:26px;white-space:nowrap} .matrix td.name{text-align:left;white-space:normal}
.matrix td.suite{text-align:left} .key{display:inline-block;padding:0 6px;margin:0 2px}
.matrix td small,.key small{font-size:9px;font-weight:600;color:#116329;margin-left:2px}
"""
#: The element every fragment's CSS is scoped to (an element and a class: its rules outrank a notebook's own
#: `.jp-RenderedHTMLCommon td`-style rules, which would otherwise restyle the tables).
SCOPE = "div.axiomcheck-nb"
# The fragment's box (a light card, readable under a dark notebook theme too) and its tighter spacing; then what
# a notebook's own stylesheet sets on its elements and the page leaves to the browser: colours of text, headings,
# code and links, striped rows, centred fixed-layout tables.
_FRAGMENT_CSS = ("h2{font-size:15px;margin:16px 0 6px} h3{font-size:14px} h4{font-size:13px}"
                 " .banner{padding:6px 10px;margin:6px 0} details.item{margin:6px 0}"
                 " th,td{padding:2px 5px} .matrix th{font-size:11px} .matrix td{min-width:22px}"
                 " table{margin:4px 0;table-layout:auto;color:inherit}"
                 " h2,h3,h4,p,summary,th,td{color:inherit;line-height:1.4} td{background:#fff}"
                 " code{color:inherit;background:none;padding:0} a{color:#0969da}")
_FRAGMENT_BOX = (f"{SCOPE}{{font:13px/1.4 system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;"
                 "color:#1f2328;background:#fff;text-align:left;padding:2px 10px;border:1px solid #d0d7de;"
                 "border-radius:6px;max-width:100%;overflow-x:auto}")


def scoped_css(css: str, scope: str = SCOPE) -> str:
    """`css` with each selector of each rule put inside `scope`, so the rules style nothing outside it.

    >>> scoped_css("h3{margin:0} p code,td.msg{x:y}", "div.s")
    'div.s h3{margin:0}div.s p code,div.s td.msg{x:y}'
    """
    return "".join(",".join(f"{scope} {sel.strip()}" for sel in sels.split(",")) + "{" + body + "}"
                   for sels, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css))


_STYLE = "<style>" + _FRAGMENT_BOX + scoped_css(_CSS + _FRAGMENT_CSS) + "</style>"


# The overview's columns: one per property a suite item's check can have (the catalogue's, of the
# operators' scales and of what the weight guard observed), in this order, any property not named
# here after them, so no check of a run is left out of the overview.
_OVERVIEW_ORDER = ("normalization", "positivity", "nonnegativity", "bounds", "regularity", "safety", "pareto",
                   "finite", "shape", "deterministic", "batch_independent")
_OVERVIEW_COLUMNS = (*_OVERVIEW_ORDER,
                     *dict.fromkeys(a.property for a in AXIOMS.values()
                                    if a.kind in ("axiom", "well-posedness", "runtime")
                                    and a.property not in _OVERVIEW_ORDER))
# Column headings of the overview (soft hyphens let the long ones wrap); another property is headed by its name.
_OVERVIEW_LABEL = {"normalization": "Normal\u00adization", "positivity": "Posi\u00adtivity",
                   "nonnegativity": "Non\u00adnega\u00adtivity", "bounds": "Bounds",
                   "regularity": "Regu\u00adlarity", "safety": "Safety", "pareto": "Pareto", "finite": "Finite",
                   "shape": "Shape", "deterministic": "Deter\u00administic",
                   "batch_independent": "Batch inde\u00adpendent"}
_MARK = {"pass": "✓", "fail": "✗", "error": "!", "skipped": "–"}


def _anchor(prefix: str, *parts: str) -> str:
    return prefix + re.sub(r"[^A-Za-z0-9_-]", "-", "--".join(parts))


def _fmt_num(x: Any) -> str:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return str(x)
    if isinstance(x, int):
        return str(x)
    return f"{x:.4g}"


def _squeeze(value: Any) -> Any:
    while isinstance(value, list) and len(value) == 1 and isinstance(value[0], list):
        value = value[0]
    return value


def _value_html(value: Any, limit: int = 600) -> str:
    """A counterexample value: a small table for a short vector or matrix, else clipped text."""
    v = _squeeze(value)
    if isinstance(v, list) and v and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v) \
            and len(v) <= 32:
        cells = "".join(f"<td class='num'>{_e(_fmt_num(x))}</td>" for x in v)
        heads = "".join(f"<th>{k}</th>" for k in range(len(v)))
        return f"<table class='vals'><tr>{heads}</tr><tr>{cells}</tr></table>"
    if isinstance(v, list) and v and len(v) <= 8 and all(
            isinstance(r, list) and 0 < len(r) <= 16 and all(isinstance(x, (int, float)) for x in r) for r in v):
        heads = "".join(f"<th>{k}</th>" for k in range(max(len(r) for r in v)))
        rows = "".join(f"<tr><th>{j}</th>" + "".join(f"<td class='num'>{_e(_fmt_num(x))}</td>" for x in r) + "</tr>"
                       for j, r in enumerate(v))
        return f"<table class='vals'><tr><th></th>{heads}</tr>{rows}</table>"
    if isinstance(v, dict):
        return _dict_html(v, limit)
    text = json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v
    return f"<code>{_e(clip(text, limit))}</code>"


def _dict_html(d: dict[str, Any], limit: int = 600) -> str:
    """A key/value table; the keys are the spec's and the counterexample's own field names, shown as code."""
    rows = "".join(f"<tr><th><code>{_e(k)}</code></th><td>{_value_html(v, limit)}</td></tr>" for k, v in d.items())
    return f"<table class='vals'>{rows}</table>"


def _scroll(table: str) -> str:
    """A table in its own horizontal scroll box, so a wide one never widens the page."""
    return f"<div class='scroll'>{table}</div>"


def _expected_failure(o: Outcome) -> bool:
    """A failure (or error) the suite expects: shown as expected wherever it is shown."""
    return o.status in ("fail", "error") and o.expected != "pass" and o.matched


def _status_cell(o: Outcome, judged: bool = True) -> str:
    exp = _expected_failure(o)
    cls = f"st-{o.status}" + (" expfail" if exp else "")
    title = f"{o.axiom}: {o.status}" + (f" (expected {o.expected})" if judged else "")
    mark = _MARK[o.status] + ("<small>exp</small>" if exp else "")
    return f"<td class='{cls}' title='{_e(title)}'>{mark}</td>"


def _status_tag(o: Outcome, judged: bool = True) -> str:
    """The status word with a tag saying whether a failure was expected, known (baseline) or unexpected
    (`judged`: checked against an expectation), and one saying so when the weight guard observed it in training."""
    tag = _status_word(o) if judged else _e(o.status)
    return tag + f" <span class='tag train'>{TRAINING_LABEL}</span>" if observed_in_training(o.axiom) else tag


def _status_word(o: Outcome) -> str:
    word = _e(o.status)
    if o.status not in ("fail", "error"):
        return word if o.matched else f"{word} <span class='tag unexp'>unexpected</span>"
    if _expected_failure(o):
        return f"{word} <span class='tag exp'>expected</span>"
    if o.known:
        return f"{word} <span class='tag known'>known (baseline)</span>"
    return f"{word} <span class='tag unexp'>unexpected</span>"


def _breakable(name: str) -> str:
    """An escaped identifier that may wrap after `+`, `_`, `@` or `.` (long composed operator names)."""
    return re.sub(r"([+_@.])", r"\1<wbr>", _e(name))


def _verdict_html(v: str) -> str:
    return {"ok": "<span class='ok verdict'>as expected</span>",
            "known": "<span class='warn verdict'>known (baseline)</span>",
            "unexpected": "<span class='bad verdict'>unexpected</span>"}[v]


def _outcomes_table(outcomes: Sequence[Outcome], judged: bool = True, certs: C.Certified | None = None) -> str:
    """One row per check; `judged` adds the expectation and the verdict against it, `certs` (check -> its
    certificate and result) a column of certificates beside the status."""
    heads = "<th>Check</th><th>Paper</th><th></th><th>Status</th>" + \
        ("<th>Expected</th><th>Verdict</th>" if judged else "") + ("<th>Certified</th>" if certs else "") + \
        "<th>Message</th>"
    rows = "".join(f"<tr><td><code>{_e(o.axiom)}</code></td><td>{_e(o.paper_ref)}</td>{_status_cell(o, judged)}"
                   f"<td>{_status_tag(o, judged)}</td>"
                   + (f"<td>{_e(o.expected)}</td><td>{_verdict_html(o.verdict)}</td>" if judged else "")
                   + (C.html_cell(*certs.get(o.axiom, (None, None)), _e) if certs else "")
                   + f"<td class='msg'>{_e(o.message)}</td></tr>" for o in outcomes)
    return _scroll(f"<table><tr>{heads}</tr>{rows}</table>")


def _outcome_details(o: Outcome, judged: bool = True) -> list[str]:
    """The heading, message, reproduction and counterexample of a check that failed or was not as expected."""
    if not (o.status in ("fail", "error") or not o.matched):
        return []
    want = "" if _expected_failure(o) or not judged else f" <span class='muted'>(expected {_e(o.expected)})</span>"
    parts = [f"<h4><code>{_e(o.axiom)}</code>: {_status_tag(o, judged)}{want}</h4>", f"<p>{_e(o.message)}</p>"]
    if o.reproduce:
        parts.append(f"<p>Reproduce: <code>{_e(o.reproduce)}</code></p>")
    if o.counterexample:
        parts.append("<p>Counterexample:</p>" + _scroll(_value_html(o.counterexample)))
    return parts


def _item_html(item: ItemRun, plots: Plots | None, suite_name: str, prefix: str) -> str:
    verdict = item.verdict
    rep = item.report
    scale = rep.scale if rep else (item.outcomes[0].scale if item.outcomes else "")
    parts = [f"<details class='item' id='{_anchor(prefix, suite_name, item.item)}'{' open' if verdict != 'ok' else ''}>",
             f"<summary><h3 style='display:inline'>{HTML_ICON[verdict]} <code>{_e(item.item)}</code></h3> "
             f"<span class='muted'>{_e(scale)} scale"
             + (f" · {TRAINING_LABEL}" if item.outcomes and all(observed_in_training(o.axiom)
                                                               for o in item.outcomes) else "")
             + (f" · operator {_e(rep.operator)}" if rep and rep.operator != item.item else "")
             + (f" · {rep.elapsed_s:.2f} s" if rep else "") + "</span></summary>"]
    if item.description:
        parts.append(f"<p>{_e(item.description)}</p>")
    if item.error:
        parts.append(f"<p class='bad'>{_e(item.error)}</p>")
    settings = ", ".join(f"{k} = {v}" for k, v in item.settings.items() if v is not None)
    parts.append(f"<p class='muted'>source <code>{_e(item.source)}</code> · {_e(settings)}</p>")
    if rep:
        spec = {k: v for k, v in rep.spec.items() if v not in (None, [], {})}
        if rep.derived:
            spec["derived"] = rep.derived
        if spec:
            parts.append("<details><summary>declared spec</summary>" + _scroll(_dict_html(spec)) + "</details>")
    parts.append(_outcomes_table(item.outcomes, certs=C.of_item(item)))
    if rep and rep.assumptions:
        parts.append(C.html_assumptions(rep.assumptions, _e))
    if plots is not None and plots.available:
        imgs = weight_plot(plots, item) + lipschitz_plot(plots, item)
        if imgs:
            parts.append(f"<div class='plots'>{imgs}</div>")
    for o in item.outcomes:
        parts.extend(_outcome_details(o))
    parts.append("</details>")
    return "\n".join(parts)


def _sections(run: Run, plots: Plots | None, prefix: str) -> list[str]:
    """What the page and the fragment both show after the headline: overrides and baseline, the unexpected
    verdicts, the overview matrix, then each suite's operators (`prefix` starts every anchor)."""
    c = run.counts()
    body = []
    if run.overrides:
        body.append("<p>Command-line overrides: " + _e(", ".join(f"{k} = {v}" for k, v in run.overrides.items()))
                    + "</p>")
    if run.baseline:
        body.append(f"<p>Baseline <code>{_e(run.baseline)}</code>: {c['known']} known violations, "
                    f"{c['stale']} stale entries.</p>")
        if run.stale:
            body.append("<ul>" + "".join(f"<li>stale: <code>{_e(e.get('operator'))}</code> · "
                                         f"<code>{_e(e.get('axiom'))}</code></li>" for e in run.stale) + "</ul>")
    unexpected = [o for o in run.outcomes() if o.verdict == "unexpected"]
    if unexpected:
        body.append("<h2>Unexpected verdicts</h2><div class='scroll'><table><tr><th>Suite</th><th>Operator</th>"
                    "<th>Check</th><th>Expected</th><th>Got</th><th>Reproduce</th></tr>")
        for o in unexpected:
            body.append(f"<tr><td>{_e(o.suite)}</td><td><a href='#{_anchor(prefix, o.suite, o.item)}'><code>"
                        f"{_e(o.item)}</code></a></td><td><code>{_e(o.axiom)}</code></td><td>{_e(o.expected)}</td>"
                        f"<td>{_e(o.status)}</td><td><code>{_e(o.reproduce or '')}</code></td></tr>")
        body.append("</table></div>")
    body.append("<h2>Overview</h2><p class='muted'>✓ pass · ✗ fail · ! error · – not applicable; "
                "<span class='key st-fail expfail'>✗<small>exp</small></span> "
                "a failure the suite expects.</p>")
    heads = "".join(f"<th class='p' title='{_e(p.replace('_', ' '))}'>"
                    f"{_OVERVIEW_LABEL.get(p) or _e(p.replace('_', ' ').capitalize())}</th>" for p in _OVERVIEW_COLUMNS)
    body.append(f"<div class='scroll'><table class='matrix'><tr><th>Suite</th><th>Operator</th><th>Scale</th>{heads}"
                "<th>Verdict</th></tr>")
    for s in run.suites:
        for i in s.items:
            by_prop = {AXIOMS[o.axiom].property: o for o in i.outcomes if o.axiom in AXIOMS}
            cells = "".join(_status_cell(by_prop[p]) if p in by_prop else "<td></td>" for p in _OVERVIEW_COLUMNS)
            scale = i.outcomes[0].scale if i.outcomes else ""
            body.append(f"<tr><td class='suite'>{_e(s.name)}</td><td class='name'><a "
                        f"href='#{_anchor(prefix, s.name, i.item)}'><code>{_breakable(i.item)}</code></a></td>"
                        f"<td>{_e(scale)}</td>{cells}<td>{_verdict_html(i.verdict)}</td></tr>")
    body.append("</table></div>")
    for s in run.suites:
        body.append(f"<h2>Suite {_e(s.name)}</h2>")
        if s.path:
            body.append(f"<p class='muted'><code>{_e(s.path)}</code></p>")
        if s.description:
            body.append(f"<p>{_e(s.description)}</p>")
        body.extend(_item_html(i, plots, s.name, prefix) for i in s.items)
    return body


def to_html(run: Run) -> str:
    """A self-contained page (inline CSS, plots as base64 PNG); every user string escaped."""
    plots = Plots()
    body = [f"<h1>axiomcheck report</h1><p class='muted'>{_e(summary_line(run))}</p>",
            f"<div class='banner {'ok' if run.ok else 'bad'}'>{_e(headline(run, HTML_ICON))}</div>"]
    if not plots.available:
        body.append(f"<p class='note'>Plots are not included: {_e(plots.reason)}.</p>")
    body.extend(_sections(run, plots, "i-"))
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<meta name='axiomcheck-run' content='{_e(run.run_id)}'><!-- {_e(run_mark(run))} -->"
            f"<title>axiomcheck report — {_e(headline(run, HTML_ICON))}</title>"
            f"<style>{_PAGE_CSS}{_CSS}{C.HTML_CSS if C.has_certificates(run) else ''}</style>"
            "</head><body><main>\n" + "\n".join(body) + "\n</main></body></html>\n")


def _fragment(parts: Sequence[str], certified: bool = False) -> str:
    style = _STYLE + (f"<style>{scoped_css(C.HTML_CSS)}</style>" if certified else "")
    return f"{style}<div class='axiomcheck-nb'>\n" + "\n".join(parts) + "\n</div>"


def overview_html(run: Run, prefix: str = "ac-") -> str:
    """The page's overview of `run` as a fragment (scoped CSS, no plots): what a notebook shows.
    `prefix` starts every anchor, so two fragments in one notebook link each to its own sections."""
    head = [f"<div class='banner {'ok' if run.ok else 'bad'}'><b>axiomcheck</b> · {_e(headline(run, HTML_ICON))}"
            f"</div><p class='muted'>{_e(summary_line(run))}</p>"]
    return _fragment(head + _sections(run, None, prefix), C.has_certificates(run))


def results_html(outcomes: Sequence[Outcome], title: str, certs: C.Certified | None = None) -> str:
    """A fragment of a few results on their own (not judged against an expectation): `title`, one row
    per check (with `certs`, the certificate of each check that has one), then the message, reproduction
    and counterexample of each that failed."""
    ok = all(o.status in ("pass", "skipped") for o in outcomes)
    failing = [o.axiom for o in outcomes if o.status in ("fail", "error")]
    verdict = f"{HTML_ICON['ok']} passed" if ok else f"{HTML_ICON['unexpected']} failed: " + ", ".join(failing)
    parts = [f"<div class='banner {'ok' if ok else 'bad'}'><b>{_e(title)}</b> · {_e(verdict)}</div>",
             _outcomes_table(outcomes, judged=False, certs=certs)]
    for o in outcomes:
        parts.extend(_outcome_details(o, judged=False))
    return _fragment(parts, bool(certs))
