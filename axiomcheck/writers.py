"""Report files: JSON (versioned schema), JUnit XML, Markdown and a self-contained HTML page.

Each writer turns a `Run` (plain data, see `axiomcheck.suites`) into text; `write_all`
puts them in a folder, each file written atomically (a temporary file in the
same folder, then `os.replace`), so an interrupted run never leaves half a file.

The HTML page embeds its plots as base64 PNG.  matplotlib is imported only when
the page is built and only if installed (`pip install 'axiomcheck[plots]'`);
without it the page is written without plots and says so.

>>> from axiomcheck.suites import Run
>>> to_json(Run(suites=[])).startswith('{')
True
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from .axioms import AXIOMS
from .suites import RUN_SCHEMA, RUN_SCHEMA_VERSION, ItemRun, Outcome, Run

#: What each format is written as under `--output DIR`.
FILENAMES = {"json": "report.json", "junit": "junit.xml", "markdown": "summary.md", "html": "report.html"}
FILE_FORMATS = tuple(FILENAMES)

#: Budget for the Markdown summary (GitHub's job summary limit is 1 MiB).
MARKDOWN_BUDGET = 400_000

# ============================================================================= files


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder and `os.replace`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def render(run: Run, fmt: str) -> str:
    """The text of `run` in one of FILE_FORMATS."""
    return WRITERS[fmt](run)


def write_all(run: Run, folder: str | Path, formats: Iterable[str] = FILE_FORMATS) -> dict[str, Path]:
    """Write each format into `folder` (created if needed); returns format -> path."""
    out = {}
    for fmt in formats:
        path = Path(folder) / FILENAMES[fmt]
        atomic_write(path, render(run, fmt).encode("utf-8"))
        out[fmt] = path
    return out


# ============================================================================= JSON

#: A JSON Schema (draft 2020-12) of the run document `to_json` writes.
RUN_JSON_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "axiomcheck run",
    "type": "object",
    "required": ["schema", "schema_version", "axiomcheck_version", "ok", "counts", "suites"],
    "properties": {
        "schema": {"const": RUN_SCHEMA},
        "schema_version": {"const": RUN_SCHEMA_VERSION},
        "axiomcheck_version": {"type": "string"},
        "started": {"type": "string"},
        "elapsed_s": {"type": "number"},
        "ok": {"type": "boolean"},
        "counts": {"type": "object"},
        "overrides": {"type": "object"},
        "baseline": {"type": ["string", "null"]},
        "stale_baseline_entries": {"type": "array"},
        "suites": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "items"],
                "properties": {
                    "name": {"type": "string"},
                    "path": {"type": ["string", "null"]},
                    "items": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["item", "settings", "report", "outcomes"],
                            "properties": {
                                "item": {"type": "string"},
                                "error": {"type": ["string", "null"]},
                                "settings": {"type": "object"},
                                "report": {"type": ["object", "null"]},
                                "outcomes": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": ["axiom", "status", "expected", "matched", "verdict", "message"],
                                        "properties": {
                                            "axiom": {"type": "string"},
                                            "status": {"enum": ["pass", "fail", "error", "skipped"]},
                                            "expected": {"enum": ["pass", "fail", "error", "skipped"]},
                                            "matched": {"type": "boolean"},
                                            "verdict": {"enum": ["ok", "known", "unexpected"]},
                                            "message": {"type": "string"},
                                            "reproduce": {"type": ["string", "null"]},
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def to_json(run: Run) -> str:
    """The run as compact, strict JSON (no NaN/Infinity tokens: non-finite numbers are strings).

    Pipe it through `jq` or `python -m json.tool` to read it.
    """
    return json.dumps(run.to_dict(), ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n"


# ============================================================================= JUnit XML

_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _x(text: Any) -> str:
    """Text XML 1.0 can hold (control characters dropped)."""
    return _XML_BAD.sub("\ufffd", str(text))


def _details(o: Outcome) -> str:
    lines = [f"{o.axiom} (paper {o.paper_ref}): expected {o.expected}, got {o.status}", o.message]
    if o.reproduce:
        lines.append(f"reproduce: {o.reproduce}")
    if o.counterexample:
        lines.append("counterexample: " + _clip(json.dumps(o.counterexample, ensure_ascii=False), 4000))
    return "\n".join(lines)


def to_junit(run: Run) -> str:
    """JUnit XML: violation → failure, operator error → error, not applicable or baselined → skipped."""
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    root = ET.Element("testsuites", name="axiomcheck")
    for suite in run.suites:
        s_counts = dict.fromkeys(counts, 0)
        s_time = sum(i.report.elapsed_s for i in suite.items if i.report)
        ts = ET.SubElement(root, "testsuite", name=_x(suite.name), time=f"{s_time:.3f}")
        if suite.path:
            ts.set("file", _x(suite.path))
        for item in suite.items:
            per = (item.report.elapsed_s / max(len(item.outcomes), 1)) if item.report else 0.0
            for o in item.outcomes:
                s_counts["tests"] += 1
                tc = ET.SubElement(ts, "testcase", classname=_x(f"{suite.name}.{item.item}"), name=_x(o.axiom),
                                   time=f"{per:.3f}")
                if suite.path:
                    tc.set("file", _x(suite.path))
                if o.verdict == "known":
                    s_counts["skipped"] += 1
                    ET.SubElement(tc, "skipped", message=_x(f"known violation (baseline {run.baseline}): "
                                                            f"{_clip(o.message, 500)}"))
                elif o.verdict == "unexpected":
                    if item.error:
                        kind, typ = "error", "InternalError"
                    elif o.status == "error":
                        kind, typ = "error", "OperatorError"
                    elif o.status == "fail":
                        kind, typ = "failure", "AxiomViolation"
                    else:
                        kind, typ = "failure", "UnexpectedVerdict"
                    s_counts["errors" if kind == "error" else "failures"] += 1
                    el = ET.SubElement(tc, kind, type=typ,
                                       message=_x(f"expected {o.expected}, got {o.status}: {_clip(o.message, 500)}"))
                    el.text = _x(_details(o))
                elif o.status == "skipped":
                    s_counts["skipped"] += 1
                    ET.SubElement(tc, "skipped", message=_x(_clip(o.message, 500)))
                elif o.expected != "pass":
                    out = ET.SubElement(tc, "system-out")
                    out.text = _x(f"as expected: {o.status} — {_details(o)}")
        for k, v in s_counts.items():
            ts.set(k, str(v))
            counts[k] += v
    for k, v in counts.items():
        root.set(k, str(v))
    root.set("time", f"{run.elapsed_s:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# ============================================================================= Markdown


def _clip(text: str, n: int) -> str:
    text = str(text)
    return text if len(text) <= n else text[: n - 1] + "…"


def _md(text: Any) -> str:
    """Plain text safe in a Markdown table cell (no raw HTML, no column breaks)."""
    s = str(text).replace("\r", " ").replace("\n", " ")
    s = html.escape(s, quote=False)
    return s.replace("|", "\\|").replace("`", "'")


def _md_code(text: Any) -> str:
    """An inline code span (its content is shown literally; a pipe is escaped so a table cell holds)."""
    s = str(text).replace("\r", " ").replace("\n", " ").replace("|", "\\|").replace("``", "` `")
    return f"`` {s} ``" if "`" in s else f"`{s}`"


def _fence(text: str, lang: str = "") -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}{lang}\n{text}\n{fence}"


_ICON = {"ok": "✅", "unexpected": "❌", "known": "⚠️"}
# The HTML page uses text glyphs every font has: emoji fonts are not everywhere.
_HTML_ICON = {"ok": "✓", "unexpected": "✗", "known": "!"}


def _item_verdict(item: ItemRun) -> str:
    vs = {o.verdict for o in item.outcomes}
    if item.error or "unexpected" in vs:
        return "unexpected"
    return "known" if "known" in vs else "ok"


def _headline(run: Run, icons: dict[str, str] = _ICON) -> str:
    c = run.counts()
    if run.ok:
        head = f"{icons['ok']} all {c['checks']} checks as expected"
    else:
        head = f"{icons['unexpected']} {c['unexpected']} unexpected verdict{'s' if c['unexpected'] != 1 else ''}"
        if c["internal_errors"]:
            head += f", {c['internal_errors']} internal error{'s' if c['internal_errors'] != 1 else ''}"
    return head


def _summary_line(run: Run) -> str:
    c = run.counts()
    parts = [f"{c['operators']} operators", f"{c['checks']} checks", f"{c['pass']} pass",
             f"{c['expected_fail']} fail as expected", f"{c['skipped']} not applicable"]
    if c["known"]:
        parts.append(f"{c['known']} known (baseline)")
    if c["stale"]:
        parts.append(f"{c['stale']} stale baseline entries")
    parts.append(f"{run.elapsed_s:.1f} s")
    return " · ".join(parts)


def to_markdown(run: Run, budget: int = MARKDOWN_BUDGET) -> str:
    """A summary fit for a CI job summary ($GITHUB_STEP_SUMMARY), kept under `budget` characters."""
    out: list[str] = [f"## axiomcheck: {_headline(run)}", "", _summary_line(run), ""]
    if run.overrides:
        out += ["Overrides: " + ", ".join(f"{k} = {_md(v)}" for k, v in sorted(run.overrides.items())), ""]
    out += ["| suite | operators | checks | as expected | unexpected | known |", "|---|---:|---:|---:|---:|---:|"]
    for s in run.suites:
        os_ = [o for i in s.items for o in i.outcomes]
        out.append(f"| {_md(s.name)} | {len(s.items)} | {len(os_)} | {sum(o.verdict == 'ok' for o in os_)} | "
                   f"{sum(o.verdict == 'unexpected' for o in os_)} | {sum(o.verdict == 'known' for o in os_)} |")
    out.append("")
    for s in run.suites:
        out += [f"### {_md(s.name)}" + (f" — `{_md(s.path)}`" if s.path else ""), ""]
        if s.description:
            out += [_md(s.description), ""]
        out += ["| | operator | scale | pass | fail | error | skipped | notes |", "|---|---|---|---:|---:|---:|---:|---|"]
        for i in s.items:
            st = [o.status for o in i.outcomes]
            scale = i.report.scale if i.report else (i.outcomes[0].scale if i.outcomes else "")
            notes = []
            exp = [o.axiom for o in i.outcomes if o.expected != "pass" and o.matched]
            if exp:
                notes.append("fails as expected: " + ", ".join(exp))
            bad = [o.axiom for o in i.outcomes if o.verdict == "unexpected"]
            if bad:
                notes.append("unexpected: " + ", ".join(bad))
            out.append(f"| {_ICON[_item_verdict(i)]} | {_md_code(i.item)} | {scale} | {st.count('pass')} | "
                       f"{st.count('fail')} | {st.count('error')} | {st.count('skipped')} | {_md('; '.join(notes))} |")
        out.append("")
    unexpected = [o for o in run.outcomes() if o.verdict == "unexpected"]
    if unexpected:
        out += ["### Unexpected verdicts", ""]
        used = sum(len(x) + 1 for x in out)
        for n, o in enumerate(unexpected):
            block = [f"**{_md(o.suite)} · {_md_code(o.item)} · {_md_code(o.axiom)}** (paper {_md(o.paper_ref)}): "
                     f"expected **{o.expected}**, got **{o.status}**", "", "> " + _md(_clip(o.message, 600)), ""]
            if o.reproduce:
                block += [_fence(o.reproduce, "sh"), ""]
            if o.counterexample:
                ce = _clip(json.dumps(o.counterexample, ensure_ascii=False), 1500)
                block += ["<details><summary>counterexample</summary>", "", _fence(ce, "json"), "", "</details>", ""]
            size = sum(len(x) + 1 for x in block)
            if used + size > budget:
                out += [f"*… {len(unexpected) - n} more unexpected verdicts left out to keep this summary short; "
                        f"see the JSON or HTML report.*", ""]
                break
            out += block
            used += size
    known = [o for o in run.outcomes() if o.verdict == "known"]
    if known:
        out += ["### Known violations (baseline)", "", "| operator | axiom | got | message |", "|---|---|---|---|"]
        out += [f"| {_md_code(o.item)} | {_md_code(o.axiom)} | {o.status} | {_md(_clip(o.message, 160))} |"
                for o in known[:200]]
        out.append("")
    if run.stale:
        out += ["### Stale baseline entries (they pass now; remove them)", ""]
        out += [f"- {_md_code(e.get('operator'))} · {_md_code(e.get('axiom'))}" for e in run.stale]
        out.append("")
    expected = [o for o in run.outcomes() if o.verdict == "ok" and o.expected != "pass"]
    if expected:
        out += ["<details><summary>Failures that are expected (by design)</summary>", "",
                "| operator | axiom | message | reproduce |", "|---|---|---|---|"]
        out += [f"| {_md_code(o.item)} | {_md_code(o.axiom)} | {_md(_clip(o.message, 200))} | "
                f"{_md_code(o.reproduce or '')} |" for o in expected[:300]]
        out += ["", "</details>", ""]
    text = "\n".join(out)
    if len(text) > budget:  # the tables alone overflow: keep the head, say so
        text = text[: budget - 200] + "\n\n*… summary truncated; see the JSON or HTML report.*\n"
    return text


# ============================================================================= HTML

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;color:#1f2328;background:#fff}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:18px;margin-top:32px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
h3{font-size:15px;margin:0}
table{border-collapse:collapse;margin:8px 0;font-size:13px} th,td{border:1px solid #d0d7de;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f6f8fa} td.num{text-align:right}
code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace} pre{background:#f6f8fa;padding:8px;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
.ok{color:#1a7f37} .bad{color:#cf222e} .warn{color:#9a6700} .muted{color:#656d76}
.st-pass{background:#dafbe1} .st-fail{background:#ffebe9} .st-error{background:#fff1d6} .st-skipped{background:#eaeef2}
.expfail{outline:2px dashed #1a7f37;outline-offset:-3px}
details.item{border:1px solid #d0d7de;border-radius:6px;margin:10px 0;padding:6px 10px} details.item>summary{cursor:pointer}
.plots img{max-width:100%;margin:4px 8px 4px 0;border:1px solid #eaeef2} .banner{padding:10px 14px;border-radius:6px;margin:12px 0}
.banner.ok{background:#dafbe1} .banner.bad{background:#ffebe9} .note{background:#fff8c5;padding:6px 10px;border-radius:6px}
.matrix td{text-align:center;min-width:28px} .matrix td.name{text-align:left}
"""

