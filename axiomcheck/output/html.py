"""The self-contained HTML report page, with its plots.

The page embeds its plots as base64 PNG.  matplotlib is imported only when
the page is built and only if installed (`pip install 'axiomcheck[plots]'`);
without it the page is written without plots and says so.  Every user string
is escaped (HTML-escaped, control characters spelled out).

>>> from axiomcheck.results import Run
>>> to_html(Run(suites=[])).startswith("<!DOCTYPE html>")
True
"""

from __future__ import annotations

import html
import io
import json
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from ..axioms import AXIOMS
from ..results import BoundsEstimate, ItemRun, Outcome, RegularityEstimate, Run
from .common import (
    HTML_ICON,
    PLOT_SCALE,
    TRAINING_LABEL,
    clip,
    headline,
    observed_in_training,
    png_img,
    run_mark,
    summary_line,
    visible,
)

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;color:#1f2328;background:#fff}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:18px;margin-top:32px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
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
_PROPS = ("normalization", "positivity", "bounds", "regularity", "safety", "pareto", "finite", "shape",
          "deterministic", "batch_independent")
# Column headings of the overview: the property each column shows (soft hyphens let the long ones wrap).
_PROP_LABEL = {"normalization": "Normal\u00adization", "positivity": "Posi\u00adtivity", "bounds": "Bounds",
               "regularity": "Regu\u00adlarity", "safety": "Safety", "pareto": "Pareto", "finite": "Finite",
               "shape": "Shape", "deterministic": "Deter\u00administic", "batch_independent": "Batch inde\u00adpendent"}
_MARK = {"pass": "✓", "fail": "✗", "error": "!", "skipped": "–"}


def _e(text: Any) -> str:
    return html.escape(visible(text), quote=True)


def _anchor(*parts: str) -> str:
    return "i-" + re.sub(r"[^A-Za-z0-9_-]", "-", "--".join(parts))


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


class _Plots:
    """Lazily imported matplotlib; `available` is False when the `plots` extra is missing."""

    def __init__(self) -> None:
        try:
            from matplotlib.figure import Figure
        except ImportError as exc:
            self.Figure = None
            self.reason = f"matplotlib is not installed ({exc}); install the extra: pip install 'axiomcheck[plots]'"
        else:
            self.Figure = Figure
            self.reason = ""

    @property
    def available(self) -> bool:
        return self.Figure is not None

    def png(self, draw: Callable[[Any], None], size: tuple[float, float] = (4.6, 3.2)) -> bytes:
        """PNG bytes at PLOT_SCALE × 80 dpi (80 CSS px per inch); the legend sits below the axes, clear of the data."""
        fig = self.Figure(figsize=size, dpi=80, layout="constrained")
        ax = fig.add_subplot()
        draw(ax)
        handles, labels = ax.get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels, loc="outside lower center", ncols=min(2, len(handles)), fontsize=7,
                       frameon=False)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=80 * PLOT_SCALE, bbox_inches="tight", pad_inches=0.06)
        return buf.getvalue()

    def img(self, draw: Callable[[Any], None], alt: str) -> str:
        try:
            data = self.png(draw)
        except Exception as exc:  # noqa: BLE001 - a plot that cannot be drawn must not lose the report
            return f"<p class='muted'>plot not drawn: {_e(type(exc).__name__)}: {_e(exc)}</p>"
        return png_img(data, _e(alt))


def _finite(xs: Sequence[Any]) -> list[float] | None:
    out = []
    for x in xs or []:
        if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x):
            out.append(float(x))
        else:
            return None
    return out


def _estimated(item: ItemRun, prop: str, kind: type) -> tuple[Any, Any]:
    """(result, estimate) of the item's check of `prop`, when it carries an estimate of `kind`."""
    rep = item.report
    res = next((r for r in rep.results if AXIOMS[r.axiom].property == prop), None) if rep else None
    est = res.estimate if res else None
    return (res, est) if isinstance(est, kind) else (None, None)


