"""A griffe extension for the API reference: show doctest examples as code.

The package's docstrings carry doctests as bare `>>>` blocks (pytest runs them).
Markdown would read the `>` marks as nested quotes, so this wraps each block —
from a `>>>` line to the next blank line — in a `pycon` code fence before
mkdocstrings renders the docstring. The docstrings themselves are unchanged.
"""

from __future__ import annotations

import griffe


def fence_doctests(text: str) -> str:
    """`text` with every bare doctest block wrapped in a ```pycon fence."""
    out: list[str] = []
    in_fence = in_doctest = False
    for line in text.splitlines():
        stripped = line.lstrip()
        if not in_doctest and stripped.startswith("```"):
            in_fence = not in_fence
        elif not in_fence and not in_doctest and stripped.startswith(">>>"):
            in_doctest = True
            out.append(line[: len(line) - len(stripped)] + "```pycon")
        elif in_doctest and not stripped:
            in_doctest = False
            out.append(" " * _indent(out) + "```")
        out.append(line)
    if in_doctest:
        out.append(" " * _indent(out) + "```")
    return "\n".join(out)


def _indent(lines: list[str]) -> int:
    for line in reversed(lines):
        if line.lstrip().startswith("```pycon"):
            return len(line) - len(line.lstrip())
    return 0


class DoctestFences(griffe.Extension):
    """Fence bare doctest blocks in every docstring griffe loads."""

    def on_object(self, *, obj, **kwargs) -> None:
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = fence_doctests(obj.docstring.value)
