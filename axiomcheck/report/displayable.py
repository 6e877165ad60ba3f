"""How results show themselves in Jupyter and on rich consoles, without either being needed to use them.

`Displayable` gives a plain-data class `_repr_html_` (what Jupyter shows for the
value of a cell) and `__rich__` (what `rich.print` and a rich console show).
Both import their renderer, `axiomcheck.output.display`, only when they are
called: the class's module imports nothing that renders, `_repr_html_` returns a
string without Jupyter installed, and `__rich__` needs rich alone.
"""

from __future__ import annotations

from typing import Any


class Displayable:
    """Mixin: the notebook and rich-console display of `Report`, `Result`, `Run` and the guard's results."""

    __slots__ = ()

    def _repr_html_(self) -> str:
        """The same overview the HTML report draws, as a fragment with its own scoped CSS and nothing remote."""
        from ..output.display import html

        return html(self)

    def __rich__(self) -> Any:
        """The tables the terminal output prints, as a rich renderable."""
        from ..output.display import rich

        return rich(self)
