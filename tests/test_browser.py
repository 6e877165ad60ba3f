"""The two pages a person reads, `report.html` and `dynamics.html`, checked as HTML and in a real browser.

Without a browser: column headings are words (no snake_case), every failure
the page shows says whether it was expected, and every plot is drawn at twice
its CSS size.  With headless Chromium (Debian's `chromium`; `.ci/run` installs
it when missing, the browser tests skip with the reason where it is absent):
at a 1280 px wide window neither page scrolls sideways, collapsed or with
every <details> open, and a screenshot of each state is saved under
`reports/screenshots/` (kept after the run, ignored by git) for a person to look at.
The notebook fragment (`_repr_html_`), in a page styled like a notebook's, leaves
the notebook's own elements as they were, keeps its own colours and layout, and
fits a 900 px output without scrolling sideways.

report.html comes from a small in-process run of a suite written here;
dynamics.html from `tests/data/dynamics_quick.json`, a trimmed `dynamics.json`
of the quick demo (rounded numbers, only the estimates the page draws).
"""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from axiomcheck.output.common import png_size

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "reports" / "screenshots"
DYNAMICS_DATA = Path(__file__).resolve().parent / "data" / "dynamics_quick.json"
WIDTH = 1280

#: One expected failure with a 4 × 16 probability counterexample, one unexpected failure (the page's
#: "Unexpected verdicts" table), each with the weight-range and Lipschitz plots.
SUITE = """
[suite]
name = "layout"
description = "Two items for the page layout: an expected failure and an unexpected one."
seed = 0
max_examples = 15

[suite.world]
teachers = 4
vocab = 16
context_dim = 3
tasks = 3

[[item]]
operator = "indep_token_normalization"
axioms = ["token.normalization", "token.bounded_influence", "token.regularity"]
expect = { "token.normalization" = "fail" }

[[item]]
operator = "indep_token_regularity"
axioms = ["token.bounded_influence", "token.regularity"]
"""


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    """{"report": report.html, "dynamics": dynamics.html}, built in a temporary folder."""
    pytest.importorskip("matplotlib")
    from axiomcheck.dynamics.page import write_html
    from axiomcheck.output.files import write_all
    from axiomcheck.suites import loads, run

    out = tmp_path_factory.mktemp("pages")
    report = write_all(run([loads(SUITE, "layout.toml")]), out, ["html"])["html"]
    dynamics = out / "dynamics.html"
    write_html(json.loads(DYNAMICS_DATA.read_text(encoding="utf-8")), str(dynamics))
    return {"report": Path(report), "dynamics": dynamics}


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- the HTML itself


def snake_case_headings(page: str) -> list[str]:
    """snake_case words in the page's column headings; text inside <code> (a field's own name) does not count."""
    heads = re.findall(r"<th\b[^>]*>(.*?)</th>", page, re.S)
    words = set()
    for h in heads:
        text = html.unescape(re.sub(r"<code>.*?</code>|<[^>]+>", " ", h, flags=re.S))
        words.update(re.findall(r"\b[A-Za-z][A-Za-z0-9]*_[A-Za-z0-9_]+\b", text))
    return sorted(words)


def test_snake_case_headings_finds_what_it_should():
    assert snake_case_headings("<tr><th>accuracy_clean</th><th>Time (s)</th><th><code>w_min</code></th></tr>") \
        == ["accuracy_clean"]


@pytest.mark.parametrize("name", ["report", "dynamics"])
def test_column_headings_are_words_not_snake_case(pages, name):
    assert snake_case_headings(_text(pages[name])) == []


def test_report_marks_the_expected_failure_everywhere_it_shows(pages):
    page = _text(pages["report"])
    # the overview cell, the item's status cell and its status word, the failure's own heading
    assert re.search(r"<td class='st-fail expfail' title='token\.normalization: fail \(expected fail\)'>✗<small>exp"
                     r"</small></td>", page)
    row = re.search(r"<tr><td><code>token\.normalization</code>.*?</tr>", page, re.S).group(0)
    assert "expfail" in row and "fail <span class='tag exp'>expected</span>" in row
    assert re.search(r"<h4><code>token\.normalization</code>: fail <span class='tag exp'>expected</span></h4>", page)
    # the unexpected failure is tagged as such, never as expected
    assert re.search(r"<h4><code>token\.regularity</code>: fail <span class='tag unexp'>unexpected</span>", page)


def test_report_wide_tables_sit_in_their_own_scroll_box(pages):
    page = _text(pages["report"])
    assert "<div class='scroll'><table class='matrix'>" in page
    assert "<p>Counterexample:</p><div class='scroll'><table" in page
    assert ".scroll{max-width:100%;overflow-x:auto}" in page


