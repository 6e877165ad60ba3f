r"""What the output formats share: clipping, escaping of control characters, the headline.

Operator messages are user text: they may hold control characters (a
terminal escape, a NUL) or lone surrogates.  `visible` spells those out
(`\x1b`, `\ud800`) so terminal output, Markdown and HTML show them without
acting on them; `encodable` keeps every other character.

>>> visible("a\x1b[31mb\x00c\ud800")
'a\\x1b[31mb\\x00c\\ud800'
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

from ..axioms import AXIOMS
from ..report.results import Outcome, Run

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape(m: re.Match[str]) -> str:
    c = ord(m.group(0))
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def visible(text: Any, *, newlines: bool = True) -> str:
    """`text` with control characters (and lone surrogates) written as escapes; newlines kept or spelled out."""
    s = _CONTROL.sub(_escape, str(text))
    return s if newlines else s.replace("\r", "\\r").replace("\n", "\\n")


def escape(text: Any) -> str:
    """User text for HTML, in an element or a quoted attribute: control characters spelled out, then escaped."""
    return html.escape(visible(text), quote=True)


def encodable(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD, so it encodes as UTF-8."""
    return _SURROGATE.sub("\ufffd", text)


def clip(text: str, n: int) -> str:
    text = str(text)
    return text if len(text) <= n else text[: n - 1] + "…"


#: How every format labels a result the weight guard observed in training (a `runtime.*` check).
TRAINING_LABEL = "observed in training"


def observed_in_training(axiom: str) -> bool:
    """Whether `axiom` is a property the weight guard observed in training (kind "runtime")."""
    a = AXIOMS.get(axiom)
    return a is not None and a.kind == "runtime"


ICON = {"ok": "✅", "unexpected": "❌", "known": "⚠️"}
# The HTML page uses text glyphs every font has: emoji fonts are not everywhere.
HTML_ICON = {"ok": "✓", "unexpected": "✗", "known": "!"}


def headline(run: Run, icons: dict[str, str] = ICON) -> str:
    c = run.counts()
    if run.ok:
        head = f"{icons['ok']} all {c['checks']} checks as expected"
    else:
        head = f"{icons['unexpected']} {c['unexpected']} unexpected verdict{'s' if c['unexpected'] != 1 else ''}"
        if c["internal_errors"]:
            head += f", {c['internal_errors']} internal error{'s' if c['internal_errors'] != 1 else ''}"
    return head


def run_mark(run: Run) -> str:
    """The line that names the run in each report file (a comment in JUnit, Markdown and HTML).

    A run id is hexadecimal, so the line is safe inside an XML or HTML comment.
    """
    return f"axiomcheck run {run.run_id}"


def summary_line(run: Run) -> str:
    c = run.counts()
    parts = [f"{c['operators']} operators", f"{c['checks']} checks", f"{c['pass']} pass",
             f"{c['expected_fail']} fail as expected", f"{c['skipped']} not applicable"]
    if c["known"]:
        parts.append(f"{c['known']} known (baseline)")
    if c["stale"]:
        parts.append(f"{c['stale']} stale baseline entries")
    parts.append(f"{run.elapsed_s:.1f} s")
    return " · ".join(parts)




#: plots are drawn at this many image pixels per CSS pixel, so they stay sharp on HiDPI screens
PLOT_SCALE = 2


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) in pixels of PNG bytes, read from the IHDR chunk.

    >>> png_size(b"\\x89PNG\\r\\n\\x1a\\n" + b"\\x00\\x00\\x00\\rIHDR" + (640).to_bytes(4, "big") + (480).to_bytes(4, "big"))
    (640, 480)
    """
    if len(data) < 24 or data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG image")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def png_img(data: bytes, alt_html: str, scale: int = PLOT_SCALE) -> str:
    """An <img> of PNG bytes drawn at `scale` image pixels per CSS pixel (its width/height attributes in CSS pixels).

    `alt_html` must already be escaped for an attribute.
    """
    import base64

    w, h = png_size(data)
    return (f"<img alt='{alt_html}' src='data:image/png;base64,{base64.b64encode(data).decode('ascii')}' "
            f"width='{max(1, round(w / scale))}' height='{max(1, round(h / scale))}'>")


#: A result that points at the check carrying its error ("not run: ... (see <id>)").
POINTER = re.compile(r"^not run: .*\(see ([\w.]+)\)$")


def repeats(outcomes: Sequence[Outcome]) -> list[tuple[Outcome, list[Outcome]]]:
    """Each outcome to show, with the later ones of its item that only repeat it: the same status and
    message, or "not run: ... (see <its check>)" — an operator that fails on every call is told once."""
    shown: list[tuple[Outcome, list[Outcome]]] = []
    first: dict[tuple[Any, ...], tuple[Outcome, list[Outcome]]] = {}
    for o in outcomes:
        item = (o.suite, o.item)
        pointer = POINTER.match(o.message or "")
        lead = first.get((*item, "message", o.status, o.message))
        if lead is None and pointer is not None:
            lead = first.get((*item, "axiom", pointer.group(1)))
        if lead is not None and o.status in ("fail", "error") and not (o.status == "fail" and o.counterexample):
            lead[1].append(o)
            continue
        entry: tuple[Outcome, list[Outcome]] = (o, [])
        shown.append(entry)
        first.setdefault((*item, "message", o.status, o.message), entry)
        first[(*item, "axiom", o.axiom)] = entry
    return shown
