"""The axiomcheck pytest plugin (registered through the `pytest11` entry point).

* Collects conformance suites as test items, one per operator × axiom: any
  `.toml` file matching a glob of the ini option `axiomcheck_suites` (relative to
  the rootdir; default `conformance_suites/*.toml`), any file named
  `axiomcheck_*.toml`, and any `.toml` file named on the command line.  pytest
  only looks in the folders it collects from (`testpaths` or the arguments), so
  add `conformance_suites` there or name it: `pytest conformance_suites`.
  An item passes when the verdict matches the suite's expectation.
* A fixture `axiomcheck`: call it like `axiomcheck.verify` (it returns a
  `Report`), or `axiomcheck.check(op)` to fail the test with every violation.
* A marker `@pytest.mark.axiomcheck(seed=..., max_examples=..., tolerance=...,
  timeout=..., and any `World` size: teachers=..., vocab=..., ...)` that sets the
  fixture's settings for one test.
* Options `--axiomcheck-seed`, `--axiomcheck-max-examples`, the world sizes
  (`--axiomcheck-teachers`, ...) and `--axiomcheck-report DIR` (every report
  format, written at the end of the session), each also an ini key
  (`axiomcheck_seed`, ...).  Precedence: explicit arguments of a fixture call >
  command line > marker or suite file > ini > built-in default; a world size
  the operator declares (`world=` on its decorator) comes before ini.
* A suite with `certify = true` (or an item with it) gets certified verdicts
  beside the sampled ones, in its items' failure text and in the report files;
  the fixture takes `certify=True` (and `domain`, `certify_gap`, `certify_time`)
  like `axiomcheck.verify`.
* A terminal summary table of the operators checked.

Cheap when unused: this module imports only `axiomcheck.frontends.options`; the engine,
the operator library and the suites are imported when an axiomcheck item or the
fixture is actually used, and never jax.  Collection is deterministic (file
order, then catalogue order), so `pytest -n N` (pytest-xdist) collects the same
items and gets the same verdicts; each worker verifies an operator once and
reuses the report for all of its axiom items.  The items of one operator carry
an `xdist_group` marker, so `--dist loadgroup` can keep them on one worker where
pytest-xdist honours it (seen not to with pytest 9.2 and xdist 3.8: then each
worker that gets one of them verifies the operator once, with the same verdict).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
from pathlib import Path
from typing import Any

import pytest

from .frontends import options as O
from .frontends.pytest_state import State as _State
from .spec import worlds

DEFAULT_SUITE_GLOBS = ["conformance_suites/*.toml"]
#: The marker's keywords: the settings, every `World` size, the tolerance and the per-call limit.
MARKER_KEYS = ("seed", "max_examples", *worlds.fields(), "tolerance", "timeout")
#: The marker's line in `pytest --markers`.
MARKER_HELP = (f"axiomcheck({', '.join(f'{key}=None' for key in MARKER_KEYS)}): settings of the `axiomcheck` "
               "fixture in this test")
#: Keywords of a fixture call that ask for certified verdicts (as `axiomcheck.verify` takes them).
CERTIFY_KEYS = ("certify", "domain", "certify_gap", "certify_time")
_STATE = pytest.StashKey["_State"]()


# ============================================================================= options


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("axiomcheck", "axiomcheck: conformance suites and the axiomcheck fixture")
    O.add_to(group.addoption, pytest=True)
    O.add_ini(parser.addini)
    parser.addini("axiomcheck_suites", type="linelist", default=list(DEFAULT_SUITE_GLOBS),
                  help="globs (relative to the rootdir) of the conformance suite files to collect "
                       "(default: conformance_suites/*.toml)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    config.stash[_STATE] = _State(config)


def _state(config: pytest.Config) -> _State:
    return config.stash[_STATE]


# ============================================================================= collection


def _is_suite_file(file_path: Path, parent: pytest.Collector) -> bool:
    if file_path.suffix != ".toml":
        return False
    config = parent.config
    if parent.session.isinitpath(file_path):
        return True
    if fnmatch.fnmatch(file_path.name, "axiomcheck_*.toml"):
        return True
    try:
        rel = file_path.resolve().relative_to(config.rootpath.resolve()).as_posix()
    except ValueError:
        return False
    return any(fnmatch.fnmatch(rel, g) for g in (config.getini("axiomcheck_suites") or []))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if _is_suite_file(file_path, parent):
        return SuiteFile.from_parent(parent, path=file_path)
    return None


class SuiteFileError(Exception):
    """A malformed suite, shown without a traceback."""


class SuiteFile(pytest.File):
    """A conformance suite file: one child per suite item (operator)."""

    def collect(self) -> Any:
        from . import suites as S

        state = _state(self.config)
        if state.ini_error:
            raise SuiteFileError(f"axiomcheck ini option: {state.ini_error}")
        try:
            suite = S.load(self.path)
        except S.SuiteError as exc:
            raise SuiteFileError("malformed conformance suite:\n" + "\n".join(f"  {p}" for p in exc.problems)) \
                from None
        for n, item in enumerate(suite.items):
            yield OperatorItems.from_parent(self, name=item.id, suite=suite, item=item, index=n)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:  # type: ignore[override]
        if isinstance(excinfo.value, SuiteFileError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class OperatorItems(pytest.Collector):
    """One suite item: an axiom item per check."""

    def __init__(self, *, suite: Any, item: Any, index: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.suite = suite
        self.item = item
        self.index = index

    def collect(self) -> Any:
        xdist = self.config.pluginmanager.hasplugin("xdist")
        for axiom in self.item.axioms:
            node = AxiomItem.from_parent(self, name=axiom, axiom=axiom)
            if xdist:  # with --dist loadgroup, one worker verifies the operator once
                node.add_marker(pytest.mark.xdist_group(name=f"axiomcheck:{self.suite.path}:{self.item.id}"))
            yield node


class AxiomMismatch(Exception):
    """A verdict that does not match the suite's expectation (with its certificate, when there is one)."""

    def __init__(self, outcome: Any, error: str | None = None, result: Any = None):
        super().__init__(outcome.message)
        self.outcome = outcome
        self.error = error
        self.result = result  # the check's `Result`, for its certificate