_PROPS = ("normalization", "positivity", "bounds", "regularity", "safety", "pareto", "finite", "shape",
          "deterministic", "batch_independent")
_PROP_LABEL = {"normalization": "norm", "positivity": "pos", "bounds": "bounds", "regularity": "cont",
               "safety": "safety", "pareto": "pareto", "finite": "finite", "shape": "shape",
               "deterministic": "determ", "batch_independent": "batch"}
_MARK = {"pass": "✓", "fail": "✗", "error": "!", "skipped": "–"}


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


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
        return f"<table><tr>{heads}</tr><tr>{cells}</tr></table>"
    if isinstance(v, list) and v and len(v) <= 8 and all(
            isinstance(r, list) and 0 < len(r) <= 16 and all(isinstance(x, (int, float)) for x in r) for r in v):
        heads = "".join(f"<th>{k}</th>" for k in range(max(len(r) for r in v)))
        rows = "".join(f"<tr><th>{j}</th>" + "".join(f"<td class='num'>{_e(_fmt_num(x))}</td>" for x in r) + "</tr>"
                       for j, r in enumerate(v))
        return f"<table><tr><th></th>{heads}</tr>{rows}</table>"
    if isinstance(v, dict):
        return _dict_html(v, limit)
    text = json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v
    return f"<code>{_e(_clip(text, limit))}</code>"