def test_dynamics_tags_every_failure_expected_or_unexpected(pages):
    page = _text(pages["dynamics"])
    rows = re.findall(r"<tr class='(?:fail|error)[^']*'>.*?</tr>", page, re.S)
    assert len(rows) >= 12  # the negative controls, Cor. VIII.7, the infeasible target, the contrarian map
    for row in rows:
        assert ("class='tag exp'" in row) != ("class='tag unexp'" in row), row[:200]
    preservation = [r for r in rows if "dynamics.safety_preservation" in r]
    assert preservation and all("xfail" in r and "class='tag exp'" in r for r in preservation)


def _images(page: str) -> list[tuple[int, int, int]]:
    """(CSS width attribute, PNG pixel width, PNG pixel height) of every embedded image."""
    out = []
    for tag in re.findall(r"<img\b[^>]*>", page):
        css = re.search(r"\bwidth='(\d+)'", tag)
        data = re.search(r"src='data:image/png;base64,([^']+)'", tag)
        assert css and data, f"an image without a CSS width or PNG data: {tag[:120]}"
        w, h = png_size(base64.b64decode(data.group(1)))
        out.append((int(css.group(1)), w, h))
    return out


@pytest.mark.parametrize("name, count", [("report", 4), ("dynamics", 4)])
def test_plots_are_drawn_at_twice_their_css_size(pages, name, count):
    images = _images(_text(pages[name]))
    assert len(images) == count
    for css, w, _ in images:
        assert w >= 2 * css - 1, f"a plot of {w} px shown {css} px wide is not drawn at 2x"


# ----------------------------------------------------------------------------- in a browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium on PATH (Debian: apt-get install chromium; .ci/run installs it)")

#: appended to a copy of the page: measures it as it loads (collapsed), opens every <details>, measures it again
#: (expanded), and writes both into the title, which `--dump-dom` prints
_PROBE = """<script>(function(){
var de = document.documentElement;
function measure(){ return de.scrollWidth + "," + window.innerWidth + "," + de.scrollHeight; }
var collapsed = measure();
document.querySelectorAll('details').forEach(function(d){ d.open = true; });
document.title = "collapsed=" + collapsed + ";expanded=" + measure();
})();</script>"""
_OPEN_ALL = "<script>document.querySelectorAll('details').forEach(function(d){ d.open = true; });</script>"


