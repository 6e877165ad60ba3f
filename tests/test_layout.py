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
COMPUTING = ("axiomcheck.engine", "axiomcheck.checks", "axiomcheck.checks.properties", "axiomcheck.sampling.domains",
             "axiomcheck.sampling.families", "axiomcheck.sampling.strategies", "axiomcheck.spec.scales", "axiomcheck.axioms",
             "axiomcheck.spec.compose", "axiomcheck.kernels", "axiomcheck.spec.operator", "axiomcheck.report.results",
             "axiomcheck.checks.rules", "axiomcheck.guard")
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


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """The nodes under `if TYPE_CHECKING:` (imports a type checker reads and the interpreter never runs)."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", None)) == "TYPE_CHECKING":
            skip |= {id(n) for n in ast.walk(node)}
    return skip


def _imported(name: str, path: Path, known: dict[str, Path] | None = None, *, lazy: bool = False,
              keep_ancestors: bool = False) -> set[str]:
    """Modules imported when `name` is imported (`lazy`: also by its functions, when they run).

    Module level only unless `lazy`; then imports inside functions count too, and so does
    `importlib.import_module("axiomcheck....")` with a literal name.  Imports under
    `if TYPE_CHECKING:` never run and never count.  `from pkg import sub` counts as
    importing `pkg.sub` when that is a module.  Importing `a.b.c` first runs the
    packages `a` and `a.b`, so those are edges too, except the importing module's own
    ancestors (initialized before it anyway) unless `keep_ancestors`.
    """
    known = known or {}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_nodes(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree) if lazy else tree.body:
        if id(node) in skip:
            continue
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
        elif (lazy and isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant)
              and str(node.args[0].value).startswith("axiomcheck")):
            found.add(str(node.args[0].value))
    if keep_ancestors:
        return found
    found |= {".".join(m.split(".")[:i]) for m in found for i in range(1, m.count(".") + 1)}
    ancestors = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
    return found - ancestors


def _top_level_imports(name: str, path: Path, known: dict[str, Path] | None = None) -> set[str]:
    """Modules imported when `name` is imported (module level only; see `_imported`)."""
    return _imported(name, path, known)


def _graph(*, lazy: bool) -> dict[str, set[str]]:
    mods = _modules()
    return {n: {m for m in _imported(n, p, mods, lazy=lazy) if m in mods and m != n} for n, p in mods.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (each holds an import cycle)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


#: The pipeline's stages in the order data flows through them (docs/architecture.md): a module may import
#: its own stage and the stages before it, never one after it, even inside a function.  Stages on one
#: line are peers that never import each other in a cycle (the cycle test sees to that).
STAGES = (
    ("axiomcheck._version", "axiomcheck.errors", "axiomcheck.axioms", "axiomcheck._softmax"),  # the catalogue, the error types, softmax
    ("axiomcheck.calling",),    # calling user code: sandbox, isolation, framework arrays
    ("axiomcheck.spec",),       # what an operator is: Operator, Scale, World, inputs, registry store, compose
    ("axiomcheck.sampling",),   # the inputs each scale is called on
    ("axiomcheck.report",),     # results as plain data, decided from evidence in one place
    ("axiomcheck.checks",),     # one Check per property, predicates and rules, evidence
    ("axiomcheck.certifier",),  # sound enclosures over a stated domain
    ("axiomcheck.library",),    # the built-in operators, and looking operators up by name
    ("axiomcheck.kernels", "axiomcheck.guard"),  # JAX kernels and the weight guards
    ("axiomcheck.engine",),     # orchestration: sweep, search, shrink, assemble, replay, certify
    ("axiomcheck.output",),     # rendering: text, files, HTML
    ("axiomcheck.dynamics",),   # training-time checks and the demo
    ("axiomcheck.frontends", "axiomcheck.suites", "axiomcheck.pytest_plugin", "axiomcheck.__main__", "axiomcheck"),  # the ways in
)

#: Imports against the flow (module, the stage or module it reaches into), each with the reason it is
#: kept; every other one fails `test_each_stage_imports_only_the_stages_before_it`.
KNOWN_BACKWARD = {
    ("axiomcheck.report.displayable", "axiomcheck.output"):
        "a result shows itself in a notebook or on a rich console (`_repr_html_`, `__rich__`): the protocol "
        "puts the hook on the value, so the record imports its renderer when, and only when, it is shown",
}


def _stage(module: str) -> int:
    """The index in STAGES of the stage `module` belongs to (its longest matching prefix)."""
    best = (-1, -1)
    for i, names in enumerate(STAGES):
        for prefix in names:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best[1]:
                best = (i, len(prefix))
    assert best[0] >= 0, f"{module} belongs to no stage: add it to STAGES"
    return best[0]


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _backward(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """The imports of `graph` that go against the stage order."""
    return sorted((a, b) for a, targets in graph.items() for b in targets if _stage(b) > _stage(a))


def test_each_stage_imports_only_the_stages_before_it():
    backward = _backward(_graph(lazy=True))
    for (a, b), why in KNOWN_BACKWARD.items():
        assert any(x == a and _within(y, b) for x, y in backward), f"{a} no longer imports {b}: drop it ({why})"
    unknown = [(x, y) for x, y in backward if not any(x == a and _within(y, b) for a, b in KNOWN_BACKWARD)]
    assert unknown == []


def test_the_stage_rule_finds_an_import_against_the_flow():
    """The rule can fail: sampling reaching into the engine, even from inside a function, is caught."""
    graph = {"axiomcheck.sampling.domains": {"axiomcheck.engine.verifier", "axiomcheck.spec.worlds"},
             "axiomcheck.frontends.cli": {"axiomcheck.engine"}}
    assert _backward(graph) == [("axiomcheck.sampling.domains", "axiomcheck.engine.verifier")]


def test_every_module_belongs_to_a_stage_and_the_root_holds_few():
    mods = _modules()
    for name in mods:
        _stage(name)
    top = sorted(n for n, p in mods.items() if n.count(".") == 1 and p.name != "__init__.py")
    assert len(top) <= 8, top


def test_no_import_cycle_with_the_imports_inside_functions():
    """Lazy (function-level) imports hid cycles the module-level test cannot see: operator <-> registry,
    results -> the package root -> engine -> results, engine -> replay -> engine.  The imports kept
    against the flow (KNOWN_BACKWARD) run inside functions only, and are the only ones that may close one."""
    lazy, eager = _graph(lazy=True), _graph(lazy=False)
    for (a, b), why in KNOWN_BACKWARD.items():
        assert not any(_within(t, b) for t in eager[a]), f"{a} imports {b} at module level: a cycle ({why})"
        lazy[a] = {t for t in lazy[a] if not _within(t, b)}
    assert _cycles(lazy) == []


def test_cycle_finder_finds_a_lazy_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_the_package_root():
    """The package root re-exports the public names; a module inside it that read them from there
    would run the root first (results.py did, for the version)."""
    mods = _modules()
    bad = sorted(n for n, p in mods.items() if n != "axiomcheck" and "axiomcheck" in _imported(
        n, p, mods, lazy=True, keep_ancestors=True))
    assert bad == []


def test_computing_modules_import_no_front_end():
    """The engine diagnosed a world size with the command line's options; nothing that computes may
    import a front end, even inside a function."""
    front = ("axiomcheck.frontends.cli", "axiomcheck.frontends.cliargs", "axiomcheck.frontends.options", "axiomcheck.pytest_plugin",
             "axiomcheck.suites", "axiomcheck.output")
    mods = _modules()
    bad = {}
    for n, p in mods.items():
        if n.startswith(COMPUTING):
            hits = sorted(m for m in _imported(n, p, mods, lazy=True) if m.startswith(front))
            if hits:
                bad[n] = hits
    assert not bad, f"computing modules importing front ends: {bad}"


def test_computing_modules_import_no_renderer():
    bad = {}
    for n, p in _modules().items():
        if n.startswith(COMPUTING):
            hits = sorted(m for m in _top_level_imports(n, p) if m.startswith(RENDERERS))
            if hits:
                bad[n] = hits
    assert not bad, f"computing modules importing renderers: {bad}"


def test_import_axiomcheck_stays_light():
    """`import axiomcheck` (which the pytest plugin's entry point runs in every pytest session) imports
    no numerical library and none of the engine: its names are imported when first used."""
    code = ("import sys, axiomcheck; heavy = [m for m in sys.modules if m.split('.')[0] in ('tomllib', 'tomli', "
            "'jax', 'matplotlib', 'rich', 'torch', 'numpy', 'hypothesis') or m.startswith(('axiomcheck.suites', "
            "'axiomcheck.output', 'axiomcheck.engine', 'axiomcheck.spec.registry', 'axiomcheck.library'))]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=PACKAGE.parent)
    assert out.stdout.strip() == "[]", out.stdout


def _module_level_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


@pytest.mark.parametrize("name", ["CHECKS", "SCALES", "_PROPS", "Guard", "ProgressHook", "Case", "_COLUMNS"])
def test_a_name_means_one_thing(name):
    """Names that meant two things: CHECKS (property -> Check, and id -> text), SCALES (a tuple and a
    dict), _PROPS (catalogue prose and HTML columns), Guard (the call sandbox and the weight guard),
    ProgressHook (verify's progress and a suite run's events)."""
    homes = [n for n, p in _modules().items() if name in _module_level_names(p)]
    assert len(homes) <= 1, homes


def test_no_top_level_module_shares_its_name_with_one_in_a_folder():
    """`ensemble.py` beside `kernels/ensemble.py`, `streams.py` beside `engine/streaming.py` read as one
    thing.  Inside the folders a name may recur (`engine/certified.py`, `output/certified.py`): the folder
    is the stage and says which one it is."""
    def stem(path: Path) -> str:
        return path.stem.rstrip("s").removesuffix("ing")

    mods = _modules()
    top = {stem(p): n for n, p in mods.items() if n.count(".") == 1 and not p.stem.startswith("_")}
    clashes = sorted((top[stem(p)], n) for n, p in mods.items()
                     if n.count(".") > 1 and p.stem != "__init__" and stem(p) in top)
    assert clashes == []


def test_code_points_at_no_document_outside_the_repository():
    hits = [f"{p.relative_to(PACKAGE.parent)}:{i}" for p in PACKAGE.rglob("*.py")
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
            if "DESIGN" in line or "shared/" in line]
    assert not hits, hits


def test_the_benchmarks_import_only_names_that_exist():
    """A rename inside the package once left two benchmark scripts importing names that were gone
    (`Guard`, `IsolatedGuard`); nothing ran them, so nothing noticed.  Their axiomcheck imports are
    resolved here without running the scripts."""
    import importlib

    missing = []
    for script in sorted((PACKAGE.parent / "benchmarks").glob("*.py")):
        for node in ast.walk(ast.parse(script.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("axiomcheck"):
                module = importlib.import_module(node.module)
                for alias in node.names:
                    if not hasattr(module, alias.name) and importlib.util.find_spec(
                            f"{node.module}.{alias.name}") is None:
                        missing.append(f"{script.name}: {node.module}.{alias.name}")
    assert missing == []
