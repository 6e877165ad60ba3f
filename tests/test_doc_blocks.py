"""Every Python block of the README and the docs runs as written (tests/doc_blocks.py says how).

Each page runs in a fresh interpreter, in a scratch folder, with the project installed, its
blocks in order in one namespace; a failure names the page, the line of the block and the error.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.doc_blocks import ROOT, axiomcheck_names, blocks, pages

PAGES = [p for p in pages() if blocks(p)]
PAGE_TIMEOUT_S = 300

RUNNER = textwrap.dedent("""
    import json, sys, traceback, importlib
    from pathlib import Path
    sys.path.insert(0, ".")
    todo = json.loads(Path("blocks.json").read_text())
    namespace = {"__name__": "__main__"}
    for b in todo:
        try:
            if b["file_name"]:
                Path(b["file_name"]).write_text(b["code"])
                importlib.invalidate_caches()
                importlib.import_module(b["file_name"][:-3])
            else:
                exec(compile(b["code"], b["where"], "exec"), namespace)
        except BaseException:
            print(f"BLOCK FAILED at {b['where']}:", file=sys.stderr)
            traceback.print_exc()
            sys.exit(1)
""")


def _ids(paths):
    return [str(p.relative_to(ROOT)) for p in paths]


@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_every_block_of_the_page_runs(page, tmp_path):
    todo = [{"code": b.code, "where": b.where, "file_name": b.file_name}
            for b in blocks(page) if not b.is_sketch]
    if not todo:
        pytest.skip("only sketches on this page")
    (tmp_path / "blocks.json").write_text(json.dumps(todo))
    (tmp_path / "run_blocks.py").write_text(RUNNER)
    env = {**os.environ, "NO_COLOR": "1", "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([sys.executable, "run_blocks.py"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=PAGE_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr[-4000:]


@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_every_axiomcheck_name_a_block_uses_exists(page):
    for b in blocks(page):
        for module, name in axiomcheck_names(b.code):
            mod = importlib.import_module(module)
            if not hasattr(mod, name):
                try:
                    importlib.import_module(f"{module}.{name}")
                except ImportError:
                    pytest.fail(f"{b.where}: {module} has no {name!r}")


def test_the_conventions_are_recognised():
    from tests.doc_blocks import Block

    assert Block("p", 1, "Sketch: in a training step", "").is_sketch
    assert Block("p", 1, "my_weights.py", "").file_name == "my_weights.py"
    assert Block("p", 1, "", "").file_name is None and not Block("p", 1, "", "").is_sketch
    assert axiomcheck_names("import axiomcheck as ac\nac.verify\nfrom axiomcheck.kernels import kd_loss\n") == [
        ("axiomcheck.kernels", "kd_loss"), ("axiomcheck", "verify")]
