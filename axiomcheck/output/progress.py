"""The progress bar of one long `verify()` run, on a terminal only.

`verify_bar(stream)` yields a `progress(phase, done, total)` hook for
`verify(..., progress=hook)`.  Nothing is drawn unless `stream` is a terminal
(a log or a pipe gets no bar and no extra lines) and the run is still going
after `DELAY` seconds, so a run of a second leaves the screen as it was.  The
bar is transient: it disappears when the run ends.

>>> import io
>>> with verify_bar(io.StringIO()) as hook:
...     hook("sweep", 1, 10)
>>> hook is not None
True
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import IO, Any

from .text import _isatty, progress_bar, wants_fancy

#: Seconds a run must last before its bar appears.
DELAY = 1.0

_LABELS = {"sweep": "sweep samples", "checks": "checks", "search": "search examples", "shrink": "shrinking"}


class _Bar:
    """Starts a rich bar on the first tick after `DELAY` seconds; one bar, relabelled per phase."""

    def __init__(self, stream: IO[str], enabled: bool):
        self.stream, self.enabled = stream, enabled
        self.start = time.perf_counter()
        self.progress: Any = None
        self.task: Any = None
        self.phase = ""

    def __call__(self, phase: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.progress is None:
            if time.perf_counter() - self.start < DELAY:
                return
            from rich.console import Console

            self.progress = progress_bar(Console(file=self.stream))
            self.progress.start()
            self.task = self.progress.add_task("verifying", total=max(total, 1))
        label = f"verifying: {_LABELS.get(phase, phase)}"
        if phase != self.phase:
            self.phase = phase
            self.progress.reset(self.task, total=max(total, 1), description=label)
        self.progress.update(self.task, completed=min(done, max(total, 1)))

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


@contextlib.contextmanager
def verify_bar(stream: IO[str], *, quiet: bool = False, color: str | None = "auto") -> Iterator[Any]:
    """A progress hook drawing a bar on `stream` when it is a terminal (and not `quiet`)."""
    bar = _Bar(stream, enabled=not quiet and _isatty(stream) and wants_fancy(stream, color))
    try:
        yield bar
    finally:
        bar.stop()
