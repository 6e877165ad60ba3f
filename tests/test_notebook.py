"""A real notebook, executed: what Jupyter shows for a report, a result, a suite run and the guard's results.

The notebook is built here (nbformat) and run by nbclient on an IPython kernel of
this interpreter.  Its kernelspec, Jupyter's and IPython's directories live in
the test's temporary folder (nothing is written under the home directory), and
the kernel talks over IPC sockets in that folder, not TCP ports, so two test
workers never collide.  Each cell leaves one object as its value, and the test
reads the `text/html` Jupyter received for it: the axiom ids and statuses, the
counterexample of the failing check, the escaping of a hostile operator name and
message, and that the fragment loads nothing and styles only itself.  The cells
also print the objects as JSON, so every expectation comes from the same run.
"""

from __future__ import annotations

import json
import math
import os
import sys
import textwrap
from html.parser import HTMLParser
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="the notebook test needs the dev extra: pip install -e '.[dev]'")
nbclient = pytest.importorskip("nbclient", reason="the notebook test needs the dev extra: pip install -e '.[dev]'")
pytest.importorskip("ipykernel", reason="the notebook test needs the dev extra: pip install -e '.[dev]'")

ROOT = Path(__file__).resolve().parent.parent
KERNEL = "axiomcheck-test"
EVIL_NAME = "<script>alert('x')</script> & \"q\""
EVIL_MESSAGE = "<img src=x onerror=alert(1)> & 'boom'"
#: What a fragment may contain: no script, image, link, frame, form or media element.
TAGS = {"style", "div", "b", "p", "h2", "h3", "h4", "table", "tr", "th", "td", "code", "a", "span", "details",
        "summary", "small", "wbr", "ul", "li"}

SUITE = """
[suite]
name = "notebook"
seed = 0
max_examples = 5

[[item]]
operator = "uniform_context"

[[item]]
operator = "indep_context_normalization"
expect = { "context.normalization" = "fail" }
"""

# One cell per object on show; each prints its data as JSON, then leaves the object as the cell's value.
CELLS = {
    "setup": """
        import json, sys
        import axiomcheck as ac
        print(json.dumps({"executable": sys.executable, "axiomcheck": ac.__file__}))
    """,
    "passing": """
        good = ac.verify(ac.get("uniform_context"), max_examples=5)
        print(good.to_json())
        good
    """,
    "failing": """
        bad = ac.verify(ac.get("indep_context_normalization"), max_examples=5)
        print(bad.to_json())
        bad
    """,
    "result": """
        print(json.dumps(bad["context.normalization"].to_dict()))
        bad["context.normalization"]
    """,
    "run": f"""
        from axiomcheck import suites
        run = suites.run([suites.loads({SUITE!r}, "notebook.toml")])
        print(json.dumps(run.to_dict()))
        run
    """,
    "guard": """
        import jax
        import jax.numpy as jnp
        from axiomcheck.kernels import GuardSpec, guard_init, guard_results, guard_update
        spec = GuardSpec(teachers=3, bounds=(0.1, 0.8))
        weights = jnp.array([[0.2, 0.05], [0.5, 0.9], [0.3, 0.05]])  # [K, N]: position 1 leaves the bounds
        state = jax.jit(guard_update, static_argnums=3)(guard_init(spec), weights, 7, spec)
        guarded = guard_results(state, spec)
        print(json.dumps([r.to_dict() for r in guarded]))
        guarded
    """,
    "hostile": f"""
        @ac.context_operator(name={EVIL_NAME!r}, register=False)
        def hostile(context):
            raise RuntimeError({EVIL_MESSAGE!r})

        evil = ac.verify(hostile, max_examples=5)
        print(evil.to_json())
        evil
    """,
}