def _chromium(profile: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
           "--hide-scrollbars", "--force-device-scale-factor=1", "--virtual-time-budget=2000", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def _with(page: Path, script: str, out: Path) -> Path:
    """A copy of `page` with `script` run at the end of its body."""
    text = _text(page)
    out.write_text(text.replace("</body>", script + "</body>") if "</body>" in text else text + script,
                   encoding="utf-8")
    return out


def _measure(page: Path, tmp: Path) -> dict[str, dict[str, int]]:
    """{"collapsed"|"expanded": {"scrollWidth", "innerWidth", "scrollHeight"}} at a 1280 px wide window."""
    copy = _with(page, _PROBE, tmp / f"{page.stem}-probe.html")
    done = _chromium(tmp / "profile", f"--window-size={WIDTH},900", "--dump-dom", copy.as_uri())
    title = re.search(r"<title>collapsed=([\d,]+);expanded=([\d,]+)</title>", done.stdout)
    assert title, f"chromium wrote no measures (exit {done.returncode}): {done.stderr[-800:]}"
    keys = ("scrollWidth", "innerWidth", "scrollHeight")
    return {state: dict(zip(keys, map(int, title.group(n).split(","))))
            for n, state in ((1, "collapsed"), (2, "expanded"))}


def _screenshot(page: Path, state: str, height: int, tmp: Path) -> Path:
    """The whole page (up to 16000 px tall) in `state`, saved as reports/screenshots/<page>-<state>.png."""
    copy = _with(page, _OPEN_ALL if state == "expanded" else "", tmp / f"{page.stem}-{state}.html")
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / f"{page.stem}-{state}.png"
    shot.unlink(missing_ok=True)
    _chromium(tmp / "profile", f"--window-size={WIDTH},{min(max(height, 600), 16000)}", f"--screenshot={shot}",
              copy.as_uri())
    return shot


@needs_chromium
@pytest.mark.parametrize("name", ["report", "dynamics"])
def test_page_does_not_scroll_sideways_at_1280_px_collapsed_or_expanded(pages, name, tmp_path):
    measures = _measure(pages[name], tmp_path)
    for state, m in measures.items():
        shot = _screenshot(pages[name], state, m["scrollHeight"], tmp_path)
        print(f"{name}.html {state}: scrollWidth {m['scrollWidth']}, innerWidth {m['innerWidth']}; screenshot {shot}")
        assert shot.is_file() and png_size(shot.read_bytes())[0] == WIDTH, f"no screenshot of {name} {state}"
    for state, m in measures.items():
        assert m["innerWidth"] == WIDTH, f"the window is {m['innerWidth']} px wide, not {WIDTH}"
        assert m["scrollWidth"] <= WIDTH, f"{name}.html ({state}) is {m['scrollWidth']} px wide at {WIDTH} px"


# ----------------------------------------------------------------------------- in a notebook's page

#: Rules a notebook's own stylesheet sets (JupyterLab's dark theme, roughly): coloured headings and code, striped
#: right-aligned rows, centred fixed-layout tables.
NOTEBOOK_CSS = """
body{background:#111;color:#ddd;font:14px sans-serif;margin:0;padding:16px}
.jp-RenderedHTMLCommon{color:#ddd}
.jp-RenderedHTMLCommon table{border:none;color:#ddd;font-size:12px;table-layout:fixed;margin-left:auto;margin-right:auto}
.jp-RenderedHTMLCommon td,.jp-RenderedHTMLCommon th{text-align:right;vertical-align:middle;padding:8px;border:none}
.jp-RenderedHTMLCommon tbody tr:nth-child(odd){background:#222}
.jp-RenderedHTMLCommon h2,.jp-RenderedHTMLCommon h4{color:#fff;font-size:26px}
.jp-RenderedHTMLCommon code{background:#333;color:#f88;padding:1px 5px}
.jp-OutputArea{width:900px;margin:12px 0}
"""
#: The computed styles of the notebook's own elements and of the fragments' tables, written into the title.
_STYLE_PROBE = """<script>(function(){
function st(el){ if(!el) return null; var s = getComputedStyle(el);
  return [s.color, s.backgroundColor, s.padding, s.fontSize, s.textAlign, s.borderTopWidth, s.tableLayout].join("|"); }
var own = {};
['h2', 'td', 'code', 'table', 'p'].forEach(function(t){ own[t] = st(document.querySelector('#own ' + t)); });
var cards = Array.prototype.map.call(document.querySelectorAll('div.axiomcheck-nb'), function(c){
  return {scroll: c.scrollWidth, client: c.clientWidth, td: st(c.querySelector('td')), h2: st(c.querySelector('h2'))}; });
document.title = JSON.stringify({own: own, cards: cards});
})();</script>"""


def _notebook_page(path: Path, fragments: list[str]) -> Path:
    """A page like a notebook's: its own heading, table and code, then each fragment as a cell's output."""
    outputs = "".join(f"<div class='jp-OutputArea'><div class='jp-RenderedHTMLCommon'>{f}</div></div>"
                      for f in fragments)
    path.write_text("<!DOCTYPE html><html><head><meta charset='utf-8'><style>" + NOTEBOOK_CSS + "</style></head>"
                    "<body><div id='own' class='jp-RenderedHTMLCommon'><h2>Notes</h2><p>text <code>x</code></p>"
                    "<table><tbody><tr><td>1</td></tr></tbody></table></div>" + outputs + _STYLE_PROBE
                    + "</body></html>", encoding="utf-8")
    return path


def _styles(page: Path, tmp: Path) -> dict:
    done = _chromium(tmp / "profile", "--window-size=1000,900", "--dump-dom", page.as_uri())
    title = re.search(r"<title>(.*?)</title>", done.stdout, re.S)
    assert title, f"chromium wrote no styles (exit {done.returncode}): {done.stderr[-800:]}"
    return json.loads(html.unescape(title.group(1)))


@needs_chromium
def test_notebook_fragment_styles_only_itself_and_fits_a_notebook(tmp_path):
    from axiomcheck.output.display import html as fragment
    from axiomcheck.report.results import Report, Result

    results = (Result("context.normalization", "III.18", "fail", "Σ_k w_k must be 1, got 1.2",
                      counterexample={"weights": [0.3, 0.3, 0.3, 0.3]}, reproduce="axiomcheck verify x"),
               Result("context.positivity", "III.19", "pass", "holds on 12 sampled inputs"))
    report = Report(operator="indep_context_normalization", scale="context", results=results)
    alone = _styles(_notebook_page(tmp_path / "alone.html", []), tmp_path)
    shown = _styles(_notebook_page(tmp_path / "shown.html", [fragment(report), fragment(results[0])]), tmp_path)
    assert shown["own"] == alone["own"] and all(alone["own"].values())  # the notebook's elements are untouched
    dark = "rgb(31, 35, 40)"  # the page's text colour, not the notebook's #ddd or #fff
    for card in shown["cards"]:
        assert card["td"].startswith(dark + "|") and "|left|" in card["td"] and card["td"].endswith("|auto")
        assert card["scroll"] <= card["client"], f"a fragment scrolls sideways in a 900 px output: {card}"
    assert shown["cards"][0]["h2"].startswith(dark + "|")
