"""How results show themselves outside a notebook's kernel: `_repr_html_` as a string, `__rich__` on a console.

tests/test_notebook.py runs a real notebook; these check the rest in-process:
the HTML needs neither Jupyter nor rich, the rich form is the terminal output
itself (the same tables, byte for byte), hostile strings stay text, each
fragment's CSS and anchors are its own, and the guard's results stay a tuple.
"""

from __future__ import annotations

import io
import pickle
import re
import sys

import pytest

from axiomcheck.guard.runtime import GuardResults
from axiomcheck.output import display
from axiomcheck.output.html import SCOPE, overview_html, scoped_css
from axiomcheck.output.text import Renderer, print_report
from axiomcheck.report.results import Report, Result, Run
from tests.test_writers import EVIL, make_run

FAIL = Result("context.normalization", "III.18", "fail", f"Σ_k w_k must be 1, got 1.2 {EVIL}",
              counterexample={"weights": [0.3, 0.3, 0.3, 0.3]}, reproduce="axiomcheck verify x")
PASS = Result("context.positivity", "III.19", "pass", "holds on 12 sampled inputs")
RUNTIME = (Result("runtime.normalization", "III.1", "pass", "held"),
           Result("runtime.bounds", "III.3", "fail", f"w_1 = 0.9 {EVIL}",
                  counterexample={"step": 7, "position": 1, "weights": [0.05, 0.9, 0.05]}))


def _report(name: str = "op") -> Report:
    return Report(operator=name, scale="context", results=(FAIL, PASS), seed=3)


def test_html_needs_neither_jupyter_nor_rich(monkeypatch):
    for name in ("rich", "IPython", "ipykernel", "nbformat", "nbclient", "jupyter_client", "matplotlib"):
        monkeypatch.setitem(sys.modules, name, None)  # importing any of them now fails
    for obj in (_report(), FAIL, GuardResults(RUNTIME), make_run()):
        html = obj._repr_html_()
        assert isinstance(html, str) and html.startswith("<style>div.axiomcheck-nb{")
        assert "context.normalization" in html or "runtime.bounds" in html


def test_rich_shows_the_terminal_tables(monkeypatch):
    from rich.console import Console

    def console(buf):
        return Console(file=buf, width=160, force_terminal=True, no_color=False, highlight=False, soft_wrap=False)

    monkeypatch.setenv("COLUMNS", "160")
    for obj, draw in ((_report(), lambda r: r.results("op (context scale, seed 3)", _report().results)),
                      (make_run(), lambda r: r.run(make_run()))):
        shown, printed = io.StringIO(), io.StringIO()
        console(shown).print(obj)
        terminal = Renderer(printed, fancy=True)
        terminal._console = console(printed)
        draw(terminal)
        assert shown.getvalue() == printed.getvalue() and "context.normalization" in shown.getvalue()
    plain = io.StringIO()
    print_report(_report(), plain, fancy=True)
    assert "op (context scale, seed 3): FAILED: context.normalization" in plain.getvalue()

    buf = io.StringIO()
    console(buf).print(GuardResults(RUNTIME))
    out = buf.getvalue()
    assert "weights observed in training: FAILED: runtime.bounds" in out and "[observed in training]" in out
    buf = io.StringIO()
    console(buf).print(FAIL)
    assert "context.normalization: FAILED: context.normalization" in buf.getvalue()
    assert "\x1b[" in buf.getvalue()  # styled by rich: colour codes on a terminal
    assert "reproduce context.normalization: axiomcheck verify x" in buf.getvalue()


def test_rich_rendering_follows_the_console_width():
    from rich.console import Console

    widths = {}
    for w in (60, 140):
        buf = io.StringIO()
        Console(file=buf, width=w, force_terminal=False).print(_report())
        widths[w] = max(len(line) for line in buf.getvalue().splitlines())
        assert widths[w] <= w
    assert widths[60] < widths[140]


def test_hostile_strings_stay_text():
    for obj in (_report(EVIL), FAIL, GuardResults(RUNTIME), make_run()):
        html = display.html(obj)
        assert "<script>" not in html and "&lt;script&gt;" in html
    page = display.html(_report(EVIL))
    assert "&#x27;" in page or "&#39;" in page  # quotes in a name cannot end an attribute


def test_fragment_css_is_scoped_and_loads_nothing():
    html = display.html(make_run())
    css = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
    selectors = [s.strip() for block in css.split("}") if "{" in block for s in block.split("{")[0].split(",")]
    assert selectors and all(s == SCOPE or s.startswith(SCOPE + " ") for s in selectors)
    assert "://" not in html and "url(" not in css and "@import" not in css and "<img" not in html
    assert scoped_css("a,b>c{x:y} d{z:w}", ".s") == ".s a,.s b>c{x:y}.s d{z:w}"


def test_each_fragment_links_to_its_own_sections():
    a, b = overview_html(make_run(), "one-"), overview_html(make_run(), "two-")
    for html, prefix in ((a, "one-"), (b, "two-")):
        ids = set(re.findall(r"id='([^']+)'", html))
        hrefs = set(re.findall(r"href='#([^']+)'", html))
        assert hrefs and hrefs <= ids and all(i.startswith(prefix) for i in ids)
    first, second = display.html(_report()), display.html(_report())
    assert set(re.findall(r"id='([^']+)'", first)).isdisjoint(re.findall(r"id='([^']+)'", second))


def test_a_report_shows_as_the_run_verify_writes():
    run = display.report_run(_report())
    assert isinstance(run, Run) and [s.name for s in run.suites] == ["verify"]
    assert [(o.axiom, o.status, o.expected, o.verdict) for o in run.outcomes()] == [
        ("context.normalization", "fail", "pass", "unexpected"), ("context.positivity", "pass", "pass", "ok")]
    assert run.outcomes()[0].counterexample == FAIL.counterexample


def test_guard_results_stay_a_tuple():
    g = GuardResults(RUNTIME)
    assert g == RUNTIME and isinstance(g, tuple) and g[1] is RUNTIME[1] and len(g) == 2
    assert pickle.loads(pickle.dumps(g)) == g and type(pickle.loads(pickle.dumps(g))) is GuardResults
    assert repr(g) == repr(RUNTIME)
    html = g._repr_html_()
    assert "weights observed in training" in html and "runtime.bounds" in html


def test_other_objects_are_refused():
    with pytest.raises(TypeError, match="cannot display a int"):
        display.html(3)
    with pytest.raises(TypeError, match="cannot display a tuple"):
        display.rich((1, 2))


def test_brackets_in_names_and_messages_are_text_on_a_rich_console():
    """Rich reads "[...]" as markup: "[/x]" raised MarkupError, "[bold]" restyled the line and vanished."""
    rep = Report("[bold]op", "context", (Result("context.normalization", "III.18", "fail", "got 2 [/x]"),
                                         Result("runtime.bounds", "III.3", "pass", "held")))
    printed = io.StringIO()
    print_report(rep, printed, fancy=True)
    from rich.console import Console

    shown = io.StringIO()
    Console(file=shown, width=120, force_terminal=False).print(rep)
    for out in (printed.getvalue(), shown.getvalue()):
        assert "[bold]op (context scale" in out and "got 2 [/x]" in out and "[observed in training] held" in out