class _Parsed(HTMLParser):
    """The tags, links, CSS, text and table rows (cell texts, nested tables as rows of their own) of a fragment."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.hrefs: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.css = ""
        self.text = ""
        self.rows: list[list[str]] = []
        self.heads: list[list[bool]] = []  # per row, per cell: a <th>
        self._open: list[int] = []
        self._in_style = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs.extend(attrs)
        self.hrefs.extend(v for k, v in attrs if k == "href")
        self._in_style = tag == "style"
        if tag == "tr":
            self.rows.append([])
            self.heads.append([])
            self._open.append(len(self.rows) - 1)
        elif tag in ("td", "th") and self._open:
            self.rows[self._open[-1]].append("")
            self.heads[self._open[-1]].append(tag == "th")

    def handle_endtag(self, tag):
        self._in_style = False
        if tag == "tr" and self._open:
            self._open.pop()

    def handle_data(self, data):
        if self._in_style:
            self.css += data
            return
        self.text += data
        if self._open and self.rows[self._open[-1]]:
            self.rows[self._open[-1]][-1] += data

    def row(self, first: str) -> list[str]:
        """The first row whose first cell reads `first`."""
        return next(r for r in self.rows if r and r[0].strip() == first)

    def numbers_after(self, label: str, start: int = 0) -> list[float]:
        """The numbers of the first row of data cells after the row labelled `label` (a counterexample's vector;
        the row of column numbers above it is a heading row)."""
        at = next(n for n, r in enumerate(self.rows) if n >= start and r and r[0].strip() == label)
        row = next(n for n in range(at + 1, len(self.rows)) if self.rows[n] and not any(self.heads[n]))
        return [float(c) for c in self.rows[row]]


@pytest.fixture
def jupyter_home(tmp_path, monkeypatch) -> Path:
    """A kernelspec for this interpreter, and Jupyter's and IPython's folders, all under `tmp_path`."""
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "axiomcheck test kernel", "language": "python"}))
    for var, sub in {"JUPYTER_PATH": "jupyter", "JUPYTER_DATA_DIR": "data", "JUPYTER_CONFIG_DIR": "config",
                     "JUPYTER_RUNTIME_DIR": "runtime", "IPYTHONDIR": "ipython"}.items():
        monkeypatch.setenv(var, str(tmp_path / sub))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("JAX_PLATFORMS", "cpu")
    # the kernel imports this checkout's axiomcheck, whatever is installed
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    return tmp_path


def _execute(folder: Path) -> dict[str, tuple[str, str]]:
    """Run the notebook; per cell, (what it printed, the text/html of its value)."""
    from jupyter_client.manager import AsyncKernelManager

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(textwrap.dedent(src).strip()) for src in CELLS.values()]
    km = AsyncKernelManager(kernel_name=KERNEL, transport="ipc", ip=str(folder / "kernel"))
    nbclient.NotebookClient(nb, km=km, timeout=120, startup_timeout=60).execute(cwd=str(folder))
    out = {}
    for name, cell in zip(CELLS, nb.cells, strict=True):
        printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")
        shown = [o for o in cell.outputs if o.output_type == "execute_result"]
        out[name] = (printed, shown[0]["data"].get("text/html", "") if shown else "")
    return out


def _self_contained(html: str) -> _Parsed:
    """Parse a fragment and check it loads nothing, runs nothing, and styles only its own div."""
    page = _Parsed(html)
    assert page.tags <= TAGS, page.tags - TAGS
    assert all(h.startswith("#") for h in page.hrefs), page.hrefs  # links stay inside the fragment
    assert not [k for k, _ in page.attrs if k.startswith("on") or k in ("src", "srcset")]
    assert "://" not in html and "@import" not in page.css and "url(" not in page.css
    selectors = [s.strip() for block in page.css.split("}") if "{" in block for s in block.split("{")[0].split(",")]
    assert selectors and all(s.startswith("div.axiomcheck-nb") for s in selectors), selectors
    return page


def _statuses_shown(page: _Parsed, statuses: dict[str, str]) -> None:
    """Each check's row: its id, then the paper, the mark, and its status."""
    for axiom, status in statuses.items():
        row = page.row(axiom)
        assert row[3].split()[0] == status, (axiom, row)