def _weight_plot(plots: _Plots, item: ItemRun) -> str:
    bounds_res, est = _estimated(item, "bounds", BoundsEstimate)
    if est is None:
        return ""
    rep = item.report
    lo, hi = _finite(est.observed_min), _finite(est.observed_max)
    if not lo or not hi or len(lo) != len(hi):
        return ""
    declared = rep.spec.get("bounds") if isinstance(rep.spec, dict) else None
    origin = "declared"
    if not declared and isinstance(rep.derived, dict) and rep.derived.get("bounds"):
        declared, origin = rep.derived["bounds"], "derived"
    failed = bounds_res is not None and bounds_res.status == "fail"

    def draw(ax: Any) -> None:
        ks = list(range(len(lo)))
        ax.bar(ks, [h - m for m, h in zip(lo, hi, strict=False)], bottom=lo, width=0.5, color="#54aeff", edgecolor="#0969da",
               label="observed range")
        ax.scatter(ks, lo, marker="_", color="#0969da", s=120)
        ax.scatter(ks, hi, marker="_", color="#0969da", s=120)
        if declared:
            color = "#cf222e" if failed else "#1a7f37"
            ax.axhline(declared[0], color=color, ls="--", lw=1.2, label=f"{origin} $w_{{min}}$, $w_{{max}}$")
            ax.axhline(declared[1], color=color, ls="--", lw=1.2)
        low = min(lo + ([declared[0]] if declared else []))
        if low > 0 and low < 1e-3:
            ax.set_yscale("log")
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.set_xlabel("teacher k")
        ax.set_ylabel("weight $w_k$")
        ax.set_title("weight range per teacher", fontsize=10)

    return plots.img(draw, f"observed weight range per teacher of {item.item} against the {origin} bounds")


