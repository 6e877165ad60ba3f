"""Large counterexamples saved as .npz and replayed to the same status; the time budget; progress."""

from __future__ import annotations

import io
import json
import re
import time

import numpy as np
import pytest

import axiomcheck as ac
from axiomcheck.errors import SpecError
from axiomcheck.frontends import cli
from axiomcheck.output.progress import verify_bar
from axiomcheck.report import saved
from tests.helpers import entropy, softmax, token

V = 2048  # large enough to summarize and save, small enough to be quick
FAST = dict(vocab=V, max_examples=5, sweep_size=32)


def _saved(tmp_path, name_or_op, axiom, **kw):
    report = ac.verify(name_or_op, axioms=[axiom], **{**FAST, **kw})
    res = report[axiom]
    assert res.status == "fail", res.message
    assert res.arrays, "a large counterexample keeps its arrays"
    return saved.save(tmp_path / f"{axiom}.npz", res, report), res


def test_value_check_replays_to_the_same_status(tmp_path):
    path, res = _saved(tmp_path, "indep_token_normalization", "token.normalization")
    again = ac.verify("indep_token_normalization", replay=path)
    assert again.statuses() == {"token.normalization": "fail"}
    assert again["token.normalization"].message.startswith(f"replay of {path.name}: Σ_k w_k must be 1")
    # a conforming operator on the same input passes: the file holds the input, not the verdict
    assert ac.verify("entropy_exp", replay=path).statuses() == {"token.normalization": "pass"}


def test_regularity_replays_by_bisecting_the_saved_segment_again(tmp_path):
    path, res = _saved(tmp_path, "indep_token_regularity", "token.regularity", batch_bytes=2**19)  # 32 segments
    meta, arrays = saved.load(path)
    assert {"start/probs", "end/probs", "input/probs", "other_input/probs"} <= set(arrays)
    assert meta["axiom"] == "token.regularity" and meta["world"]["vocab"] == V
    assert ac.verify("indep_token_regularity", replay=path).statuses() == {"token.regularity": "fail"}
    assert ac.verify("inverse_variance", replay=path).statuses() == {"token.regularity": "pass"}


def _batch_mean(probs, context):
    """Entropy weights at a temperature set by the batch's mean entropy: depends on the rest of the batch."""
    h = entropy(probs)
    return softmax(-h * (1.0 + h.mean()))


def test_batch_independence_replays_on_the_saved_batch(tmp_path):
    op = token(_batch_mean, name="batch_mean")
    path, res = _saved(tmp_path, op, "token.batch_independent")
    _, arrays = saved.load(path)
    assert arrays["batch/probs"].shape[0] > 1
    assert ac.verify(op, replay=path).statuses() == {"token.batch_independent": "fail"}


def test_replay_refuses_a_file_of_another_scale_or_not_a_counterexample(tmp_path):
    path, _ = _saved(tmp_path, "indep_token_normalization", "token.normalization")
    with pytest.raises(SpecError, match="not a check of the context-scale"):
        ac.verify("uniform_context", replay=path)
    (tmp_path / "x.npz").write_text("{}")
    with pytest.raises(SpecError, match="not a .npz file"):
        ac.verify("entropy_exp", replay=tmp_path / "x.npz")
    np.savez(tmp_path / "y.npz", a=np.zeros(3))
    with pytest.raises(SpecError, match="not a counterexample written by axiomcheck"):
        ac.verify("entropy_exp", replay=tmp_path / "y.npz")