def _dict_html(d: dict[str, Any], limit: int = 600) -> str:
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_value_html(v, limit)}</td></tr>" for k, v in d.items())
    return f"<table>{rows}</table>"


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

    def png(self, draw: Callable[[Any], None], size: tuple[float, float] = (4.2, 2.6)) -> str:
        fig = self.Figure(figsize=size, dpi=80, layout="constrained")
        ax = fig.add_subplot()
        draw(ax)
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return base64.b64encode(buf.getvalue()).decode("ascii")

    def img(self, draw: Callable[[Any], None], alt: str) -> str:
        try:
            data = self.png(draw)
        except Exception as exc:  # noqa: BLE001 - a plot that cannot be drawn must not lose the report
            return f"<p class='muted'>plot not drawn: {_e(type(exc).__name__)}: {_e(exc)}</p>"
        return f"<img alt='{_e(alt)}' src='data:image/png;base64,{data}'>"


def _finite(xs: Sequence[Any]) -> list[float] | None:
    out = []
    for x in xs or []:
        if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x):
            out.append(float(x))
        else:
            return None
    return out


def _weight_plot(plots: _Plots, item: ItemRun) -> str:
    rep = item.report
    if rep is None:
        return ""
    bounds_res = next((r for r in rep.results if AXIOMS[r.axiom].property == "bounds"), None)
    est = (bounds_res.estimate or {}) if bounds_res else {}
    lo, hi = _finite(est.get("observed_min")), _finite(est.get("observed_max"))
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
            ax.axhline(declared[0], color=color, ls="--", lw=1.2, label=f"{origin} w_min, w_max")
            ax.axhline(declared[1], color=color, ls="--", lw=1.2)
        low = min(lo + ([declared[0]] if declared else []))
        if low > 0 and low < 1e-3:
            ax.set_yscale("log")
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.set_xlabel("teacher k")
        ax.set_ylabel("weight w_k")
        ax.set_title("weight range per teacher", fontsize=10)
        ax.legend(fontsize=7, loc="best")

    return plots.img(draw, f"observed weight range per teacher of {item.item} against the {origin} bounds")


