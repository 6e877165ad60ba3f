"""The package as a user gets it: the sdist and the wheel, installed into fresh environments.

The tests marked `slow` build the sdist and, from it, the wheel (once per
module), create a virtual environment per interpreter (Python 3.10 and 3.13
where they exist on the machine; skipped with the reason otherwise), install
the wheel there without extras — pip resolves the dependencies — and use it
from an empty folder: the import, the command, the built-in suites, the pytest
plugin, a type checker on a user's script, the CI recipe of the docs.
They are marked slow: `make slow-test` and CI run them; `make test` leaves them out.

The build and the environments are made once per session and shared by the
tests that need them, across pytest-xdist workers too: the first worker to need
one makes it under a file lock in the session's temporary folder, the others
wait for it and reuse it.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import textwrap
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

from axiomcheck import __version__
from axiomcheck.frontends.cli import main

ROOT = Path(__file__).resolve().parent.parent
BUILTIN = ROOT / "axiomcheck" / "suites" / "builtin"
REPO_SUITES = ROOT / "conformance_suites"
CI_PAGE = ROOT / "docs" / "suites-and-ci.md"
#: the interpreters the package is installed on (the oldest and the newest supported)
INTERPRETERS = ("3.10", "3.13")
#: a subprocess's limit for a pip install that resolves jax & co. from the index
INSTALL_TIMEOUT = 900


# ============================================================================= helpers


def _env(extra: Mapping[str, str] | None = None, path_first: Path | None = None) -> dict[str, str]:
    """This process's environment without what would make a child use this checkout or this session."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
           and not k.startswith("PYTEST_")}
    env["NO_COLOR"] = "1"
    if path_first is not None:
        env["PATH"] = f"{path_first}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra or {})
    return env