def test_a_notebook_shows_reports_results_runs_and_guard_results(jupyter_home):
    cells = _execute(jupyter_home)

    where = json.loads(cells["setup"][0])
    assert Path(where["executable"]).resolve() == Path(sys.executable).resolve()  # the kernel is this interpreter
    assert Path(where["axiomcheck"]).resolve().parent == ROOT / "axiomcheck"

    # the passing report: every check passes, the banner says so
    good = json.loads(cells["passing"][0])
    page = _self_contained(cells["passing"][1])
    assert good["passed"] and f"all {len(good['results'])} checks as expected" in page.text
    _statuses_shown(page, {r["axiom"]: r["status"] for r in good["results"]})

    # the failing report: the failing check, its status and its counterexample's weights
    bad = json.loads(cells["failing"][0])
    page = _self_contained(cells["failing"][1])
    statuses = {r["axiom"]: r["status"] for r in bad["results"]}
    assert statuses["context.normalization"] == "fail" and not bad["passed"]
    _statuses_shown(page, statuses)
    assert "1 unexpected verdict" in page.text and "Counterexample:" in page.text
    failing = next(r for r in bad["results"] if r["axiom"] == "context.normalization")
    want = failing["counterexample"]["weights"]
    want = [x for row in want for x in row] if isinstance(want[0], list) else want
    got = page.numbers_after("weights", page.rows.index(page.row("input")))
    assert len(got) == len(want) and all(math.isclose(g, w, rel_tol=1e-3) for g, w in zip(got, want, strict=True))
    assert failing["reproduce"] in page.text

    # a single result
    one = json.loads(cells["result"][0])
    page = _self_contained(cells["result"][1])
    _statuses_shown(page, {one["axiom"]: one["status"]})
    assert len([r for r in page.rows if r and r[0].startswith("context.")]) == 1
    assert page.numbers_after("weights") == got

    # a suite run: the overview matrix has a row per item and a cell per check, each with its status
    run = json.loads(cells["run"][0])
    page = _self_contained(cells["run"][1])
    outcomes = [o for s in run["suites"] for i in s["items"] for o in i["outcomes"]]
    assert {o["item"] for o in outcomes} == {"uniform_context", "indep_context_normalization"}
    html = cells["run"][1]
    for o in outcomes:
        assert f"title='{o['axiom']}: {o['status']} (expected {o['expected']})'" in html
    assert run["ok"] and f"all {len(outcomes)} checks as expected" in page.text
    assert [r[-1] for r in page.rows if r and r[0] == "notebook"] == ["as expected", "as expected"]

    # the guard's results: four runtime checks, the bounds broken first at step 7, position 1
    guarded = json.loads(cells["guard"][0])
    page = _self_contained(cells["guard"][1])
    _statuses_shown(page, {r["axiom"]: r["status"] for r in guarded})
    assert {r["axiom"]: r["status"] for r in guarded}["runtime.bounds"] == "fail"
    assert "weights observed in training" in page.text and "observed in training" in page.row("runtime.bounds")[3]
    assert page.numbers_after("weights") == pytest.approx([0.05, 0.9, 0.05])
    assert [r for r in page.rows if r[:1] == ["step"]][0][1] == "7"

    # a hostile operator name and message: shown as text, never as markup
    evil = json.loads(cells["hostile"][0])
    html = cells["hostile"][1]
    page = _self_contained(html)  # no <script>, no <img>, no on* attribute got through
    assert evil["operator"] == EVIL_NAME and EVIL_NAME in page.text and EVIL_MESSAGE in page.text
    assert "<script" not in html and "<img" not in html and "&lt;script&gt;" in html
    _statuses_shown(page, {r["axiom"]: r["status"] for r in evil["results"]})