def _lipschitz_plot(plots: _Plots, item: ItemRun) -> str:
    res, est = _estimated(item, "regularity", RegularityEstimate)
    if est is None:
        return ""
    radii, ratios = _finite(est.radii), _finite(est.max_ratio_by_radius)
    if not radii or not ratios or len(radii) != len(ratios):
        return ""
    pts = [(r, q) for r, q in zip(radii, ratios, strict=False) if r > 0 and q > 0]
    if len(pts) < 2:
        return ""
    declared = est.declared

    def draw(ax: Any) -> None:
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", ms=3, color="#8250df",
                label="largest $\\|\\Delta w\\|_\\infty / d$")
        if isinstance(declared, (int, float)) and declared > 0:
            ax.axhline(declared, color="#cf222e" if res.status == "fail" else "#1a7f37", ls="--", lw=1.2,
                       label=f"declared L = {declared:.3g}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.invert_xaxis()
        ax.set_xlabel(f"radius in {est.metric or 'input metric'}")
        ax.set_ylabel("ratio")
        ax.set_title("Lipschitz ratio as the radius shrinks", fontsize=10)

    return plots.img(draw, f"Lipschitz ratio of {item.item} against the radius")


def _expected_failure(o: Outcome) -> bool:
    """A failure (or error) the suite expects: shown as expected wherever it is shown."""
    return o.status in ("fail", "error") and o.expected != "pass" and o.matched


def _status_cell(o: Outcome) -> str:
    exp = _expected_failure(o)
    cls = f"st-{o.status}" + (" expfail" if exp else "")
    title = f"{o.axiom}: {o.status} (expected {o.expected})"
    mark = _MARK[o.status] + ("<small>exp</small>" if exp else "")
    return f"<td class='{cls}' title='{_e(title)}'>{mark}</td>"


def _status_tag(o: Outcome) -> str:
    """The status word with a tag saying whether a failure was expected, known (baseline) or unexpected,
    and one saying so when the weight guard observed it in training."""
    tag = _status_word(o)
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


def _item_html(run: Run, item: ItemRun, plots: _Plots, suite_name: str) -> str:
    verdict = item.verdict
    rep = item.report
    scale = rep.scale if rep else (item.outcomes[0].scale if item.outcomes else "")
    parts = [f"<details class='item' id='{_anchor(suite_name, item.item)}'{' open' if verdict != 'ok' else ''}>",
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
    rows = []
    for o in item.outcomes:
        rows.append(f"<tr><td><code>{_e(o.axiom)}</code></td><td>{_e(o.paper_ref)}</td>{_status_cell(o)}"
                    f"<td>{_status_tag(o)}</td><td>{_e(o.expected)}</td><td>{_verdict_html(o.verdict)}</td>"
                    f"<td class='msg'>{_e(o.message)}</td></tr>")
    parts.append(_scroll("<table><tr><th>Check</th><th>Paper</th><th></th><th>Status</th><th>Expected</th>"
                         "<th>Verdict</th><th>Message</th></tr>" + "".join(rows) + "</table>"))
    if plots.available:
        imgs = _weight_plot(plots, item) + _lipschitz_plot(plots, item)
        if imgs:
            parts.append(f"<div class='plots'>{imgs}</div>")
    for o in item.outcomes:
        if o.status in ("fail", "error") or not o.matched:
            want = "" if _expected_failure(o) else f" <span class='muted'>(expected {_e(o.expected)})</span>"
            parts.append(f"<h4><code>{_e(o.axiom)}</code>: {_status_tag(o)}{want}</h4>")
            parts.append(f"<p>{_e(o.message)}</p>")
            if o.reproduce:
                parts.append(f"<p>Reproduce: <code>{_e(o.reproduce)}</code></p>")
            if o.counterexample:
                parts.append("<p>Counterexample:</p>" + _scroll(_value_html(o.counterexample)))
    parts.append("</details>")
    return "\n".join(parts)


def to_html(run: Run) -> str:
    """A self-contained page (inline CSS, plots as base64 PNG); every user string escaped."""
    plots = _Plots()
    c = run.counts()
    body = [f"<h1>axiomcheck report</h1><p class='muted'>{_e(summary_line(run))}</p>",
            f"<div class='banner {'ok' if run.ok else 'bad'}'>{_e(headline(run, HTML_ICON))}</div>"]
    if not plots.available:
        body.append(f"<p class='note'>Plots are not included: {_e(plots.reason)}.</p>")
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
            body.append(f"<tr><td>{_e(o.suite)}</td><td><a href='#{_anchor(o.suite, o.item)}'><code>{_e(o.item)}"
                        f"</code></a></td><td><code>{_e(o.axiom)}</code></td><td>{_e(o.expected)}</td>"
                        f"<td>{_e(o.status)}</td><td><code>{_e(o.reproduce or '')}</code></td></tr>")
        body.append("</table></div>")
    body.append("<h2>Overview</h2><p class='muted'>✓ pass · ✗ fail · ! error · – not applicable; "
                "<span class='key st-fail expfail'>✗<small>exp</small></span> "
                "a failure the suite expects.</p>")
    heads = "".join(f"<th class='p' title='{_e(p.replace('_', ' '))}'>{_PROP_LABEL[p]}</th>" for p in _PROPS)
    body.append(f"<div class='scroll'><table class='matrix'><tr><th>Suite</th><th>Operator</th><th>Scale</th>{heads}"
                "<th>Verdict</th></tr>")
    for s in run.suites:
        for i in s.items:
            by_prop = {AXIOMS[o.axiom].property: o for o in i.outcomes if o.axiom in AXIOMS}
            cells = "".join(_status_cell(by_prop[p]) if p in by_prop else "<td></td>" for p in _PROPS)
            scale = i.outcomes[0].scale if i.outcomes else ""
            body.append(f"<tr><td class='suite'>{_e(s.name)}</td><td class='name'><a href='#{_anchor(s.name, i.item)}'><code>"
                        f"{_breakable(i.item)}</code></a></td><td>{_e(scale)}</td>{cells}"
                        f"<td>{_verdict_html(i.verdict)}</td></tr>")
    body.append("</table></div>")
    for s in run.suites:
        body.append(f"<h2>Suite {_e(s.name)}</h2>")
        if s.path:
            body.append(f"<p class='muted'><code>{_e(s.path)}</code></p>")
        if s.description:
            body.append(f"<p>{_e(s.description)}</p>")
        body.extend(_item_html(run, i, plots, s.name) for i in s.items)
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<meta name='axiomcheck-run' content='{_e(run.run_id)}'><!-- {_e(run_mark(run))} -->"
            f"<title>axiomcheck report — {_e(headline(run, HTML_ICON))}</title><style>{_CSS}</style></head>"
            "<body><main>\n" + "\n".join(body) + "\n</main></body></html>\n")