def _lipschitz_plot(plots: _Plots, item: ItemRun) -> str:
    rep = item.report
    if rep is None:
        return ""
    res = next((r for r in rep.results if AXIOMS[r.axiom].property == "regularity"), None)
    est = (res.estimate or {}) if res else {}
    radii, ratios = _finite(est.get("radii")), _finite(est.get("max_ratio_by_radius"))
    if not radii or not ratios or len(radii) != len(ratios):
        return ""
    pts = [(r, q) for r, q in zip(radii, ratios, strict=False) if r > 0 and q > 0]
    if len(pts) < 2:
        return ""
    declared = est.get("declared")

    def draw(ax: Any) -> None:
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", ms=3, color="#8250df",
                label="largest ‖Δw‖∞ / d")
        if isinstance(declared, (int, float)) and declared > 0:
            ax.axhline(declared, color="#cf222e" if res.status == "fail" else "#1a7f37", ls="--", lw=1.2,
                       label=f"declared L = {declared:.3g}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.invert_xaxis()
        ax.set_xlabel(f"radius in {est.get('metric', 'input metric')}")
        ax.set_ylabel("ratio")
        ax.set_title("Lipschitz ratio as the radius shrinks", fontsize=10)
        ax.legend(fontsize=7, loc="best")

    return plots.img(draw, f"Lipschitz ratio of {item.item} against the radius")


def _status_cell(o: Outcome) -> str:
    cls = f"st-{o.status}" + (" expfail" if o.expected != "pass" and o.matched else "")
    title = f"{o.axiom}: {o.status} (expected {o.expected})"
    return f"<td class='{cls}' title='{_e(title)}'>{_MARK[o.status]}</td>"


def _verdict_html(v: str) -> str:
    return {"ok": "<span class='ok'>as expected</span>", "known": "<span class='warn'>known (baseline)</span>",
            "unexpected": "<span class='bad'>unexpected</span>"}[v]


def _item_html(run: Run, item: ItemRun, plots: _Plots, suite_name: str) -> str:
    verdict = _item_verdict(item)
    rep = item.report
    scale = rep.scale if rep else (item.outcomes[0].scale if item.outcomes else "")
    parts = [f"<details class='item' id='{_anchor(suite_name, item.item)}'{' open' if verdict != 'ok' else ''}>",
             f"<summary><h3 style='display:inline'>{_HTML_ICON[verdict]} <code>{_e(item.item)}</code></h3> "
             f"<span class='muted'>{_e(scale)} scale"
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
            parts.append("<details><summary>declared spec</summary>" + _dict_html(spec) + "</details>")
    rows = []
    for o in item.outcomes:
        rows.append(f"<tr><td><code>{_e(o.axiom)}</code></td><td>{_e(o.paper_ref)}</td>{_status_cell(o)}"
                    f"<td>{_e(o.status)}</td><td>{_e(o.expected)}</td><td>{_verdict_html(o.verdict)}</td>"
                    f"<td>{_e(o.message)}</td></tr>")
    parts.append("<table><tr><th>check</th><th>paper</th><th></th><th>status</th><th>expected</th><th>verdict</th>"
                 "<th>message</th></tr>" + "".join(rows) + "</table>")
    if plots.available:
        imgs = _weight_plot(plots, item) + _lipschitz_plot(plots, item)
        if imgs:
            parts.append(f"<div class='plots'>{imgs}</div>")
    for o in item.outcomes:
        if o.status in ("fail", "error") or not o.matched:
            parts.append(f"<h4>{_e(o.axiom)}: {_e(o.status)} <span class='muted'>(expected {_e(o.expected)})</span></h4>")
            parts.append(f"<p>{_e(o.message)}</p>")
            if o.reproduce:
                parts.append(f"<p>Reproduce: <code>{_e(o.reproduce)}</code></p>")
            if o.counterexample:
                parts.append("<p>Counterexample:</p>" + _value_html(o.counterexample))
    parts.append("</details>")
    return "\n".join(parts)


def to_html(run: Run) -> str:
    """A self-contained page (inline CSS, plots as base64 PNG); every user string escaped."""
    plots = _Plots()
    c = run.counts()
    body = [f"<h1>axiomcheck report</h1><p class='muted'>{_e(_summary_line(run))}</p>",
            f"<div class='banner {'ok' if run.ok else 'bad'}'>{_e(_headline(run, _HTML_ICON))}</div>"]
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
        body.append("<h2>Unexpected verdicts</h2><table><tr><th>suite</th><th>operator</th><th>check</th>"
                    "<th>expected</th><th>got</th><th>reproduce</th></tr>")
        for o in unexpected:
            body.append(f"<tr><td>{_e(o.suite)}</td><td><a href='#{_anchor(o.suite, o.item)}'><code>{_e(o.item)}"
                        f"</code></a></td><td><code>{_e(o.axiom)}</code></td><td>{_e(o.expected)}</td>"
                        f"<td>{_e(o.status)}</td><td><code>{_e(o.reproduce or '')}</code></td></tr>")
        body.append("</table>")
    body.append("<h2>Overview</h2><p class='muted'>✓ pass · ✗ fail · ! error · – not applicable; a dashed outline "
                "marks a failure the suite expects.</p>")
    heads = "".join(f"<th title='{p}'>{_PROP_LABEL[p]}</th>" for p in _PROPS)
    body.append(f"<table class='matrix'><tr><th>suite</th><th>operator</th><th>scale</th>{heads}<th>verdict</th></tr>")
    for s in run.suites:
        for i in s.items:
            by_prop = {AXIOMS[o.axiom].property: o for o in i.outcomes if o.axiom in AXIOMS}
            cells = "".join(_status_cell(by_prop[p]) if p in by_prop else "<td></td>" for p in _PROPS)
            scale = i.outcomes[0].scale if i.outcomes else ""
            body.append(f"<tr><td>{_e(s.name)}</td><td class='name'><a href='#{_anchor(s.name, i.item)}'><code>"
                        f"{_e(i.item)}</code></a></td><td>{_e(scale)}</td>{cells}<td>{_HTML_ICON[_item_verdict(i)]}</td></tr>")
    body.append("</table>")
    for s in run.suites:
        body.append(f"<h2>Suite {_e(s.name)}</h2>")
        if s.path:
            body.append(f"<p class='muted'><code>{_e(s.path)}</code></p>")
        if s.description:
            body.append(f"<p>{_e(s.description)}</p>")
        body.extend(_item_html(run, i, plots, s.name) for i in s.items)
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>axiomcheck report — {_e(_headline(run, _HTML_ICON))}</title><style>{_CSS}</style></head>"
            "<body><main>\n" + "\n".join(body) + "\n</main></body></html>\n")


WRITERS: dict[str, Callable[[Run], str]] = {"json": to_json, "junit": to_junit, "markdown": to_markdown,
                                            "html": to_html}
