"""Report files: JSON (versioned schema), JUnit XML and Markdown; `write_all` writes them with the HTML page.

Each writer turns a `Run` (plain data, see `axiomcheck.report.results`) into text;
`write_all` puts them in a folder as one set: every file is written in full
first, then all are renamed into place under a lock on the folder
(`fsio.publish`), so an interrupted run never leaves half a file and two runs
writing into one folder never leave a mix of their reports.  Each file names
its run (`run_id`).  User text (operator messages) is made safe for each
format: strict UTF-8 JSON, XML 1.0 characters only, Markdown without control
characters.

>>> from axiomcheck.report.results import Run
>>> to_json(Run(suites=[])).startswith('{')
True
"""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..report.fsio import atomic_write, publish
from ..report.results import RUN_SCHEMA, RUN_SCHEMA_VERSION, Outcome, Run
from .certified import (
    certificates,
    junit_assumptions,
    junit_certificate,
    markdown_section,
    result_of,
)
from .common import (
    ICON,
    TRAINING_LABEL,
    clip,
    encodable,
    headline,
    observed_in_training,
    run_mark,
    summary_line,
    visible,
)

__all__ = ["COUNTEREXAMPLES", "FILENAMES", "FILE_FORMATS", "MARKDOWN_BUDGET", "RUN_JSON_SCHEMA", "WRITERS", "atomic_write", "render",
           "to_json", "to_junit", "to_markdown", "write_all",
           "write_counterexamples"]

#: What each format is written as under `--output DIR`.
FILENAMES = {"json": "report.json", "junit": "junit.xml", "markdown": "summary.md", "html": "report.html"}
FILE_FORMATS = tuple(FILENAMES)

#: Budget for the Markdown summary (GitHub's job summary limit is 1 MiB).
MARKDOWN_BUDGET = 400_000

# ============================================================================= files


def render(run: Run, fmt: str) -> str:
    """The text of `run` in one of FILE_FORMATS (the HTML page comes from `axiomcheck.output.html`)."""
    if fmt == "html":
        from .html import to_html

        return to_html(run)
    return WRITERS[fmt](run)


def write_all(run: Run, folder: str | Path, formats: Iterable[str] = FILE_FORMATS) -> dict[str, Path]:
    """Write each format into `folder` (created if needed) as one set; returns format -> path.

    Counterexamples too large for the reports are written beside them as .npz
    (`write_counterexamples`); they appear as "counterexample:<item> <axiom>" -> path.
    Everything is rendered first, then published at once (`fsio.publish`): two
    runs writing into one folder never leave a mix, and report files of formats
    this run did not write, or counterexamples it did not find, are removed, so
    every file in the set names this run (`run.run_id`).
    """
    names = {fmt: FILENAMES[fmt] for fmt in formats}
    files = {name: encodable(render(run, fmt)).encode("utf-8") for fmt, name in names.items()}
    saved = _counterexample_files(run)
    files.update({rel: data for _, rel, data in saved})
    written = publish(folder, files, owned=(*FILENAMES.values(), COUNTEREXAMPLES))
    out = {fmt: written[name] for fmt, name in names.items()}
    out.update({key: written[rel] for key, rel, _ in saved})
    return out


#: The folder, inside the reports folder, of the counterexamples saved as .npz.
COUNTEREXAMPLES = "counterexamples"


def counterexample_name(suite: str, item: str, axiom: str) -> str:
    """The file name of one saved counterexample (characters a file name may hold).

    >>> counterexample_name("verify", "ops.py:my op", "token.normalization")
    'verify--ops.py_my_op--token.normalization.npz'
    """
    safe = lambda t: re.sub(r"[^A-Za-z0-9._-]+", "_", str(t)).strip("_") or "_"  # noqa: E731
    return f"{safe(suite)}--{safe(item)}--{safe(axiom)}.npz"


def write_counterexamples(run: Run, folder: str | Path) -> dict[str, Path]:
    """Each large counterexample of `run` (a result with `arrays`) as .npz in `folder`/counterexamples."""
    out = {}
    for key, rel, data in _counterexample_files(run):
        path = Path(folder) / rel
        atomic_write(path, data)
        out[key] = path
    return out


def _counterexample_files(run: Run) -> list[tuple[str, str, bytes]]:
    """("counterexample:<item> <axiom>", path relative to the reports folder, .npz bytes) per large counterexample."""
    from ..report.saved import to_bytes

    out = []
    for item in run.items():
        if item.report is None:
            continue
        for r in item.report.results:
            if not r.arrays:
                continue
            rel = f"{COUNTEREXAMPLES}/{counterexample_name(item.suite, item.item, r.axiom)}"
            data = to_bytes(r, operator=item.report.operator, world=item.report.world, seed=item.report.seed,
                            tolerance=item.settings.get("tolerance"), run_id=run.run_id)
            out.append((f"counterexample:{item.item} {r.axiom}", rel, data))
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
        "run_id": {"type": "string"},
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
    return encodable(json.dumps(run.to_dict(), ensure_ascii=False, allow_nan=False, separators=(",", ":"))) + "\n"


# ============================================================================= JUnit XML

_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _x(text: Any) -> str:
    """Text XML 1.0 can hold: each forbidden character (controls, lone surrogates) written as an escape."""
    return _XML_BAD.sub("\ufffd", visible(text))


def _where(o: Outcome) -> str:
    """", observed in training" for a result of the weight guard, else ""."""
    return f", {TRAINING_LABEL}" if observed_in_training(o.axiom) else ""