class AxiomItem(pytest.Item):
    """One operator × axiom of a suite; passes when the verdict matches the expectation."""

    def __init__(self, *, axiom: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.axiom = axiom

    @property
    def group(self) -> OperatorItems:
        return self.parent  # type: ignore[return-value]

    def runtest(self) -> None:
        from . import suites as S

        state = _state(self.config)
        g = self.group
        settings = S.effective(g.item, state.overrides, state.ini)
        report, error = state.verified(g.item, settings)
        ir = S.item_run(g.suite, g.item, settings, report, error)
        outcome = next(o for o in ir.outcomes if o.axiom == self.axiom)
        state.record(g.suite.name, g.suite.path, g.suite.description, (str(self.path), g.index), ir, outcome)
        if error:
            raise AxiomMismatch(outcome, error)
        if outcome.matched:
            if outcome.status == "skipped":
                pytest.skip(f"not applicable: {outcome.message}")
            return
        raise AxiomMismatch(outcome, result=report[self.axiom] if report is not None else None)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:  # type: ignore[override]
        if isinstance(excinfo.value, AxiomMismatch):
            return _describe(excinfo.value.outcome, excinfo.value.error, excinfo.value.result)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        line = self.group.item.line
        return self.path, (line - 1 if line else None), f"{self.group.item.id} · {self.axiom}"


def _describe(o: Any, error: str | None = None, result: Any = None) -> str:
    lines = []
    if error:
        lines.append(f"internal error: {error}")
    lines.append(f"{o.axiom} (paper {o.paper_ref}) on {o.item}: expected {o.expected}, got {o.status}")
    lines.append(f"  {o.message}")
    if getattr(result, "certificate", None) is not None:
        from .output.certified import describe

        lines.append(f"  certified: {describe(result.certificate, result)}")
    if o.counterexample:
        text = json.dumps(o.counterexample, ensure_ascii=False)
        lines.append("  counterexample: " + (text if len(text) <= 2000 else text[:1999] + "…"))
    if o.reproduce:
        lines.append(f"  reproduce: {o.reproduce}")
    return "\n".join(lines)


# ============================================================================= the fixture


class Checker:
    """The `axiomcheck` fixture: `verify` with this test's settings.

    `checker(op, **kwargs)` returns the `Report` (kwargs as for
    `axiomcheck.verify`: teachers, max_examples, axioms, ...);
    `checker.check(op, **kwargs)` also fails the test on any violation.
    """

    def __init__(self, state: _State, node: pytest.Item, marker: dict[str, Any]):
        self._state = state
        self._node = node
        self._calls = 0
        self.last: Any = None  # the ItemRun of the latest call
        self.settings: dict[str, Any] = {}
        self.world_defaults: dict[str, Any] = {}  # ini world sizes: below what the operator declares
        for key in MARKER_KEYS:
            value = state.overrides.get(key)
            if value is None:
                value = marker.get(key)
            if value is None and key in worlds.fields():
                if state.ini.get(key) is not None:
                    self.world_defaults[key] = state.ini[key]
                continue
            if value is None:
                value = state.ini.get(key)
            if value is None and key in O.BY_NAME:
                value = O.BY_NAME[key].default
            if value is not None:
                self.settings[key] = value

    def __call__(self, op: Any, **kwargs: Any) -> Any:
        from . import suites as S
        from .library.lookup import resolve, shadowed, target_name

        target = resolve(op)
        settings = {**self.settings, **kwargs}
        axioms = settings.pop("axioms", None)
        world = {k: settings.pop(k) for k in worlds.fields() if k in settings}
        unknown = set(settings) - set(MARKER_KEYS) - {"sweep_size", "shrink", *CERTIFY_KEYS}
        if unknown:
            raise TypeError(f"axiomcheck() got unknown settings {sorted(unknown)}; expected some of "
                            f"{list(MARKER_KEYS) + ['axioms', *CERTIFY_KEYS]}")
        from .engine import verify

        # the operator's declared world in between
        world = worlds.sizes(worlds.world_for(target.world, world, self.world_defaults))
        report = verify(target, axioms=axioms, **world, **settings)
        self._calls += 1
        ident = self._node.nodeid + (f"[{self._calls}]" if self._calls > 1 else "")
        # Name the operator so the reproduction works from the project: as the test named it, else
        # module:attr or path/file.py:attr (a test module is imported by pytest, not by its name).
        # A name a user's operator took from a built-in means the built-in in a new process: spell it out.
        name = op if isinstance(op, str) and not shadowed(op.strip()) else target_name(target)
        source = name if name is not None else target.name
        item = S.single(target, source, axioms=[r.axiom for r in report.results],
                        world={**{k: report.world[k] for k in worlds.fields() if k in report.world}},
                        seed=settings.get("seed"), max_examples=settings.get("max_examples"),
                        tolerance=settings.get("tolerance"), timeout=settings.get("timeout"))
        item = dataclasses.replace(item, id=ident)
        eff = S.effective(item, {})
        # each result's record as this test names the operator (None: the Python call), with its settings
        report = dataclasses.replace(report, results=tuple(
            r.with_reproduction(dataclasses.replace(S.record_for(None, item, eff, r.axiom, r.reproduction),
                                                    target=name))
            for r in report.results))
        ir = S.item_run(None, item, eff, report)
        for o in ir.outcomes:
            if o.reproduce:
                o.reproduce = report[o.axiom].reproduce
        self.last = ir
        for o in ir.outcomes:
            o.suite = "pytest"
            o.item = ident
            self._state.record("pytest", None, "reports from the axiomcheck fixture",
                               ("~fixture", self._node.nodeid, self._calls), ir, o)
        return report

    verify = __call__

    def check(self, op: Any, **kwargs: Any) -> Any:
        """Verify `op` and fail the test (without a traceback) when a check fails or errors."""
        report = self(op, **kwargs)
        if not report.passed:
            lines = [f"{self.last.source}: {len(report.failing())} check(s) failed"]
            for o in self.last.outcomes:
                if o.verdict != "ok":
                    lines.append(f"- {o.axiom} (paper {o.paper_ref}): {o.status}: {o.message}")
                    cert = report[o.axiom].certificate
                    if cert is not None:
                        from .output.certified import describe

                        lines.append(f"  certified: {describe(cert, report[o.axiom])}")
                    if o.reproduce:
                        lines.append(f"  reproduce: {o.reproduce}")
            pytest.fail("\n".join(lines), pytrace=False)
        return report


@pytest.fixture
def axiomcheck(request: pytest.FixtureRequest) -> Checker:
    """`verify` with the session's settings (and this test's `@pytest.mark.axiomcheck(...)`)."""
    state = _state(request.config)
    if state.ini_error:
        raise pytest.UsageError(f"axiomcheck ini option: {state.ini_error}")
    marker: dict[str, Any] = {}
    for mark in reversed(list(request.node.iter_markers("axiomcheck"))):  # closest marker wins
        if mark.args:
            pytest.fail(f"@pytest.mark.axiomcheck takes keyword arguments only ({', '.join(MARKER_KEYS)}), "
                        f"got positional {mark.args!r}", pytrace=False)
        unknown = set(mark.kwargs) - set(MARKER_KEYS)
        if unknown:
            pytest.fail(f"@pytest.mark.axiomcheck got unknown keyword(s) {sorted(unknown)}; expected some of "
                        f"{', '.join(MARKER_KEYS)}", pytrace=False)
        marker.update(mark.kwargs)
    return Checker(state, request.node, marker)


# ============================================================================= xdist and the end of the session


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    state = config.stash.get(_STATE, None)
    if state is None:
        return
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand what ran to the controller
        workeroutput["axiomcheck"] = json.dumps(list(state.runs.values()))
        return
    if state.runs and state.report_path:
        from .output import files

        try:
            state.written = files.write_all(state.build_run(), state.report_path)
        except OSError as exc:  # an unwritable place is the user's to fix, not an internal error
            state.write_error = f"cannot write the reports into {state.report_dir!r}: {exc}"


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist controller: collect what a worker ran."""
    data = getattr(node, "workeroutput", {}).get("axiomcheck")
    if data:
        _state(node.config).merge(json.loads(data))


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is None or not state.runs or getattr(config, "workeroutput", None) is not None:
        return
    from .output.text import plain_table

    run = state.build_run()
    terminalreporter.write_sep("-", "axiomcheck")
    rows = []
    for s in run.suites:
        for i in s.items:
            st = [o.status for o in i.outcomes]
            v = i.verdict
            exp = sum(1 for o in i.outcomes if o.matched and o.expected != "pass")
            rows.append([s.name, i.item, str(len(st)), str(st.count("pass")), str(st.count("fail")),
                         str(st.count("error")), str(st.count("skipped")), str(exp), v])
    table = plain_table(["suite", "operator", "checks", "pass", "fail", "error", "skipped", "expected fail",
                          "verdict"], rows)
    for line in table.splitlines():
        terminalreporter.write_line(line)
    for _fmt, path in state.written.items():
        terminalreporter.write_line(f"axiomcheck: wrote {path}")
    if state.write_error:
        terminalreporter.write_line(f"axiomcheck: error: {state.write_error}", red=True)
