"""The Python code blocks of the documentation, as a reader meets them.

The convention (written down in docs/architecture.md, "Code blocks in the docs"):

- a ```` ```python ```` block is a program: the blocks of one page run in order, in one
  namespace, in a scratch folder, as a reader runs them;
- a block titled with a file name (```` ```python title="my_weights.py" ````) is a file the
  page asks the reader to save: it is written into the scratch folder (and imported, so an
  error in it shows) for the blocks after it;
- a block titled ``Sketch ...`` (```` ```python title="Sketch: inside your training step" ````)
  is a fragment, not a program: it is not run, but every name it takes from axiomcheck
  (``ac.X``, ``from axiomcheck... import X``) must exist.

Material for MkDocs shows the title above the block, so a reader sees which kind it is.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^(?P<indent>[ ]*)```python(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=indent)```[ ]*$",
                   re.M | re.S)
TITLE = re.compile(r'title="([^"]*)"')
SKETCH_PREFIX = "sketch"


@dataclasses.dataclass(frozen=True)
class Block:
    """One ```python block of a page: its code, its title and the line it starts on."""

    page: str
    line: int
    title: str
    code: str

    @property
    def is_sketch(self) -> bool:
        return self.title.lower().startswith(SKETCH_PREFIX)

    @property
    def file_name(self) -> str | None:
        """The file the page asks the reader to save this block as, if any."""
        return self.title if self.title.endswith(".py") and "/" not in self.title else None

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def pages() -> list[Path]:
    """Every Markdown page a reader may run code from: the README and the docs."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def blocks(page: Path) -> list[Block]:
    """The ```python blocks of `page`, in order (indented ones dedented)."""
    text = page.read_text(encoding="utf-8")
    out = []
    for m in FENCE.finditer(text):
        indent = len(m.group("indent"))
        body = "\n".join(line[indent:] for line in m.group("body").splitlines())
        title = TITLE.search(m.group("info"))
        out.append(Block(page=str(page.relative_to(ROOT)), line=text.count("\n", 0, m.start()) + 1,
                         title=title.group(1) if title else "", code=body + "\n"))
    return out


def axiomcheck_names(code: str) -> list[tuple[str, str]]:
    """(module, name) pairs a block takes from axiomcheck: `ac.X` / `axiomcheck.X` and
    `from axiomcheck[.sub] import X`."""
    tree = ast.parse(code)
    aliases = {"ac": "axiomcheck"}  # the docs' usual alias; `axiomcheck` only once imported (it is also a fixture)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name == "axiomcheck" or a.name.startswith("axiomcheck."):
                    aliases[a.asname or a.name] = a.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "axiomcheck":
            found.extend((node.module, a.name) for a in node.names)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            found.append((aliases[node.value.id], node.attr))
    return found