def _run(cmd: Sequence[str | Path], cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 600,
         check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=dict(env if env is not None else _env()),
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        pytest.fail(f"{shlex.join(str(c) for c in cmd)} exited {proc.returncode}\n"
                    f"--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}")
    return proc


def find_python(version: str) -> Path | None:
    """An interpreter of `version` ("3.10"): on PATH, else one pyenv installed; None if neither runs."""
    names = [shutil.which(f"python{version}")]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    names += sorted(glob.glob(str(pyenv / "versions" / f"{version}.*" / "bin" / f"python{version}")), reverse=True)
    for name in names:
        if not name:
            continue
        try:
            out = subprocess.run([name, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                 capture_output=True, text=True, timeout=60, env=_env())
        except (OSError, subprocess.SubprocessError):
            continue
        if out.returncode == 0 and out.stdout.strip() == version:
            return Path(name)
    return None


@dataclass
class Venv:
    """A fresh virtual environment with the wheel (and pytest) installed."""

    root: Path
    version: str
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def bin(self) -> Path:
        return self.root / ("Scripts" if os.name == "nt" else "bin")

    @property
    def python(self) -> Path:
        return self.bin / ("python.exe" if os.name == "nt" else "python")

    def env(self, **extra: str) -> dict[str, str]:
        return _env(extra, path_first=self.bin)

    def run(self, *cmd: str | Path, cwd: Path, check: bool = True, timeout: float = 600,
            ) -> subprocess.CompletedProcess[str]:
        """Run `cmd` with this environment's bin/ first on PATH (a command name is looked up there)."""
        exe = shutil.which(str(cmd[0]), path=str(self.bin)) or str(cmd[0])
        return _run([exe, *cmd[1:]], cwd, self.env(), timeout=timeout, check=check)


@dataclass
class Dists:
    sdist: Path
    wheel: Path
    seconds: float


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (between xdist workers); no lock where fcntl is missing."""
    try:
        import fcntl
    except ImportError:  # Windows: one process at a time is assumed
        yield
        return
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def shared(factory: pytest.TempPathFactory, name: str, make: Callable[[Path], dict[str, str]]) -> dict[str, str]:
    """`make(folder)` run once per session (all xdist workers together); its record, read back after."""
    root = factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the workers' basetemps share this folder
    folder, done = root / name, root / f"{name}.json"
    with _locked(root / f"{name}.lock"):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            done.write_text(json.dumps(make(folder)))
    record: dict[str, str] = json.loads(done.read_text())
    return record


def _venv(factory: pytest.TempPathFactory, python: Path, version: str, dists: Dists) -> Venv:
    def make(folder: Path) -> dict[str, str]:
        venv = Venv(folder / "venv", version)
        t0 = time.perf_counter()
        _run([python, "-m", "venv", venv.root], folder, timeout=300)
        t1 = time.perf_counter()
        # No extras: what `pip install axiomcheck` gives a user. pytest is for the plugin test.
        _run([venv.python, "-m", "pip", "install", "-q", dists.wheel, "pytest"], folder, _env(),
             timeout=INSTALL_TIMEOUT)
        return {"root": str(venv.root), "venv_s": f"{t1 - t0:.1f}", "install_s": f"{time.perf_counter() - t1:.1f}"}

    record = shared(factory, f"venv-{version}", make)
    return Venv(Path(record["root"]), version,
                {"venv": float(record["venv_s"]), "install": float(record["install_s"])})


def _build_requirements() -> list[str]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return list(tomllib.load(f)["build-system"]["requires"])


def build_dists(out: Path) -> Dists:
    """The sdist, built with the project's own build backend, and the wheel pip builds from it.

    The wheel comes from the unpacked sdist (as `python -m build` does it), so it
    holds only what the sdist carries and nothing a stale build/ folder left.
    """
    t0 = time.perf_counter()
    backend = out / "backend"
    _run([sys.executable, "-m", "pip", "install", "-q", "--target", backend, *_build_requirements()], out,
         timeout=300)
    dist = out / "dist"
    dist.mkdir()
    code = f"from setuptools import build_meta as b; print(b.build_sdist({str(dist)!r}))"
    _run([sys.executable, "-c", code], ROOT, _env({"PYTHONPATH": str(backend)}), timeout=300)
    (sdist,) = dist.glob("axiomcheck-*.tar.gz")
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", dist, sdist], out, timeout=600)
    (wheel,) = dist.glob("axiomcheck-*.whl")
    return Dists(sdist, wheel, time.perf_counter() - t0)


# ============================================================================= fixtures


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    def make(folder: Path) -> dict[str, str]:
        d = build_dists(folder)
        return {"sdist": str(d.sdist), "wheel": str(d.wheel), "seconds": f"{d.seconds:.1f}"}

    record = shared(tmp_path_factory, "dists", make)
    return Dists(Path(record["sdist"]), Path(record["wheel"]), float(record["seconds"]))


@pytest.fixture(scope="module", params=INTERPRETERS, ids=[f"py{v}" for v in INTERPRETERS])
def installed(request: pytest.FixtureRequest, dists: Dists, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """The wheel installed without extras into a fresh environment of each supported interpreter."""
    version: str = request.param
    python = find_python(version)
    if python is None:
        pytest.skip(f"no python{version} on this machine (neither on PATH nor installed by pyenv)")
    return _venv(tmp_path_factory, python, version, dists)


@pytest.fixture(scope="module")
def user_venv(dists: Dists, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """An environment with the wheel for a user's project: the 3.13 one when it exists, else this Python's."""
    python = find_python(INTERPRETERS[-1])
    if python is not None:
        return _venv(tmp_path_factory, python, INTERPRETERS[-1], dists)
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    return _venv(tmp_path_factory, Path(sys.executable), here, dists)


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    """An empty folder: no conformance_suites/, no checkout on sys.path."""
    folder = tmp_path / "empty"
    folder.mkdir()
    return folder


# ============================================================================= the built-in suites (fast)


def test_builtin_suites_are_the_repository_suites():
    shipped = {p.name: p.read_bytes() for p in sorted(BUILTIN.glob("*.toml"))}
    repo = {p.name: p.read_bytes() for p in sorted(REPO_SUITES.glob("*.toml"))}
    assert shipped, f"no built-in suites in {BUILTIN}"
    assert sorted(shipped) == sorted(repo), "axiomcheck/suites/builtin/ and conformance_suites/ hold different files"
    differ = sorted(name for name in shipped if shipped[name] != repo[name])
    assert not differ, (f"{differ} differ between axiomcheck/suites/builtin/ (the ones that ship) and "
                        f"conformance_suites/: edit the built-in ones and run `make suites`")


def test_bare_command_without_local_suites_points_at_builtin(capsys, in_tmp):
    assert main([]) == 2
    err = capsys.readouterr().err
    assert "no ./conformance_suites folder" in err and "axiomcheck run --builtin" in err
    assert not (in_tmp / "reports").exists()


def test_run_builtin_from_an_empty_folder(capsys, in_tmp):
    code = main(["run", "--builtin", "--item", "uniform_context", "--max-examples", "5", "-q"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "1 operator" in out + err


def test_python_dash_m_axiomcheck(empty):
    proc = _run([sys.executable, "-m", "axiomcheck", "--version"], empty, _env({"PYTHONPATH": str(ROOT)}))
    assert proc.stdout.strip() == f"axiomcheck {__version__}"


# ============================================================================= the wheel and its metadata


@pytest.mark.slow
def test_wheel_carries_data_license_and_metadata(dists: Dists):
    with zipfile.ZipFile(dists.wheel) as whl:
        names = set(whl.namelist())
        info = f"axiomcheck-{__version__}.dist-info"
        meta = whl.read(f"{info}/METADATA").decode()
        entry_points = whl.read(f"{info}/entry_points.txt").decode()
        license_text = whl.read(f"{info}/licenses/LICENSE").decode()
    assert {"axiomcheck/py.typed", "axiomcheck/__main__.py"} <= names
    assert {f"axiomcheck/suites/builtin/{p.name}" for p in BUILTIN.glob("*.toml")} <= names
    assert "MIT License" in license_text and "Copyright (c) 2026 the axiomcheck authors" in license_text
    assert "License-Expression: MIT" in meta and "License-File: LICENSE" in meta
    classifiers = set(re.findall(r"^Classifier: (.+)$", meta, re.M))
    assert {f"Programming Language :: Python :: 3.{m}" for m in range(10, 14)} <= classifiers
    assert {"Typing :: Typed", "Intended Audience :: Science/Research",
            "Topic :: Scientific/Engineering :: Artificial Intelligence"} <= classifiers
    # the command's module moved with the front ends (axiomcheck/frontends/); the command is still `axiomcheck`
    assert re.search(r"^axiomcheck = axiomcheck\.frontends\.cli:main$", entry_points, re.M)
    assert re.search(r"^\[pytest11\]\naxiomcheck = axiomcheck\.pytest_plugin$", entry_points, re.M)
    assert not [n for n in names if n.startswith(("tests/", "conformance_suites/", "benchmarks/"))]


# ============================================================================= installed on 3.10 and 3.13


@pytest.mark.slow
def test_installed_wheel_imports_and_reports_its_version(installed: Venv, empty: Path):
    code = "import sys, axiomcheck as ac; print(ac.__version__, ac.__file__); print('%d.%d' % sys.version_info[:2])"
    lines = installed.run("python", "-c", code, cwd=empty).stdout.splitlines()
    version, path = lines[0].split(" ", 1)
    assert version == __version__ and lines[1] == installed.version
    assert Path(path).is_relative_to(installed.root), f"imported {path}, not the installed copy"
    assert installed.run("axiomcheck", "--version", cwd=empty).stdout.strip() == f"axiomcheck {__version__}"
    assert installed.run("python", "-m", "axiomcheck", "--version", cwd=empty).stdout.strip() == \
        f"axiomcheck {__version__}"


@pytest.mark.slow
def test_installed_wheel_verifies_a_builtin_operator(installed: Venv, empty: Path):
    proc = installed.run("axiomcheck", "verify", "entropy_exp", "--max-examples", "5", cwd=empty, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "entropy_exp (token scale" in proc.stdout
    assert re.search(r"^token\.normalization\s+III\.1\s+pass\b", proc.stdout, re.M), proc.stdout
    assert "passed: 1 operator, 9 checks, 9 as expected" in proc.stdout


@pytest.mark.slow
def test_installed_wheel_runs_the_builtin_suites_from_an_empty_folder(installed: Venv, empty: Path):
    # Bare `axiomcheck` finds no suites here, and says how to run the shipped ones.
    proc = installed.run("axiomcheck", cwd=empty, check=False)
    assert proc.returncode == 2 and "axiomcheck run --builtin" in proc.stderr, proc.stderr
    # Loading the built-in suites resolves every operator they name; one item of each kind runs.
    proc = installed.run("axiomcheck", "run", "--builtin", "--item", "entropy_exp", "--item",
                         "indep_context_normalization", "--item", "entropy_exp+inverse_loss+ordinal_safety",
                         "--max-examples", "5", "-o", "reports", cwd=empty, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "passed: 3 operators" in proc.stdout, proc.stdout
    assert (empty / "reports" / "summary.md").is_file()


@pytest.mark.slow
def test_installed_wheel_pytest_plugin_loads(installed: Venv, empty: Path):
    (empty / "test_trivial.py").write_text("def test_one():\n    assert 1 + 1 == 2\n")
    proc = installed.run("python", "-m", "pytest", "-p", "no:cacheprovider", cwd=empty, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"^plugins: .*\baxiomcheck-" + re.escape(__version__), proc.stdout, re.M), proc.stdout
    assert "1 passed" in proc.stdout


# ============================================================================= types


USER_SCRIPT = '''
    """A user's script, type-checked with mypy --strict against the installed package."""

    import numpy as np
    from numpy.typing import NDArray

    import axiomcheck as ac


    @ac.token_operator
    def plain(probs: NDArray[np.float64], context: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.full(probs.shape[:2], 1.0 / probs.shape[1])


    @ac.context_operator(name="typed_router", bounds=(0.25, 0.25), register=False)
    def router(context: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.full((context.shape[0], 4), 0.25)


    @ac.task_operator(name="typed_task", register=False)
    def task(losses: NDArray[np.float64], sizes: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.full(losses.shape, 0.25)


    reveal_type(plain)
    reveal_type(router)
    both: ac.Operator = ac.compose(plain, router, name="typed_both")
    report: ac.Report = ac.verify(router, max_examples=5)
    certified: ac.Report = ac.certify(router, max_examples=5)  # the package is the call; typed as the call
    failing: list[str] = [r.axiom for r in report.results if not r.ok]
    passed: bool = report.passed
    first: ac.Result = report.results[0]
    print(both.name, failing, passed, first.status, task.scale, certified.assumptions)
'''


@pytest.mark.slow
def test_mypy_strict_accepts_a_user_script(user_venv: Venv, tmp_path: Path):
    pytest.importorskip("mypy", reason="mypy is a dev dependency: pip install -e '.[dev]'")
    script = tmp_path / "user_script.py"
    script.write_text(textwrap.dedent(USER_SCRIPT))
    proc = _run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--python-executable",
                 user_venv.python, script.name], tmp_path, _env(), check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    revealed = re.findall(r'Revealed type is "([^"]+)"', out)
    assert revealed == ["axiomcheck.spec.operator.Operator"] * 2, out


# ============================================================================= the sdist


SDIST_TESTS = ["tests/test_layout.py", "tests/test_domains.py", "tests/test_packaging.py"]


@pytest.mark.slow
def test_sdist_carries_its_tests_and_they_pass(dists: Dists, tmp_path: Path):
    with tarfile.open(dists.sdist) as tar:
        try:
            tar.extractall(tmp_path, filter="data")
        except TypeError:  # Python < 3.10.12 has no extraction filters
            tar.extractall(tmp_path)
    (tree,) = tmp_path.glob("axiomcheck-*")
    for rel in ("LICENSE", "CHANGELOG.md", "README.md", "Makefile", "mkdocs.yml", "pyproject.toml",
                "tests/conftest.py", "tests/helpers.py", "docs/index.md", "docs/hooks/check_pages.py",
                "benchmarks/engine.py", "axiomcheck/py.typed", *SDIST_TESTS):
        assert (tree / rel).is_file(), f"the sdist lacks {rel}"
    assert sorted(p.name for p in (tree / "conformance_suites").glob("*.toml")) == \
        sorted(p.name for p in REPO_SUITES.glob("*.toml"))
    # its own --basetemp: a new numbered one would count against this session's kept folders
    proc = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow",
                 "--basetemp", tmp_path / "basetemp", *SDIST_TESTS], tree, _env({"PYTHONPATH": str(tree)}),
                check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert re.search(r"\d+ passed", proc.stdout) and " failed" not in proc.stdout, proc.stdout


# ============================================================================= the CI recipe, in a user's project


def ci_recipe(page: Path = CI_PAGE) -> list[str]:
    """The `run:` commands of the workflow between the ci-recipe markers of the docs page, in order."""
    text = page.read_text(encoding="utf-8")
    m = re.search(r"<!-- ci-recipe\b.*?-->\s*```yaml\n(.*?)```\s*<!-- /ci-recipe -->", text, re.S)
    assert m, f"{page.name}: no ```yaml block between <!-- ci-recipe --> and <!-- /ci-recipe -->"
    runs = re.findall(r"^\s*(?:- )?run:\s*(.+?)\s*$", m.group(1), re.M)
    assert runs and all(not r.startswith(("|", ">")) for r in runs), "keep each run: step on one line"
    return runs


WEIGHTS = '''
    import numpy as np

    import axiomcheck as ac


    @ac.context_operator(bounds=(0.25, 0.25))
    def good(context):
        """Equal weights for four teachers."""
        return np.full((context.shape[0], 4), 0.25)


    @ac.context_operator
    def bad(context):
        """Forgets to normalize: the four weights sum to 1.2."""
        return np.full((context.shape[0], 4), 0.3)
'''

SUITE = '''
    [suite]
    name = "my-weights"
    max_examples = 10

    [[item]]
    operator = "weights:good"

    [[item]]
    operator = "weights:bad"
'''


def test_ci_recipe_is_a_users_recipe():
    runs = ci_recipe()
    assert runs[0] == "pip install axiomcheck"
    assert "axiomcheck run my_suites/ -o reports" in runs
    assert any("reports/summary.md" in r and "GITHUB_STEP_SUMMARY" in r for r in runs)
    assert not any("-e " in r or "conformance_suites" in r for r in runs), runs


@pytest.mark.slow
@pytest.mark.parametrize("expected", [True, False], ids=["violation-expected", "violation-new"])
def test_ci_recipe_in_a_users_project(user_venv: Venv, dists: Dists, tmp_path: Path, expected: bool):
    project = tmp_path / "project"
    (project / "my_suites").mkdir(parents=True)
    (project / "weights.py").write_text(textwrap.dedent(WEIGHTS))
    suite = textwrap.dedent(SUITE)
    if expected:
        suite += 'expect = { "context.normalization" = "fail" }\n'
    (project / "my_suites" / "weights.toml").write_text(suite)
    step_summary = tmp_path / "step_summary.md"
    codes = []
    for command in ci_recipe():
        if command.startswith("pip install"):
            # the package is not on the index yet: the wheel stands in for it
            words = shlex.split(command)
            assert "axiomcheck" in words, command
            command = shlex.join(str(dists.wheel) if w == "axiomcheck" else w for w in words)
        proc = subprocess.run(["bash", "-c", command], cwd=project, capture_output=True, text=True, timeout=600,
                              env=user_venv.env(GITHUB_STEP_SUMMARY=str(step_summary)))
        codes.append((command, proc.returncode, proc.stdout + proc.stderr))
    suite_step = next(c for c in codes if c[0].startswith("axiomcheck run"))
    assert suite_step[1] == (0 if expected else 1), suite_step[2]
    assert [c[:2] for c in codes if c is not suite_step and c[1] != 0] == [], codes
    summary = (project / "reports" / "summary.md").read_text()
    assert "weights:bad" in summary and "context.normalization" in summary, summary
    assert step_summary.read_text() == summary
    assert {"junit.xml", "report.html", "report.json", "summary.md"} <= {p.name for p in (project / "reports").iterdir()}