def _details(o: Outcome) -> str:
    lines = [f"{o.axiom} (paper {o.paper_ref}{_where(o)}): expected {o.expected}, got {o.status}", o.message]
    if o.reproduce:
        lines.append(f"reproduce: {o.reproduce}")
    if o.counterexample:
        lines.append("counterexample: " + clip(json.dumps(o.counterexample, ensure_ascii=False), 4000))
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
                if observed_in_training(o.axiom):
                    props = ET.SubElement(tc, "properties")
                    ET.SubElement(props, "property", name="observed", value="in training")
                cert = certificates(item).get(o.axiom)
                if cert is not None:
                    junit_certificate(tc, cert, result_of(item, o.axiom), _x)
                if o.verdict == "known":
                    s_counts["skipped"] += 1
                    ET.SubElement(tc, "skipped", message=_x(f"known violation (baseline {run.baseline}): "
                                                            f"{clip(o.message, 500)}"))
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
                                       message=_x(f"expected {o.expected}, got {o.status}: {clip(o.message, 500)}"))
                    el.text = _x(_details(o))
                elif o.status == "skipped":
                    s_counts["skipped"] += 1
                    ET.SubElement(tc, "skipped", message=_x(clip(o.message, 500)))
                elif o.expected != "pass":
                    out = ET.SubElement(tc, "system-out")
                    out.text = _x(f"as expected: {o.status} — {_details(o)}")
        junit_assumptions(ts, suite.items, _x)
        for k, v in s_counts.items():
            ts.set(k, str(v))
            counts[k] += v
    for k, v in counts.items():
        root.set(k, str(v))
    root.set("time", f"{run.elapsed_s:.3f}")
    ET.indent(root)
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + f"<!-- {run_mark(run)} -->\n"
            + ET.tostring(root, encoding="unicode") + "\n")


# ============================================================================= Markdown


def _md(text: Any) -> str:
    """Plain text safe in a Markdown table cell (no raw HTML, no column breaks, no control characters)."""
    s = visible(str(text).replace("\r", " ").replace("\n", " "))
    s = html.escape(s, quote=False)
    return s.replace("|", "\\|").replace("`", "'")


def _md_code(text: Any) -> str:
    """An inline code span (its content is shown literally; a pipe is escaped so a table cell holds)."""
    s = visible(str(text).replace("\r", " ").replace("\n", " ")).replace("|", "\\|").replace("``", "` `")
    return f"`` {s} ``" if "`" in s else f"`{s}`"


def _fence(text: str, lang: str = "") -> str:
    text = visible(text)
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}{lang}\n{text}\n{fence}"


def to_markdown(run: Run, budget: int = MARKDOWN_BUDGET) -> str:
    """A summary fit for a CI job summary ($GITHUB_STEP_SUMMARY), kept under `budget` characters."""
    out: list[str] = [f"## axiomcheck: {headline(run)}", "", summary_line(run), ""]
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
            if i.outcomes and all(observed_in_training(o.axiom) for o in i.outcomes):
                notes.append(TRAINING_LABEL)
            bad = [o.axiom for o in i.outcomes if o.verdict == "unexpected"]
            if bad:
                notes.append("unexpected: " + ", ".join(bad))
            out.append(f"| {ICON[i.verdict]} | {_md_code(i.item)} | {scale} | {st.count('pass')} | "
                       f"{st.count('fail')} | {st.count('error')} | {st.count('skipped')} | {_md('; '.join(notes))} |")
        out.append("")
    unexpected = [o for o in run.outcomes() if o.verdict == "unexpected"]
    if unexpected:
        out += ["### Unexpected verdicts", ""]
        used = sum(len(x) + 1 for x in out)
        for n, o in enumerate(unexpected):
            block = [f"**{_md(o.suite)} · {_md_code(o.item)} · {_md_code(o.axiom)}** (paper {_md(o.paper_ref)}"
                     f"{_where(o)}): "
                     f"expected **{o.expected}**, got **{o.status}**", "", "> " + _md(clip(o.message, 600)), ""]
            if o.reproduce:
                block += [_fence(o.reproduce, "sh"), ""]
            if o.counterexample:
                ce = clip(json.dumps(o.counterexample, ensure_ascii=False), 1500)
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
        out += [f"| {_md_code(o.item)} | {_md_code(o.axiom)} | {o.status} | {_md(clip(o.message, 160))} |"
                for o in known[:200]]
        out.append("")
    if run.stale:
        out += ["### Stale baseline entries (they pass now; remove them)", ""]
        out += [f"- {_md_code(e.get('operator'))} · {_md_code(e.get('axiom'))}" for e in run.stale]
        out.append("")
    out += markdown_section(run, _md, _md_code)
    expected = [o for o in run.outcomes() if o.verdict == "ok" and o.expected != "pass"]
    if expected:
        out += ["<details><summary>Failures that are expected (by design)</summary>", "",
                "| operator | axiom | message | reproduce |", "|---|---|---|---|"]
        out += [f"| {_md_code(o.item)} | {_md_code(o.axiom)} | {_md(clip(o.message, 200))} | "
                f"{_md_code(o.reproduce or '')} |" for o in expected[:300]]
        out += ["", "</details>", ""]
    text = "\n".join(out)
    if len(text) > budget:  # the tables alone overflow: keep the head, say so
        text = text[: budget - 200] + "\n\n*… summary truncated; see the JSON or HTML report.*\n"
    return text + f"\n<!-- {run_mark(run)} -->\n"


WRITERS: dict[str, Callable[[Run], str]] = {"json": to_json, "junit": to_junit, "markdown": to_markdown}
