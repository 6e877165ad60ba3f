"""Process isolation for `Sandbox(isolate=True)`: a worker process per sandboxed function.

A portable function (one a fresh interpreter can find again by import: a
module-level function, or a decorated operator by its module and name) runs in
`python -m axiomcheck.engine.worker`, a fresh interpreter, so a framework such as
JAX starts cleanly in it; anything else (a lambda, a closure) runs in a fork of
this process.  The worker is killed on a timeout; a crash (`os._exit`, a
segfault) is seen as the pipe closing.
"""

from __future__ import annotations

import importlib
import os
import pickle
import signal
import subprocess
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .frameworks import Adapted, adapt
from .sandbox import KeywordCall, OperatorMisbehaved, Sandbox, describe_exception, run_checked


class _Ref:
    """A module-level operator or function, found again by import in a fresh process.

    `call` is the `KeywordCall` layout it was wrapped in (without its function), if any;
    `framework` (when the operator declares one) wraps the function again in the same `frameworks.Adapted`.
    """

    def __init__(self, module: str, qualname: str, call: KeywordCall | None = None, framework: str | None = None):
        self.module, self.qualname, self.call, self.framework = module, qualname, call, framework

    def resolve(self) -> Callable[..., Any]:
        obj: Any = importlib.import_module(self.module)
        for part in self.qualname.split("."):
            obj = getattr(obj, part)
        fn = adapt(getattr(obj, "fn", obj), self.framework)  # a decorated operator keeps its function in .fn
        return self.call.with_fn(fn) if self.call is not None else fn


def portable(fn: Callable[..., Any]) -> bytes | None:
    """`fn` pickled so that a fresh interpreter can rebuild it, or None (then the worker is forked)."""
    call = framework = None
    if isinstance(fn, KeywordCall):
        call, fn = fn.with_fn(_unset), fn.fn
    if isinstance(fn, Adapted):
        framework, fn = fn.framework, fn.fn
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", "")
    if not module or module == "__main__" or not qualname or "<" in qualname:
        return None
    obj: Any = sys.modules.get(module)
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    if obj is not fn and getattr(obj, "fn", None) is not fn:
        return None
    try:
        return pickle.dumps(_Ref(module, qualname, call, framework))
    except Exception:  # noqa: BLE001 - anything unpicklable is forked instead
        return None


def _unset(*args: Any, **kwargs: Any) -> Any:
    """Stands in for the function inside a pickled `KeywordCall` layout (the worker puts the real one back)."""
    raise RuntimeError("a KeywordCall layout without its function")


class WorkerGone(Exception):
    """The worker process timed out or died (`kind` is "timeout" or "crashed")."""

    def __init__(self, kind: str, detail: str):
        super().__init__(detail)
        self.kind = kind


def _serve(conn: Any, fn: Callable[..., Any], names: Sequence[str]) -> None:
    """The worker's loop: receive arguments, call, send back ("ok", array) or a report."""
    while True:
        try:
            args = conn.recv()
        except (EOFError, OSError):
            os._exit(0)
        try:
            reply: tuple[str, Any] = ("ok", run_checked(fn, args, names))
        except OperatorMisbehaved as exc:
            reply = (exc.kind, exc.detail)
        except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent
            reply = ("raised", describe_exception(exc))
        try:
            conn.send(reply)
        except Exception as exc:  # noqa: BLE001 - an unpicklable result
            conn.send(("raised", f"its result could not be sent back: {describe_exception(exc)}"))


