"""How `verify()` must treat hostile operators.

Each test pins one way an operator (or a function the user declares next to
it: a safety predicate, a task importance) can work against the checker:
writing into its inputs, handing back a buffer it reuses, returning inf,
depending on its batch, hanging, crashing, raising something unprintable,
changing process-wide state, or running on a machine whose clock races.  In
every case `verify()` must return a full `Report` whose verdicts say what the
operator did, and leave the test process as it found it.

Every operator is defined at module level, so a worker process can import it
by `module:name`; those that run in a worker are also built from separately
named functions, so that plain pickle finds them.  Operators that hang wait on `_RELEASE`, which the
`release_hung` fixture sets when the test ends, so that a thread the engine
had to abandon finishes instead of outliving the test.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import re
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import axiomcheck as ac

K = 4
FAST = dict(max_examples=15, sweep_size=32)
#: Set by `release_hung` when a test ends: every hanging function below then returns.
_RELEASE = threading.Event()
#: Holds the pid of the test process while a crashing operator may run, so it only crashes a worker.
_PARENT_PID_VAR = "AXIOMCHECK_HOSTILE_PARENT_PID"


@pytest.fixture
def release_hung():
    _RELEASE.clear()
    yield _RELEASE
    _RELEASE.set()


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _smooth(context: np.ndarray) -> np.ndarray:
    """Positive, normalized, continuous and batch-independent weights over K teachers."""
    return _softmax(np.tanh(context[:, :1]) * np.arange(K, dtype=float)[None, :] * 0.5)


SMOOTH_BOUNDS = (float(_softmax(np.array([1.5, 1.0, 0.5, 0.0]))[-1]),
                 float(_softmax(np.array([1.5, 1.0, 0.5, 0.0]))[0]))


def _uniform_rows(n: int) -> np.ndarray:
    return np.full((n, K), 1.0 / K)


def _in_test_process() -> bool:
    return os.environ.get(_PARENT_PID_VAR) == str(os.getpid())


def _verify(op: ac.Operator, **kw: Any) -> ac.Report:
    """`ac.verify`, failing the test (not erroring it) when anything escapes."""
    try:
        return ac.verify(op, **kw)
    except BaseException as exc:  # noqa: BLE001 - SystemExit included: nothing may escape verify
        pytest.fail(f"verify let {type(exc).__name__} escape: {exc!r}")


def _verify_within(limit: float, op: ac.Operator, **kw: Any) -> tuple[ac.Report, float]:
    """`ac.verify` on a daemon thread; fail the test when it has not returned after `limit` seconds."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["report"] = ac.verify(op, **kw)
        except BaseException as exc:  # noqa: BLE001
            box["error"] = exc

    t0 = time.perf_counter()
    thread = threading.Thread(target=run, name="hostile-verify", daemon=True)
    thread.start()
    thread.join(limit)
    elapsed = time.perf_counter() - t0
    if thread.is_alive():
        _RELEASE.set()
        thread.join(limit)
        pytest.fail(f"verify did not return within {limit:g} s")
    if "error" in box:
        pytest.fail(f"verify let {type(box['error']).__name__} escape: {box['error']!r}")
    return box["report"], elapsed


def _share(message: str) -> float:
    """The first percentage written as 'N% of' in a message."""
    found = re.search(r"(\d+(?:\.\d+)?)\s*% of", message)
    assert found, f"no 'N% of' share in {message!r}"
    return float(found.group(1))


def _live_children() -> set[int]:
    """Pids of this process's live children, multiprocessing's own helper processes left out.

    Python's resource tracker and forkserver outlive every run by design; a worker must not.
    """
    pids = {p.pid for p in multiprocessing.active_children()}
    proc = Path("/proc")
    if not proc.is_dir():
        return pids
    me = os.getpid()
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state, ppid = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if int(ppid) == me and state != "Z" and b"from multiprocessing." not in cmdline:
            pids.add(int(entry.name))
    return pids


# ---------------------------------------------------------------- operators: input mutation


def safe_when_first_positive(context):
    return np.asarray(context)[:, 0] > 0


