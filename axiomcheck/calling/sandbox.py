"""Calling user code in a sandbox: copies in, copies out, a time limit, isolation.

Everything a user hands to axiomcheck (the weight function, a safety predicate,
an importance function) is called through a `Sandbox` (the weight guard of
`axiomcheck.kernels` is another thing: it watches weights inside a training step).
A sandbox

* gives each call fresh copies of its inputs and compares them afterwards, so an
  operator that writes into its arguments is *reported* ("wrote into its input")
  and can never change what a later check sees;
* copies what the call returns (`np.array`), so a reused output buffer cannot
  alias an earlier result;
* runs the call within a per-call time limit, and after one timeout stops
  calling that function (`not run: ... hung on an earlier call`) instead of
  piling up spinning threads;
* keeps the warning filters as they were (an operator that sets
  `warnings.simplefilter("error")` cannot turn the engine's own warnings into
  crashes);
* turns anything raised — `SystemExit` included, even an exception whose
  `__str__` raises — into `OperatorMisbehaved`; the message is formatted on the
  call thread, within the time limit, so an exception whose `__str__` hangs is
  a timeout, not a hang of axiomcheck.

In-process mode runs the call on a daemon thread.  Python cannot kill a thread:
a pure-Python spin is stopped by an asynchronous exception, but a call stuck in
C code (a sleep, a long native loop) keeps running in the background.  With
`isolate=True` the call runs in a worker process instead, which is killed on a
timeout, so `os._exit`, a segfault or a hang is reported and the run goes on.
The worker (`axiomcheck.calling.isolation`) is a fresh interpreter when the function can be found again
by import (a module-level function, or a decorated operator by its module and
name), so a framework such as JAX starts cleanly in it; otherwise (a lambda, a
closure) the worker is forked from this process.
"""

from __future__ import annotations

import ctypes
import dataclasses
import inspect
import queue
import threading
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .frameworks import ConversionError, to_numpy


class OperatorMisbehaved(Exception):
    """User code raised, hung, crashed, wrote into its input, or returned something unusable.

    `kind` is one of "raised", "timeout", "not_run", "crashed", "mutated", "shape", "dtype", or
    "conversion" (axiomcheck could not bring the inputs or the result between numpy and the
    operator's framework: axiomcheck's side of the call, not the operator's).
    """

    def __init__(self, kind: str, detail: str, shape: tuple[int, ...] | None = None):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail
        self.shape = shape  # the shape returned, for a "shape" error


def accepts_teachers(fn: Callable[..., Any]) -> bool:
    """Whether `fn` takes a keyword argument named `teachers` (how a function without a teacher axis learns K)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    p = params.get("teachers")
    return p is not None and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)


@dataclasses.dataclass(frozen=True)
class KeywordCall:
    """`fn` called with its first `positional` arguments by position and the rest by keyword.

    The sandbox and the worker call every operator as `f(*arrays)`; this is the one
    place that turns the trailing arrays into the keyword inputs the function
    names (`keywords`) and adds the fixed ones (`teachers`, `params`).  Picklable
    when `fn` is, so an isolated worker can rebuild it.
    """

    fn: Callable[..., Any]
    positional: int
    keywords: tuple[str, ...] = ()
    fixed: tuple[tuple[str, Any], ...] = ()

    def __call__(self, *args: Any) -> Any:
        kw = dict(self.fixed)
        kw.update(zip(self.keywords, args[self.positional:]))
        return self.fn(*args[: self.positional], **kw)

    def with_fn(self, fn: Callable[..., Any]) -> KeywordCall:
        return dataclasses.replace(self, fn=fn)


def describe_exception(exc: BaseException) -> str:
    """`Type: message`, even when the exception's own `__str__` raises."""
    name = type(exc).__name__
    try:
        text = str(exc)
    except BaseException as inner:  # noqa: BLE001 - a broken __str__ is the user's, not ours
        try:
            inner_name = type(inner).__name__
        except BaseException:  # noqa: BLE001
            inner_name = "an exception"
        return f"{name} (its message cannot be shown: str() of it raised {inner_name})"
    return f"{name}: {text}" if text else name


def _changed(before: np.ndarray, after: Any) -> bool:
    try:
        after = np.asarray(after)
        if np.array_equal(before, after):  # the common case, one pass
            return False
        return not np.array_equal(before, after, equal_nan=before.dtype.kind in "fc")
    except Exception:  # noqa: BLE001 - an input replaced by something else entirely
        return True