class Worker:
    """A process that calls one function; killed on a timeout or when the run ends.

    A portable function gets a fresh interpreter (`python -m axiomcheck.engine.worker`,
    talking over a pipe of its own, so what the operator prints still goes to the
    terminal); any other function gets a fork of this process.
    """

    def __init__(self, fn: Callable[..., Any], names: Sequence[str]):
        import multiprocessing
        from multiprocessing.connection import Connection

        payload = portable(fn)
        self.popen: subprocess.Popen[bytes] | None = None
        self.proc: Any = None
        if payload is not None:
            to_child_r, to_child_w = os.pipe()
            from_child_r, from_child_w = os.pipe()
            env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "axiomcheck.engine.worker", str(to_child_r), str(from_child_w)],
                pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL, env=env)
            os.close(to_child_r)
            os.close(from_child_w)
            self.conn = _Duplex(Connection(from_child_r, writable=False), Connection(to_child_w, readable=False))
            self.conn.send((payload, list(sys.path), list(names)))
            return
        ctx = multiprocessing.get_context("fork")
        self.conn, child = ctx.Pipe()
        with warnings.catch_warnings():  # Python ≥ 3.12 warns about fork in a threaded process
            warnings.simplefilter("ignore", DeprecationWarning)
            self.proc = ctx.Process(target=_serve, args=(child, fn, names), daemon=True, name="axiomcheck-worker")
            self.proc.start()
        child.close()

    def _exitcode(self) -> int | None:
        if self.popen is not None:
            try:
                return self.popen.wait(1.0)
            except subprocess.TimeoutExpired:
                return None
        self.proc.join(1.0)
        return self.proc.exitcode

    def call(self, args: list[np.ndarray], timeout: float | None) -> tuple[str, Any]:
        try:
            self.conn.send(args)
            if not self.conn.poll(timeout):
                self.stop()
                raise WorkerGone("timeout", f"did not return within the per-call limit of {timeout:g} s "
                                             f"(its worker process was killed)")
            return self.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            code = self._exitcode()
            self.stop()
            if code is not None and code < 0:
                try:
                    how = f"was killed by signal {signal.Signals(-code).name}"
                except ValueError:
                    how = f"was killed by signal {-code}"
            else:
                how = f"exited with code {code}"
            raise WorkerGone("crashed", f"crashed: its worker process {how}") from None

    def stop(self) -> None:
        try:
            self.conn.close()
        except OSError:
            pass
        if self.popen is not None:
            if self.popen.poll() is None:
                self.popen.kill()
            self.popen.wait(5.0)
            return
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5.0)


class _Duplex:
    """Two one-way connections used as one (the pipes of a spawned worker)."""

    def __init__(self, incoming: Any, outgoing: Any):
        self.incoming, self.outgoing = incoming, outgoing

    def send(self, obj: Any) -> None:
        self.outgoing.send(obj)

    def recv(self) -> Any:
        return self.incoming.recv()

    def poll(self, timeout: float | None) -> bool:
        return self.incoming.poll(timeout)

    def close(self) -> None:
        self.incoming.close()
        self.outgoing.close()


def serve_fresh(read_fd: int, write_fd: int) -> None:
    """Entry of a spawned worker: rebuild the function by import, then serve calls."""
    from multiprocessing.connection import Connection

    conn = _Duplex(Connection(read_fd, writable=False), Connection(write_fd, readable=False))
    payload, path, names = conn.recv()
    sys.path[:] = path
    try:
        fn = pickle.loads(payload).resolve()
    except BaseException as exc:  # noqa: BLE001 - told to the parent on the first call
        message = f"the worker process could not import the operator: {describe_exception(exc)}"

        def fn(*args: Any) -> Any:
            raise RuntimeError(message)

    _serve(conn, fn, names)


class IsolatedSandbox(Sandbox):
    """A `Sandbox` whose calls run in a worker process (started on the first call, killed on a timeout)."""

    def __init__(self, fn: Callable[..., Any], **kwargs: Any):
        super().__init__(fn, **kwargs)
        self._worker: Worker | None = None

    def _call(self, args: Sequence[Any], names: Sequence[str]) -> np.ndarray:
        if self._worker is None:
            self._worker = Worker(self.fn, names)
        try:
            kind, payload = self._worker.call([np.asarray(a) for a in args], self.timeout)
        except WorkerGone as gone:
            self._worker = None
            self.dead = "stopped on an earlier call (its worker process died)" if gone.kind == "crashed" \
                else "hung on an earlier call"
            raise OperatorMisbehaved(gone.kind, str(gone)) from None
        if kind == "ok":
            return payload
        if kind in ("mutated", "conversion"):
            raise OperatorMisbehaved(kind, payload)
        raise OperatorMisbehaved("raised", payload)

    def close(self) -> None:
        """Stop the worker process, if any."""
        if self._worker is not None:
            self._worker.stop()
            self._worker = None