SAFEST_FIRST = ac.Safety(contexts=safe_when_first_positive, order=[0, 1, 2, 3])
RISING = _softmax(np.arange(K, dtype=float))


@ac.context_operator(name="hostile_overwrites_context", bounds=(float(RISING[0]), float(RISING[-1])),
                     safety=SAFEST_FIRST, register=False)
def overwrites_context(context):
    """Ranks teacher 0 last everywhere (breaking the declared order), then hides it by overwriting the input."""
    w = np.tile(RISING, (context.shape[0], 1))
    context[:] = -1.0
    return w


@ac.token_operator(name="hostile_halves_probs", register=False)
def halves_probs(probs, context):
    """Uniform weights, then halves the caller's probabilities in place."""
    w = np.full(probs.shape[:2], 1.0 / probs.shape[1])
    probs /= 2
    return w


@pytest.mark.parametrize("op", [overwrites_context, halves_probs], ids=lambda op: op.name)
def test_an_operator_that_writes_into_its_input_is_an_error(op):
    report = _verify(op, **FAST)
    assert not report.passed, report.statuses()
    errors = [r for r in report.results if r.status == "error"]
    assert any("wrote into its input" in r.message for r in errors), {r.axiom: r.message for r in report.results}
    if op.safety is not None:
        safety = report["context.safety_prioritization"]
        assert safety.status in ("fail", "error"), safety.message


# ---------------------------------------------------------------- operators: a reused output buffer

_BUFFER = np.empty((8192, K))


@ac.context_operator(name="hostile_reused_buffer", bounds=SMOOTH_BOUNDS, register=False)
def reused_buffer(context):
    """Conforming weights written into one module-level buffer; returns a view of it."""
    n = context.shape[0]
    _BUFFER[:n] = _smooth(context)
    return _BUFFER[:n]


@ac.context_operator(name="hostile_reused_buffer_doubled", register=False)
def reused_buffer_doubled(context):
    """The same, but the weights sum to 2."""
    n = context.shape[0]
    _BUFFER[:n] = 2.0 * _smooth(context)
    return _BUFFER[:n]


@pytest.mark.parametrize("op", [reused_buffer, reused_buffer_doubled], ids=lambda op: op.name)
def test_a_returned_view_of_a_reused_buffer_is_judged_by_its_values(op):
    report = _verify(op, **FAST)
    assert report["context.batch_independent"].status == "pass", report["context.batch_independent"].message
    assert report["context.deterministic"].status == "pass", report["context.deterministic"].message
    if op is reused_buffer:
        assert report.passed, {r.axiom: r.message for r in report.results if not r.ok}
    else:
        assert report["context.normalization"].status == "fail"


# ---------------------------------------------------------------- operators: inf


@ac.context_operator(name="hostile_inf_column", register=False)
def inf_column(context):
    """Smooth weights, but +inf for teacher 0 wherever context[:, 0] > 5."""
    w = _smooth(context)
    w[context[:, 0] > 5, 0] = np.inf
    return w


def test_inf_is_a_value_not_noise():
    report = _verify(inf_column, **FAST)
    assert report["context.deterministic"].status == "pass", report["context.deterministic"].message
    assert report["context.finite"].status == "fail"
    assert report["context.continuity"].status != "error", report["context.continuity"].message


# ---------------------------------------------------------------- operators: batch dependence


@ac.context_operator(name="hostile_batch_centred", register=False)
def batch_centred(context):
    """softmax(context − batch mean): each sample's weights depend on the rest of its batch."""
    return _softmax(context - context.mean(axis=0))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_batch_dependence_always_demotes_continuity(seed):
    report = _verify(batch_centred, seed=seed, context_dim=K, **FAST)
    assert report["context.batch_independent"].status == "fail"
    continuity = report["context.continuity"]
    assert continuity.status == "error" and "cannot be judged" in continuity.message, continuity.message


# ---------------------------------------------------------------- operators: systematic violations


