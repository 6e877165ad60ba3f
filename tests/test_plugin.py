"""The pytest plugin, tested with pytester: collection, failure reports, fixture, marker, options,
the report folder, no jax when unused, xdist determinism, and the shipped suites run through it."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

SHIPPED = Path(__file__).resolve().parent.parent / "conformance_suites"

SUITE = textwrap.dedent("""
    [suite]
    name = "mine"
    seed = 1
    max_examples = 10

    [[item]]
    operator = "ops.py:uniform"

    [[item]]
    operator = "ops.py:unnormalized"
    axioms = ["context.normalization", "context.positivity"]
    expect = { "context.normalization" = "fail" }

    [[item]]
    id = "surprise"
    operator = "ops.py:unnormalized"
    axioms = ["context.normalization"]
""")


@pytest.fixture
def project(pytester: pytest.Pytester, user_ops: str) -> pytest.Pytester:
    """A project with operators in ops.py and a suite in conformance_suites/ (the default glob)."""
    folder = pytester.mkdir("conformance_suites")
    (folder / "ops.py").write_text(user_ops)
    (folder / "mine.toml").write_text(SUITE)
    (pytester.path / "ops.py").write_text(user_ops)
    return pytester


def test_collects_one_item_per_operator_and_axiom(project):
    result = project.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines([
        "conformance_suites/mine.toml::ops.py:uniform::context.normalization",
        "conformance_suites/mine.toml::ops.py:uniform::context.positivity",
        "*",
        "conformance_suites/mine.toml::ops.py:unnormalized::context.positivity",
        "conformance_suites/mine.toml::surprise::context.normalization",
        "12 tests collected*",
    ])


def test_verdicts_failure_report_summary_and_report_folder(project):
    result = project.runpytest("-rs", "--axiomcheck-report", "out")
    # uniform: 8 pass + 1 not applicable; unnormalized: an expected failure passes; surprise fails
    result.assert_outcomes(passed=10, failed=1, skipped=1)
    result.stdout.fnmatch_lines([
        "*surprise · context.normalization*",
        "context.normalization (paper III.18) on surprise: expected pass, got fail",
        "  Σ_k w_k must be 1*",
        "  counterexample: {*",
        "  reproduce: axiomcheck run conformance_suites/mine.toml --item surprise --axioms context.normalization "
        "--seed 1 --max-examples 10",
    ])
    result.stdout.fnmatch_lines(["*- axiomcheck -*", "suite*operator*verdict", "*", "mine*surprise*unexpected"])
    result.stdout.fnmatch_lines(["*SKIPPED*not applicable: no safety ordering declared*"])
    assert "Traceback" not in result.stdout.str()
    doc = json.loads((project.path / "out" / "report.json").read_text())
    assert doc["counts"]["checks"] == 12 and doc["counts"]["unexpected"] == 1
    assert sorted(p.name for p in (project.path / "out").iterdir()) == [
        "junit.xml", "report.html", "report.json", "summary.md"]


def test_malformed_suite_is_a_clear_collection_error(project):
    (project.path / "conformance_suites" / "axiomcheck_bad.toml").write_text(
        '[suite]\nname = "bad"\n[[item]]\noperator = "uniform_context"\naxioms = ["context.nope"]\n')
    result = project.runpytest("--collect-only")
    result.stdout.fnmatch_lines(["*axiomcheck_bad.toml:5: *item* #1.axioms: unknown axiom id 'context.nope'*"])
    assert "Traceback" not in result.stdout.str()
    assert result.ret == pytest.ExitCode.INTERRUPTED


def test_fixture_marker_and_precedence(pytester, user_ops):
    (pytester.path / "ops.py").write_text(user_ops)
    pytester.makeini("[pytest]\naxiomcheck_max_examples = 4\n")
    pytester.makepyfile(test_ops="""
        import pytest

        def test_session_defaults(axiomcheck):
            assert axiomcheck.settings["max_examples"] == 4  # from the ini
            report = axiomcheck("ops.py:uniform")
            assert report.passed and report.seed == 0

        @pytest.mark.axiomcheck(seed=5, max_examples=7, teachers=4)
        def test_marker(axiomcheck):
            assert axiomcheck.settings["max_examples"] == 7
            assert axiomcheck("ops.py:uniform", seed=6).seed == 6  # an explicit argument wins
            assert axiomcheck("ops.py:uniform").seed == (9 if pytest.cmdline_seed else 5)

        def test_check_fails_readably(axiomcheck):
            axiomcheck.check("ops.py:unnormalized")

        @pytest.mark.axiomcheck(sed=1)
        def test_bad_marker(axiomcheck):
            pass
    """)
    pytester.makeconftest("""
        import pytest
        def pytest_configure(config):
            pytest.cmdline_seed = config.getoption("axiomcheck_seed") is not None
    """)
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=1, errors=1)
    result.stdout.fnmatch_lines([
        "ops.py:unnormalized: 1 check(s) failed",
        "- context.normalization (paper III.18): fail: *",
        "  reproduce: axiomcheck verify ops.py:unnormalized --seed 0 --max-examples 4 *",
    ])
    result.stdout.fnmatch_lines(["*unknown keyword(s) ?'sed'?; expected some of seed*"])
    result = pytester.runpytest("--axiomcheck-seed", "9", "-k", "test_marker")
    result.assert_outcomes(passed=1)


def test_no_jax_when_no_axiomcheck_item_runs(pytester):
    pytester.makeconftest("""
        import sys
        def pytest_terminal_summary(terminalreporter, config):
            terminalreporter.write_line(
                f"PLUGIN={config.pluginmanager.hasplugin('axiomcheck')} "
                f"JAX={any(m == 'jax' or m.startswith('jax.') for m in sys.modules)}")
    """)
    pytester.makepyfile(test_plain="def test_ok():\n    assert 1 + 1 == 2\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["PLUGIN=True JAX=False"])


def test_a_session_that_uses_no_axiomcheck_imports_nothing_heavy(pytester):
    """Loading the plugin once imported the whole package (the engine, numpy, Hypothesis) in every
    pytest session of a project that has axiomcheck installed."""
    pytester.makeconftest("""
        import sys
        HEAVY = ("numpy", "hypothesis", "jax", "axiomcheck.engine", "axiomcheck.spec.registry", "axiomcheck.library",
                 "axiomcheck.suites")
        def pytest_terminal_summary(terminalreporter, config):
            loaded = sorted(m for m in sys.modules if m.startswith(HEAVY))
            terminalreporter.write_line(f"PLUGIN={config.pluginmanager.hasplugin('axiomcheck')} HEAVY={loaded}")
    """)
    pytester.makepyfile(test_plain="def test_ok():\n    assert 1 + 1 == 2\n")
    (pytester.path / "notes.toml").write_text("[tool]\nname = 'not a suite'\n")  # a .toml pytest is not told about
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["PLUGIN=True HEAVY=[[]]"])


def test_xdist_collects_the_same_items_with_the_same_verdicts(project):
    pytest.importorskip("xdist")
    serial = project.runpytest_subprocess("-p", "no:cacheprovider", "--axiomcheck-report", "serial")
    parallel = project.runpytest_subprocess("-p", "no:cacheprovider", "-p", "xdist", "-n", "2",
                                            "--axiomcheck-report", "parallel")
    assert "[gw" in parallel.stdout.str()  # the failure was reported by an xdist worker
    one, two = serial.parseoutcomes(), parallel.parseoutcomes()
    assert [one.get(k) for k in ("passed", "failed", "skipped")] == [two.get(k) for k in ("passed", "failed", "skipped")]

    def verdicts(folder):
        doc = json.loads((project.path / folder / "report.json").read_text())
        return sorted((o["suite"], o["item"], o["axiom"], o["status"], o["verdict"], o["message"])
                      for s in doc["suites"] for i in s["items"] for o in i["outcomes"])

    assert verdicts("serial") == verdicts("parallel")
    assert len(verdicts("serial")) == 12


def test_shipped_suites_run_through_the_plugin(pytester):
    """The project's CI runs the shipped suites through the plugin, with a small example budget."""
    # published.toml is left out here: its verdicts are pinned at three seeds by tests/test_published_suite.py,
    # and running it once more through the plugin would add about half a minute to the suite.
    paths = [str(p) for p in sorted(SHIPPED.glob("*.toml")) if p.name != "published.toml"]
    result = pytester.runpytest_inprocess(*paths, "-p", "no:cacheprovider", "--axiomcheck-max-examples", "20",
                                          "--axiomcheck-report", "reports")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0 and outcomes.get("errors", 0) == 0, result.stdout.str()[-4000:]
    assert outcomes["passed"] > 250
    reports = pytester.path / "reports"
    doc = json.loads((reports / "report.json").read_text())
    assert doc["ok"] and {s["name"] for s in doc["suites"]} == {"reference", "independence", "composition"}
    assert (reports / "summary.md").stat().st_size < 256 * 1024  # fits a CI job summary (limit 1 MiB)