def run_checked(fn: Callable[..., Any], args: Sequence[np.ndarray], names: Sequence[str]) -> np.ndarray:
    """Call `fn` on copies of `args`; raise `OperatorMisbehaved("mutated")` if it wrote into them.

    The result comes back as a fresh numpy array (`frameworks.to_numpy`: a torch tensor is
    detached first); a failed framework conversion is `OperatorMisbehaved("conversion")`.
    """
    given = [np.array(a, copy=True) for a in args]
    with warnings.catch_warnings():
        try:
            out = to_numpy(fn(*given))
        except ConversionError as exc:
            raise OperatorMisbehaved("conversion", str(exc)) from None
    for name, original, seen in zip(names, args, given):
        if _changed(np.asarray(original), seen):
            raise OperatorMisbehaved("mutated", f"the operator wrote into its input {name!r} "
                                                f"(it must not modify its arguments)")
    return out


class _CallThread:
    """One daemon thread that runs a sandbox's calls in turn (a thread per call costs more than the call)."""

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._loop, name="axiomcheck-call", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                return
            job()

    def run(self, job: Callable[[], None], timeout: float) -> bool:
        """Run `job` on the thread; False when it has not finished within `timeout` seconds."""
        done = threading.Event()

        def wrapped() -> None:
            try:
                job()
            finally:
                done.set()

        self.jobs.put(wrapped)
        return done.wait(timeout)

    def stop(self) -> None:
        self.jobs.put(None)

    def abandon(self) -> None:
        """Ask the hung thread to stop (an asynchronous SystemExit; works for pure-Python loops only)."""
        self.jobs.put(None)
        if self.thread.ident is not None:
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self.thread.ident),
                                                       ctypes.py_object(SystemExit))
        self.thread.join(0.05)


class Sandbox:
    """Calls one user function on numpy arguments with copies and a time limit, on a call thread.

    `what` names the function in messages ("the operator", "the safety predicate");
    `names` are the argument names used in a mutation message.  Its subclass
    `isolation.IsolatedSandbox` makes the same calls in a worker process.
    """

    def __init__(self, fn: Callable[..., Any], *, what: str = "the operator", names: Sequence[str] = (),
                 timeout: float | None = 10.0):
        self.fn = fn
        self.what = what
        self.names = tuple(names)
        self.timeout = timeout
        self.dead: str | None = None  # why the function is not called any more
        self._thread: _CallThread | None = None

    def __call__(self, *args: Any) -> np.ndarray:
        if self.dead is not None:
            raise OperatorMisbehaved("not_run", f"not run: {self.what} {self.dead}")
        names = self.names + tuple(f"argument {i}" for i in range(len(self.names), len(args)))
        return self._call(args, names)

    def _call(self, args: Sequence[Any], names: Sequence[str]) -> np.ndarray:
        box: dict[str, Any] = {}

        def job() -> None:
            try:
                box["value"] = run_checked(self.fn, args, names)
            except OperatorMisbehaved as exc:
                box["error"] = exc
            except BaseException as exc:  # noqa: BLE001 - reported, never swallowed
                # Formatting the message runs the exception's own __str__, user code too: here, on
                # the call thread and within the time limit, so one that hangs is a timeout.
                box["raised"] = type(exc).__name__
                box["error"] = OperatorMisbehaved("raised", describe_exception(exc))

        if self.timeout is None:
            job()
            return self._unbox(box)
        if self._thread is None:
            self._thread = _CallThread()
        with warnings.catch_warnings():
            finished = self._thread.run(job, self.timeout)
        if not finished:
            # Read before abandoning: the SystemExit that abandon() injects to stop a pure-Python loop
            # is caught by the job like anything the operator raised, and is not the operator's.
            raised = box.get("raised")
            self._thread.abandon()
            self._thread = None
            self.dead = "hung on an earlier call"
            if raised is not None:  # it raised, then the exception's message never came back
                raise OperatorMisbehaved("timeout", f"raised {raised}, whose message (its __str__) did not "
                                                    f"return within the per-call limit of {self.timeout:g} s")
            raise OperatorMisbehaved("timeout", f"did not return within the per-call limit of "
                                                f"{self.timeout:g} s")
        return self._unbox(box)

    def _unbox(self, box: dict[str, Any]) -> np.ndarray:
        if "error" in box:
            raise box["error"]
        return box["value"]

    def close(self) -> None:
        """Stop the call thread, if any."""
        if self._thread is not None:
            self._thread.stop()
            self._thread = None