@ac.context_operator(name="hostile_sums_to_three", register=False)
def sums_to_three(context):
    """3/K for every teacher (Σ = 3) on every input, NaN where context[:, 0] > 2."""
    w = np.full((context.shape[0], K), 3.0 / K)
    w[context[:, 0] > 2] = np.nan
    return w


def test_a_systematic_violation_is_named_before_a_rare_nan():
    r = _verify(sums_to_three, **FAST)["context.normalization"]
    assert r.status == "fail"
    assert "got 3" in r.message and "NaN on" in r.message and "%" in r.message, r.message


ZERO_FIRST = np.array([0.0, 1 / 3, 1 / 3, 1 / 3])


@ac.context_operator(name="hostile_zero_at_origin", register=False)
def zero_at_origin(context):
    """Uniform weights, except teacher 0 gets 0 on the all-zero context."""
    w = _uniform_rows(context.shape[0])
    w[(context == 0).all(axis=1)] = ZERO_FIRST
    return w


@ac.context_operator(name="hostile_zero_everywhere", register=False)
def zero_everywhere(context):
    """Teacher 0 gets 0 on every input."""
    return np.tile(ZERO_FIRST, (context.shape[0], 1))


def test_a_failure_message_tells_a_corner_case_from_a_rule():
    corner = _verify(zero_at_origin, **FAST)["context.positivity"]
    everywhere = _verify(zero_everywhere, **FAST)["context.positivity"]
    assert corner.status == everywhere.status == "fail"
    assert _share(corner.message) < 50.0, corner.message
    assert _share(everywhere.message) == 100.0, everywhere.message


@ac.context_operator(name="hostile_breaks_every_value_check", bounds=(0.05, 0.5), safety=SAFEST_FIRST,
                     register=False)
def breaks_every_value_check(context):
    """Σ = 1.4, a zero, a weight above the bound, the order broken, and NaN where context[:, 0] > 2."""
    w = np.tile([0.0, 0.2, 0.3, 0.9], (context.shape[0], 1))
    w[context[:, 0] > 2] = np.nan
    return w


@pytest.fixture(scope="module")
def every_value_check_broken() -> ac.Report:
    return _verify(breaks_every_value_check, **FAST)


@pytest.mark.parametrize("axiom", ["context.normalization", "context.positivity", "context.boundedness",
                                   "context.finite", "context.safety_prioritization"])
def test_every_failing_value_check_states_its_share(axiom, every_value_check_broken):
    r = every_value_check_broken[axiom]
    assert r.status == "fail", r.message
    assert 0.0 < _share(r.message) <= 100.0


# ---------------------------------------------------------------- user functions under the guard


def waits_in_predicate(context):
    _RELEASE.wait(60)
    return np.asarray(context)[:, 0] > 0


def exits_in_predicate(context):
    raise SystemExit("predicate quits")


def waits_in_importance(losses, sizes):
    _RELEASE.wait(60)
    return sizes / sizes.sum(axis=1, keepdims=True)


@ac.context_operator(name="hostile_predicate_hangs", bounds=SMOOTH_BOUNDS,
                     safety=ac.Safety(contexts=waits_in_predicate, order=[3, 2, 1, 0]), register=False)
def predicate_hangs(context):
    return _smooth(context)


@ac.context_operator(name="hostile_predicate_exits", bounds=SMOOTH_BOUNDS,
                     safety=ac.Safety(contexts=exits_in_predicate, order=[3, 2, 1, 0]), register=False)
def predicate_exits(context):
    return _smooth(context)


@ac.task_operator(name="hostile_importance_hangs", importance=waits_in_importance, register=False)
def importance_hangs(losses, sizes):
    return _softmax(-losses / (1.0 + losses))


class UnprintableError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("this exception cannot be printed")


@ac.context_operator(name="hostile_unprintable", register=False)
def raises_unprintable(context):
    raise UnprintableError()


class MessageHangsError(Exception):
    def __str__(self) -> str:
        while not _RELEASE.is_set():  # a pure-Python spin, until the test ends
            pass
        return "released"


@ac.context_operator(name="hostile_message_hangs", register=False)
def raises_with_a_hanging_message(context):
    raise MessageHangsError()


