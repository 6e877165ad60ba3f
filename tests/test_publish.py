"""A reports folder always holds one run's complete set, even when two runs write into it at once."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import sys

import numpy as np
import pytest

from axiomcheck.output import files as W
from axiomcheck.report.results import ItemRun, Outcome, Report, Result, Run, SuiteRun
from axiomcheck.report.saved import load


def _run(name: str) -> Run:
    """A small run whose suite, item and saved counterexample are all called `name`."""
    results = (Result("context.normalization", "III.18", "fail", f"{name}: sum must be 1",
                      counterexample={"input": {"context": "summarized"}}, arrays={"input/context": np.zeros((1, 3))}),
               Result("context.positivity", "III.19", "pass", "ok", samples=3))
    report = Report(operator=name, scale="context", results=results)
    outs = [Outcome(suite=name, item=name, operator=name, scale="context", axiom=r.axiom, paper_ref=r.paper_ref,
                    status=r.status, expected="pass", message=r.message) for r in results]
    item = ItemRun(name, name, name, report, outs, {"seed": 0})
    return Run(suites=[SuiteRun(name=name, path=None, items=[item])])


def _ids(folder) -> dict[str, str]:
    """The run id each file of the folder names (its counterexamples included)."""
    out = {"report.json": json.loads((folder / "report.json").read_text(encoding="utf-8"))["run_id"]}
    for name in ("junit.xml", "summary.md", "report.html"):
        text = (folder / name).read_text(encoding="utf-8")
        out[name] = re.findall(r"<!-- axiomcheck run ([0-9a-f]+) -->", text)[0]
    for npz in sorted((folder / W.COUNTEREXAMPLES).iterdir()):
        out[npz.name] = load(npz)[0]["run_id"]
    return out


def _suites(folder) -> set[str]:
    """Which writers' names appear in the folder's files (one writer's only, when the set is whole)."""
    seen = set()
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes() if path.suffix == ".npz" else path.read_text(encoding="utf-8").encode()
            seen |= {w for w in ("writer_a", "writer_b") if w.encode() in data or w in path.name}
    return seen


def test_every_file_names_its_run(tmp_path):
    run = _run("writer_a")
    W.write_all(run, tmp_path)
    assert set(_ids(tmp_path).values()) == {run.run_id}
    assert json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))["run_id"] == run.run_id
    assert _run("writer_a").run_id != run.run_id


def test_a_new_set_replaces_the_whole_old_one(tmp_path):
    """Formats and counterexamples an earlier run wrote, and this one did not, do not stay beside it."""
    (tmp_path / "notes.txt").write_text("mine")  # not a report file: left alone
    W.write_all(_run("writer_a"), tmp_path)
    second = _run("writer_b")
    W.write_all(second, tmp_path, ["json"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counterexamples", "notes.txt", "report.json"]
    assert [p.name for p in (tmp_path / "counterexamples").iterdir()] == [
        "writer_b--writer_b--context.normalization.npz"]
    assert _suites(tmp_path) == {"writer_b"}


def test_an_interrupted_publish_leaves_the_old_set_whole(tmp_path, monkeypatch):
    first = _run("writer_a")
    W.write_all(first, tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        W.write_all(_run("writer_b"), tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left


def _writer(name: str, folder: str, rounds: int, barrier) -> None:
    run = _run(name)
    for _ in range(rounds):
        barrier.wait()
        run.run_id = f"{run.run_id[:8]}{_:08x}"  # a new run id each round
        W.write_all(run, folder)
        barrier.wait()


@pytest.mark.skipif(sys.platform == "win32", reason="the lock is POSIX flock")
def test_two_processes_writing_at_once_leave_one_complete_set(tmp_path):
    rounds = 6
    ctx = multiprocessing.get_context("spawn")  # fresh interpreters: no fork of a process JAX may run threads in
    barrier = ctx.Barrier(3, timeout=60)
    procs = [ctx.Process(target=_writer, args=(name, str(tmp_path), rounds, barrier))
             for name in ("writer_a", "writer_b")]
    for p in procs:
        p.start()
    try:
        for r in range(rounds):
            barrier.wait()  # both writers start at once
            barrier.wait()  # both have published
            ids = _ids(tmp_path)
            assert len(set(ids.values())) == 1, f"round {r}: files from different runs: {ids}"
            assert len(_suites(tmp_path)) == 1, f"round {r}"
            assert len(list((tmp_path / W.COUNTEREXAMPLES).iterdir())) == 1
    finally:
        for p in procs:
            p.join(30)
    assert all(p.exitcode == 0 for p in procs)