def test_cli_writes_the_npz_with_the_reports_and_replays_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = cli.main(["verify", "indep_token_normalization", "--vocab", str(V), "--max-examples", "5",
                     "--axioms", "token.normalization", "-o", "out", "--color", "never"])
    out = capsys.readouterr().out
    assert code == 1
    [npz] = list((tmp_path / "out" / "counterexamples").glob("*.npz"))
    assert f"replay: axiomcheck verify indep_token_normalization --replay out/counterexamples/{npz.name}" in out
    doc = json.loads((tmp_path / "out" / "report.json").read_text())
    ce = doc["suites"][0]["items"][0]["outcomes"][0]["counterexample"]
    assert ce["input"]["probs"]["rows"][0]["vocab"] == V  # a summary, not V numbers per teacher
    assert (tmp_path / "out" / "report.json").stat().st_size < 200_000
    code = cli.main(["verify", "indep_token_normalization", "--replay", str(npz), "--color", "never"])
    out = capsys.readouterr().out
    assert code == 1 and "replay of" in out
    assert f"reproduce: axiomcheck verify indep_token_normalization --replay {npz}" in out
    assert cli.main(["verify", "entropy_exp", "--replay", str(npz), "-q"]) == 0
    assert cli.main(["verify", "entropy_exp", "--replay", str(tmp_path / "out" / "report.json")]) == 2
    assert "not a .npz file" in capsys.readouterr().err


def test_small_counterexamples_stay_lists_and_write_no_npz():
    r = ac.verify("indep_token_normalization", max_examples=5, axioms=["token.normalization"])
    res = r["token.normalization"]
    assert res.status == "fail" and res.arrays is None
    assert isinstance(res.counterexample["input"]["probs"], list)
    assert "arrays" not in res.to_dict()


def _slow(probs, context):
    time.sleep(0.05)
    return 0.9 * softmax(-entropy(probs))  # also unnormalized


def test_max_time_cuts_short_and_says_so_never_a_silent_pass():
    op = token(_slow, name="slow_unnormalized")
    t0 = time.perf_counter()
    r = ac.verify(op, max_time=0.3, max_examples=20)
    assert time.perf_counter() - t0 < 5
    for res in r.results:
        if res.status == "pass":
            assert "cut short by the time budget (max_time = 0.3 s)" in res.message, (res.axiom, res.message)
    got = {res.axiom: res for res in r.results}
    assert got["token.normalization"].status == "fail"  # what was found before the cut stands
    assert "cut short by the time budget" in got["token.normalization"].message
    m = re.search(r"got (\d+) of the (\d+) sweep samples asked", got["token.normalization"].message)
    assert m, got["token.normalization"].message
    assert 0 < int(m.group(1)) < int(m.group(2))
    assert int(m.group(1)) == got["token.shape"].samples  # what the sweep called the operator on
    assert got["token.regularity"].status == "skipped"
    assert got["token.regularity"].message == "not run: the time budget (max_time = 0.3 s) ran out before this check"
    full = ac.verify(op, max_examples=0, shrink=False, axioms=["token.positivity"])
    assert "cut short" not in full["token.positivity"].message


SLOW_PY = """
import time
import numpy as np
import axiomcheck as ac

@ac.token_operator(name="slow_uniform", register=False)
def slow_uniform(probs, context):
    time.sleep(0.02)
    return np.full(probs.shape[:2], 1.0 / probs.shape[1])
"""


def test_max_time_is_validated_and_on_the_command_line(capsys, tmp_path):
    with pytest.raises(ValueError, match="max_time must be"):
        ac.verify("entropy_exp", max_time=0)
    (tmp_path / "slow.py").write_text(SLOW_PY)
    code = cli.main(["verify", f"{tmp_path / 'slow.py'}:slow_uniform", "--max-time", "0.05",
                     "--axioms", "token.regularity", "--color", "never"])
    out = capsys.readouterr().out
    assert code == 0 and "not run: the time budget (max_time = 0.05 s)" in out


def test_progress_hook_and_no_bar_off_a_terminal():
    seen = []
    ac.verify("uniform_token", max_examples=5, progress=lambda phase, done, total: seen.append((phase, done, total)))
    phases = [p for p, _, _ in seen]
    assert {"sweep", "checks", "search"} <= set(phases)
    assert all(0 <= d <= t for _, d, t in seen)
    stream = io.StringIO()
    with verify_bar(stream) as hook:
        hook("sweep", 1, 2)
        hook("checks", 2, 9)
    assert stream.getvalue() == ""  # not a terminal: nothing drawn


def test_a_broken_progress_hook_does_not_stop_the_run():
    def hook(phase, done, total):
        raise RuntimeError("display gone")

    r = ac.verify("uniform_token", max_examples=5, progress=hook)
    assert r.passed