@ac.context_operator(name="hostile_warnings_to_errors", bounds=(0.25, 0.25), register=False)
def turns_warnings_into_errors(context):
    warnings.simplefilter("error")
    return _uniform_rows(context.shape[0])


def test_a_hanging_safety_predicate_is_cut_off(release_hung):
    report, elapsed = _verify_within(30.0, predicate_hangs, timeout=1, **FAST)
    assert elapsed < 30.0
    assert report["context.safety_prioritization"].status == "error"


def test_a_safety_predicate_raising_system_exit_is_an_error():
    report = _verify(predicate_exits, **FAST)
    assert report["context.safety_prioritization"].status == "error"


def test_a_hanging_task_importance_is_cut_off(release_hung):
    report, elapsed = _verify_within(30.0, importance_hangs, timeout=1, **FAST)
    assert elapsed < 30.0
    assert report["task.pareto_compatibility"].status == "error"


def test_an_exception_that_cannot_be_printed_is_still_reported():
    report = _verify(raises_unprintable, **FAST)
    assert all(r.status == "error" for r in report.results), report.statuses()
    first, *rest = report.results
    assert "UnprintableError" in first.message, first.message
    # raised on every batch: the error is read once, the other checks point at it
    assert {r.message for r in rest} == {
        f"not run: the operator could not be evaluated on any sweep batch (see {first.axiom})"}


def test_an_exception_whose_message_hangs_is_an_error_within_the_call_timeout(release_hung):
    """Formatting the exception runs its __str__, user code: it is timed like the call itself."""
    report, elapsed = _verify_within(20.0, raises_with_a_hanging_message, timeout=0.5, **FAST)
    assert elapsed < 5.0
    assert all(r.status == "error" for r in report.results), report.statuses()
    first = report.results[0].message
    assert "raised MessageHangsError, whose message (its __str__) did not return within the per-call limit of " \
           "0.5 s" in first, first


@ac.context_operator(name="hostile_spins", register=False)
def spins_in_python(context):
    while context.shape[0] > 0:
        pass


def test_a_pure_python_hang_is_a_timeout_not_a_raise():
    """The SystemExit that stops a spinning call is axiomcheck's, never reported as the operator's."""
    report, elapsed = _verify_within(20.0, spins_in_python, timeout=0.5, **FAST)
    assert elapsed < 10.0
    first = report.results[0].message
    assert "did not return within the per-call limit of 0.5 s" in first, first
    assert "SystemExit" not in first, first


def test_an_operator_cannot_change_the_warning_filters():
    with warnings.catch_warnings():
        before = list(warnings.filters)
        report = _verify(turns_warnings_into_errors, **FAST)
        after = list(warnings.filters)
    assert report.passed, {r.axiom: r.message for r in report.results if not r.ok}
    assert after == before


# ---------------------------------------------------------------- hung and crashing operators


# Operators run in a worker are built from separately named functions, so plain pickle finds them.


def _exit_process(context):
    if _in_test_process():
        raise RuntimeError("refused to exit the test interpreter")
    os._exit(3)


def _segfault(context):
    if _in_test_process():
        raise RuntimeError("refused to crash the test interpreter")
    return ctypes.string_at(0)


def _sleep_forever(context):
    if _in_test_process():
        raise RuntimeError("refused to hang the test interpreter")
    time.sleep(3600)
    return _uniform_rows(context.shape[0])


def _conforming(context):
    return _smooth(context)


exits_process = ac.context_operator(_exit_process, name="hostile_exits", register=False)
segfaults = ac.context_operator(_segfault, name="hostile_segfaults", register=False)
sleeps_forever = ac.context_operator(_sleep_forever, name="hostile_sleeps_forever", register=False)
conforming = ac.context_operator(_conforming, name="hostile_conforming", bounds=SMOOTH_BOUNDS, register=False)


@ac.context_operator(name="hostile_spins", register=False)
def spins(context):
    """Never returns (until the test ends): a busy loop holding the interpreter."""
    while not _RELEASE.is_set():
        pass
    return _uniform_rows(context.shape[0])


