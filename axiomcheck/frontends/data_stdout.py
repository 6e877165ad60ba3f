"""Keeping a data format on stdout clean of whatever the operator under test prints.

While a `DataStdout(True)` is active, anything written to standard output —
`print()`, a thread of the operator's, a C extension or `os.write(1, ...)` —
goes to standard error instead: the process's file descriptor 1 is pointed at
stderr (`dup2`), and `sys.stdout` too.  `write` sends the data itself to the
real standard output, which is restored on exit.

>>> import io, contextlib
>>> buf = io.StringIO()
>>> with contextlib.redirect_stdout(buf), DataStdout(True) as out:
...     out.write("data\\n")
>>> buf.getvalue()
'data\\n'
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import IO, Any


def _fileno(stream: IO[str] | None) -> int | None:
    try:
        return stream.fileno() if stream is not None else None
    except (AttributeError, OSError, ValueError):
        return None


class DataStdout:
    """Route stray output to stderr while active; `write` puts data on the real stdout."""

    def __init__(self, active: bool):
        self.active = active
        self._stream: IO[str] | None = None
        self._fd: int | None = None
        self._saved: int | None = None
        self._redirect: Any = None

    def __enter__(self) -> DataStdout:
        self._stream = sys.stdout
        if not self.active:
            return self
        fd = _fileno(self._stream)
        if fd is not None:
            self._stream.flush()
            sys.stderr.flush()
            self._fd, self._saved = fd, os.dup(fd)
            os.dup2(_fileno(sys.stderr) or 2, fd)
        self._redirect = contextlib.redirect_stdout(sys.stderr)
        self._redirect.__enter__()
        return self

    def write(self, text: str) -> None:
        """Write `text` to the real standard output (as UTF-8 when it is a file descriptor)."""
        if self._saved is None:
            stream = self._stream or sys.stdout
            stream.write(text)
            stream.flush()
            return
        data = text.encode(getattr(self._stream, "encoding", None) or "utf-8", errors="replace")
        while data:
            data = data[os.write(self._saved, data):]

    def __exit__(self, *exc: object) -> None:
        if self._redirect is not None:
            self._redirect.__exit__(*exc)
            self._redirect = None
        if self._saved is not None and self._fd is not None:
            for stream in (self._stream, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()  # what reached the Python-level stdout meanwhile goes to stderr too
            os.dup2(self._saved, self._fd)
            os.close(self._saved)
            self._saved = None
