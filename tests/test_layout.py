"""The package's shape: small modules, imports that run one way, a light `import axiomcheck`.

These are the layout rules of docs/architecture.md, checked on the source so a
change that breaks one fails here rather than in review.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "axiomcheck"
MAX_LINES = 400
#: modules that compute; none of them may import an output module
COMPUTING = ("axiomcheck.engine", "axiomcheck.checks", "axiomcheck.properties", "axiomcheck.domains",
             "axiomcheck.families", "axiomcheck.strategies", "axiomcheck.scales", "axiomcheck.axioms",
             "axiomcheck.compose", "axiomcheck.kernels", "axiomcheck.operator", "axiomcheck.results",
             "axiomcheck.rules", "axiomcheck.guard")
RENDERERS = ("axiomcheck.output", "rich", "matplotlib")


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _top_level_imports(name: str, path: Path, known: dict[str, Path] | None = None) -> set[str]:
    """Modules imported when `name` is imported (module level only; imports inside functions are lazy).

    `from pkg import sub` counts as importing `pkg.sub` when that is a module.
    Importing `a.b.c` first runs the packages `a` and `a.b`, so those are edges too,
    except the importing module's own ancestors (initialized before it anyway).
    """
    known = known or {}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            subs = {f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in known}
            found.update(subs)
            if len(subs) < len(node.names):
                found.add(mod)
    found |= {".".join(m.split(".")[:i]) for m in found for i in range(1, m.count(".") + 1)}
    ancestors = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
    return found - ancestors


def test_no_module_is_over_the_size_limit():
    big = {n: len(p.read_text(encoding="utf-8").splitlines()) for n, p in _modules().items()}
    big = {n: k for n, k in big.items() if k > MAX_LINES}
    assert not big, f"modules over {MAX_LINES} lines (split them by job): {big}"


def test_no_import_cycle():
    mods = _modules()
    graph = {n: {m for m in _top_level_imports(n, p, mods) if m in mods and m != n} for n, p in mods.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph[n]):
            if state.get(m) == 1:
                cycle = stack[stack.index(m):] + [m]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n)


def test_computing_modules_import_no_renderer():
    bad = {}
    for n, p in _modules().items():
        if n.startswith(COMPUTING):
            hits = sorted(m for m in _top_level_imports(n, p) if m.startswith(RENDERERS))
            if hits:
                bad[n] = hits
    assert not bad, f"computing modules importing renderers: {bad}"


def test_import_axiomcheck_stays_light():
    code = ("import sys, axiomcheck; heavy = [m for m in sys.modules if m in ('tomllib', 'tomli', 'jax', "
            "'matplotlib', 'rich', 'torch') or m.startswith(('axiomcheck.suites', 'axiomcheck.output'))]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=PACKAGE.parent)
    assert out.stdout.strip() == "[]", out.stdout


def test_code_points_at_no_document_outside_the_repository():
    hits = [f"{p.relative_to(PACKAGE.parent)}:{i}" for p in PACKAGE.rglob("*.py")
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
            if "DESIGN" in line or "shared/" in line]
    assert not hits, hits