def _timed(op: ac.Operator) -> tuple[ac.Report, float]:
    t0 = time.perf_counter()
    report = _verify(op, **FAST)
    return report, time.perf_counter() - t0


def test_a_spinning_operator_does_not_poison_the_run(release_hung):
    _timed(conforming)  # warm up imports and caches
    _, first = _timed(conforming)
    threads = threading.active_count()
    hung = _verify(spins, timeout=0.5, **FAST)
    assert all(r.status == "error" for r in hung.results), hung.statuses()
    head, *rest = hung.results
    assert "time limit" in head.message, head.message
    for r in rest:
        assert "not run: the operator hung on an earlier call" in r.message, (r.axiom, r.message)
        assert "time limit" not in r.message, (r.axiom, r.message)
    assert threading.active_count() <= threads + 1
    after, second = _timed(conforming)
    assert after.passed, {r.axiom: r.message for r in after.results if not r.ok}
    assert second < 10 * first + 1.0, (first, second)


@pytest.mark.parametrize("op", [exits_process, segfaults, sleeps_forever], ids=lambda op: op.name)
def test_an_isolated_operator_that_kills_its_process_is_an_error(op, monkeypatch, release_hung):
    monkeypatch.setenv(_PARENT_PID_VAR, str(os.getpid()))
    children = _live_children()
    report, _ = _verify_within(60.0, op, isolate=True, timeout=2, max_examples=10, sweep_size=32)
    assert all(r.status == "error" for r in report.results), report.statuses()
    assert any("worker" in r.message or "process" in r.message for r in report.results), \
        [r.message for r in report.results]
    deadline = time.monotonic() + 1.0
    while _live_children() - children and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _live_children() - children


def test_isolation_does_not_change_the_verdicts():
    inline = _verify(conforming, isolate=False, timeout=5, **FAST)
    isolated = _verify(conforming, isolate=True, timeout=5, **FAST)
    assert isolated.statuses() == inline.statuses()
    assert inline.passed


@ac.context_operator(name="hostile_jax_softmax", register=False)
def jax_softmax(context):
    """A jitted JAX operator: a forked worker of a process that already ran JAX deadlocks in it."""
    import jax
    import jax.numpy as jnp

    return np.asarray(jax.jit(lambda c: jax.nn.softmax(c @ jnp.ones((c.shape[1], 4)), axis=-1))(context))


def test_isolation_runs_a_jax_operator_in_a_fresh_process():
    jax_softmax(np.zeros((2, 3)))  # JAX started in this process first
    report, _ = _verify_within(120.0, jax_softmax, isolate=True, timeout=30, **FAST)
    assert report.passed, {r.axiom: r.message for r in report.results if not r.ok}


# ---------------------------------------------------------------- reproducibility under load


@ac.token_operator(name="hostile_confident_teacher_zero", register=False)
def confident_teacher_zero(probs, context):
    """Uniform weights, scaled by 1.5 wherever teacher 0's top probability exceeds 0.9."""
    w = np.full(probs.shape[:2], 1.0 / probs.shape[1])
    w[probs[:, 0, :].max(axis=-1) > 0.9] *= 1.5
    return w


def _racing_clock(start: float, step: float = 10.0) -> Callable[[], float]:
    now = [start]

    def tick() -> float:
        now[0] += step
        return now[0]

    return tick


def _verdicts(report: ac.Report) -> list[tuple[Any, ...]]:
    return [(r.axiom, r.status, r.message, r.counterexample) for r in report.results]


def test_same_seed_same_report_on_a_loaded_machine(monkeypatch):
    calm = _verify(confident_teacher_zero, seed=5, **FAST)
    assert calm["token.normalization"].status == "fail"
    monkeypatch.setattr(time, "perf_counter", _racing_clock(time.perf_counter()))
    monkeypatch.setattr(time, "monotonic", _racing_clock(time.monotonic()))
    monkeypatch.setattr(time, "time", _racing_clock(time.time()))
    loaded = _verify(confident_teacher_zero, seed=5, **FAST)
    monkeypatch.undo()
    assert _verdicts(loaded) == _verdicts(calm)
