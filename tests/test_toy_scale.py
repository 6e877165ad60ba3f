"""Adding a scale takes one `Scale`, one `Domain` and the scale's catalogue rows, and nothing else.

A toy scale, "margin" (one margin per teacher in, one weight per teacher out), is
added at run time by a fixture and taken out again; an operator of it is then
checked through `verify()`, through the command line (`axiomcheck verify
module:attr --output DIR`) and the reports it writes, through the ensemble G and
the `list` and `explain` commands.  No engine, front end or writer is told about
it: what they need of a scale they read from its record.
"""

from __future__ import annotations

import importlib
import json
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import strategies as st

import axiomcheck as ac
from axiomcheck.axioms import AXIOMS, for_scale, scale_rows
from axiomcheck.frontends import cli
from axiomcheck.sampling.budget import plan_for, sample_elements
from axiomcheck.sampling.domains import DOMAINS, Domain, Family, World
from axiomcheck.spec.operator import Operator
from axiomcheck.spec.scales import SCALES, Arg, Scale

FAST = dict(max_examples=10, sweep_size=32)

# ----------------------------------------------------------------------------- the three parts of a scale

MARGIN = Scale("margin", (Arg("margins", ("K",)),), "[B,K]", ("K",))


class MarginDomain(Domain):
    """Margins `[B, K]`: moderate, huge and tied ones; the search draws small lists of floats."""

    scale = "margin"
    families = ("gaussian", "huge", "tied")

    def sweep(self, rng, world, n):
        k = world.teachers
        return [Family("gaussian", (rng.standard_normal((n, k)),)),
                Family("huge", (rng.standard_normal((n, k)) * 1e6,)),
                Family("tied", (np.repeat(rng.standard_normal((n, 1)), k, axis=1),))]

    def strategy(self, world, max_batch=2):
        row = st.lists(st.floats(-10, 10), min_size=world.teachers, max_size=world.teachers)
        return st.lists(row, min_size=1, max_size=max_batch).map(lambda rows: (np.array(rows),))

    def expected_shape(self, world, batch):
        return ((batch, world.teachers),)

    def canonical(self, w):
        return w[:, None, :]

    def row_label(self, w_shape, r):
        return "the margins"


ROWS = [("normalization", "normalization", "toy"), ("positivity", "positivity", "toy"),
        ("bounds", "boundedness", "toy"), ("regularity", "continuity", "toy")]


def _add_scale(monkeypatch, rows=ROWS):
    monkeypatch.setitem(SCALES, MARGIN.name, MARGIN)
    monkeypatch.setitem(DOMAINS, MARGIN.name, MarginDomain())
    for axiom in scale_rows(MARGIN.name, rows):
        monkeypatch.setitem(AXIOMS, axiom.id, axiom)


@pytest.fixture
def margin_scale(monkeypatch):
    """The toy scale in the registries for one test (monkeypatch takes it out again)."""
    _add_scale(monkeypatch)
    return MARGIN.name


OPS = textwrap.dedent('''
    import numpy as np
    from axiomcheck.spec.decorators import scale_decorator

    margin_operator = scale_decorator("margin")


    @margin_operator(name="margin_softmax", bounds=(0.01, 0.99), lipschitz=1.0, register=False)
    def conforming(margins):
        """A softmax of the squashed margins: normalized, positive, bounded, 1/2-Lipschitz."""
        z = np.tanh(margins)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)


    @margin_operator(name="margin_relu", register=False)
    def violating(margins):
        """Half the positive part of each margin: neither normalized nor positive."""
        return np.maximum(margins, 0.0) / 2
''')


@pytest.fixture
def margin_ops(margin_scale, tmp_path, monkeypatch, request):
    """A module `toy_margin_ops_<n>` on sys.path declaring a conforming and a violating margin operator."""
    name = f"toy_margin_ops_{abs(hash(request.node.nodeid))}"
    (tmp_path / f"{name}.py").write_text(OPS)
    monkeypatch.syspath_prepend(str(tmp_path))
    request.addfinalizer(lambda: sys.modules.pop(name, None))
    return importlib.import_module(name)


# ----------------------------------------------------------------------------- verify()


def test_a_conforming_operator_of_the_toy_scale_passes_every_check_of_it(margin_ops):
    report = ac.verify(margin_ops.conforming, **FAST)
    assert [r.axiom for r in report.results] == [a.id for a in for_scale("margin")]
    assert len(report.results) == 8  # four rows of its own, four well-posedness checks every scale gets
    assert report.passed, {r.axiom: r.message for r in report.results if not r.ok}
    assert all(r.status == "pass" and r.samples > 0 for r in report.results)
    assert report.spec["metric"] == "‖Δmargins‖∞"
    assert "in ‖Δmargins‖∞" in report["margin.continuity"].message


def test_a_violating_operator_of_the_toy_scale_fails_with_counterexamples(margin_ops):
    report = ac.verify(margin_ops.violating, **FAST)
    assert not report.passed
    assert report["margin.normalization"].status == "fail"
    assert report["margin.normalization"].message.startswith("Σ_k w_k must be 1")
    assert report["margin.positivity"].status == "fail"
    assert "margins" in report["margin.positivity"].counterexample["input"]
    assert report["margin.finite"].status == "pass"


# ----------------------------------------------------------------------------- the command line and its reports


def _verify_cli(target, out, capsys):
    code = cli.main(["verify", target, "--out", str(out), "--max-examples", "10", "-q"])
    capsys.readouterr()
    return code


def test_the_command_checks_a_toy_scale_operator_and_every_report_holds_its_results(margin_ops, tmp_path, capsys):
    module = margin_ops.__name__
    good, bad = tmp_path / "good", tmp_path / "bad"
    assert _verify_cli(f"{module}:conforming", good, capsys) == 0
    assert _verify_cli(f"{module}:violating", bad, capsys) == 1

    ids = [a.id for a in for_scale("margin")]
    for folder, attr, name, failing in ((good, "conforming", "margin_softmax", set()),
                                        (bad, "violating", "margin_relu",
                                         {"margin.normalization", "margin.positivity", "margin.boundedness"})):
        doc = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        (item,) = [i for s in doc["suites"] for i in s["items"]]
        rep = item["report"]
        assert (rep["operator"], rep["scale"], rep["passed"]) == (name, "margin", not failing)
        statuses = {r["axiom"]: r["status"] for r in rep["results"]}
        assert list(statuses) == ids
        assert statuses == {a: "fail" if a in failing else "pass" for a in ids}
        html = (folder / "report.html").read_text(encoding="utf-8")
        markdown = (folder / "summary.md").read_text(encoding="utf-8")
        junit = (folder / "junit.xml").read_text(encoding="utf-8")
        assert name in html and "margin scale" in html
        assert all(a in html and a in junit for a in ids)
        assert f"| `{module}:{attr}` | margin | {8 - len(failing)} | {len(failing)} |" in markdown
        assert all(a in markdown for a in failing)
    assert "margin.normalization" in (bad / "summary.md").read_text(encoding="utf-8")


def test_list_and_explain_know_the_toy_scale(margin_scale, capsys):
    assert cli.main(["list", "--scale", "margin", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [a["id"] for a in doc["axioms"]] == [a.id for a in for_scale("margin")]
    assert cli.main(["explain", "margin.continuity"]) == 0
    assert "margin.continuity (paper toy)" in capsys.readouterr().out


# ----------------------------------------------------------------------------- the other readers of a scale


def test_the_ensemble_G_is_built_from_a_toy_scale_operator(margin_ops):
    """The toy scale takes no teacher distributions: G mixes drawn ones with its per-teacher weights."""
    good = ac.verify_ensemble(margin_ops.conforming, sweep_size=8)
    assert {r.axiom: r.status for r in good.results} == {
        "ensemble.normalization": "pass", "ensemble.nonnegativity": "pass", "ensemble.convexity": "pass",
        "ensemble.conformance": "pass"}
    assert good.spec == {"of_scale": "margin"}
    bad = ac.verify_ensemble(margin_ops.violating, sweep_size=8)
    assert bad["ensemble.convexity"].status == "fail"


def test_the_byte_budget_of_a_toy_scale_comes_from_its_axes(margin_scale):
    world = World(teachers=5)
    assert sample_elements("margin", world) == 5 + 5  # margins[K] in, weights[K] out
    plan = plan_for("margin", world, (), sweep_size=64, regularity_pairs=64, batch_bytes=8 * 10 * 3)
    assert (plan.per_batch, plan.sweep_samples, plan.binding) == (3, 3, True)


def test_compose_refuses_a_scale_that_is_not_a_factor(margin_ops):
    with pytest.raises(ac.SpecError, match="compose\\(\\) takes token, task and context operators; "
                                           "'margin_softmax' has scale 'margin'"):
        ac.compose(margin_ops.conforming)


# ----------------------------------------------------------------------------- the registries


def test_the_fixture_leaves_every_registry_as_it_found_it():
    before = (dict(SCALES), dict(DOMAINS), dict(AXIOMS))
    with pytest.MonkeyPatch.context() as mp:
        _add_scale(mp)
        assert "margin" in SCALES and "margin" in DOMAINS and "margin.shape" in AXIOMS
    assert (dict(SCALES), dict(DOMAINS), dict(AXIOMS)) == before
    with pytest.raises(ac.SpecError, match="scale must be one of \\('token', 'task', 'context', 'unified', "
                                           "'importance'\\), got 'margin'"):
        Operator(name="m", scale="margin", fn=lambda margins: margins)


def test_a_scale_without_catalogue_rows_is_refused_not_passed(monkeypatch):
    """Once, a scale missing from a list of scale names got no checks at all, and its report passed."""
    monkeypatch.setitem(SCALES, MARGIN.name, MARGIN)
    monkeypatch.setitem(DOMAINS, MARGIN.name, MarginDomain())
    op = Operator(name="uncatalogued", scale="margin", fn=lambda margins: margins)
    with pytest.raises(ac.SpecError, match="the margin scale has no checks in the catalogue"):
        ac.verify(op, **FAST)


def test_every_registered_scale_has_its_domain_and_its_rows_in_registry_order():
    order = [a.scale for a in AXIOMS.values() if a.kind in ("axiom", "well-posedness")]
    assert list(dict.fromkeys(order)) == list(SCALES)
    assert {name: d.scale for name, d in DOMAINS.items()} == {name: name for name in SCALES}
    for scale in SCALES:
        props = [a.property for a in for_scale(scale) if a.kind == "well-posedness"]
        assert props == ["finite", "shape", "deterministic", "batch_independent"], scale


# ----------------------------------------------------------------------------- the metric as data


def test_the_metric_texts_of_the_scales_are_rendered_from_their_terms_unchanged():
    """Reports and pins hold these texts: rendering them from `Scale.terms` keeps every byte."""
    assert {name: s.metric for name, s in SCALES.items()} == {
        "token": "max(‖Δprobs‖∞, ‖Δcontext‖∞)",
        "task": "max(‖Δlosses‖∞, ‖Δlog sizes‖∞)",
        "context": "‖Δcontext‖∞",
        "unified": "max(‖Δprobs‖∞, ‖Δcontext‖∞, ‖Δlosses‖∞, ‖Δlog sizes‖∞)",
        "importance": "max(‖Δlosses‖∞, ‖Δlog sizes‖∞)",
    }
    assert SCALES["unified"].terms == (("probs", ""), ("context", ""), ("losses", ""), ("sizes", "log"))


def test_a_domain_measures_and_moves_in_its_scale_metric_terms(monkeypatch):
    """A new scale with a log-measured input gets the log geometry from its record alone."""
    spread = Scale("spread", (Arg("margins", ("K",)), Arg("sizes", ("M",), "log")), "[B,K]", ("K",))
    assert spread.metric == "max(‖Δmargins‖∞, ‖Δlog sizes‖∞)"
    monkeypatch.setitem(SCALES, spread.name, spread)

    class SpreadDomain(Domain):
        scale = "spread"

    d = SpreadDomain()
    assert d.arg_names == ("margins", "sizes")
    a = (np.zeros((2, 4)), np.ones((2, 3)))
    b = (np.array([[0.5] * 4, [30.0] * 4]), np.full((2, 3), 1e9))
    assert d.distance(a, b) == pytest.approx([9 * np.log(10), 30.0])  # 9 decades of sizes; then the margins
    mid = d.interpolate(a, b, 0.5)
    assert mid[0][0] == pytest.approx([0.25] * 4) and mid[1][0] == pytest.approx([10**4.5] * 3)
    assert d.distance(a, mid) == pytest.approx(d.distance(a, b) / 2)
    with pytest.raises(ValueError, match="transform must be one of"):
        Arg("sizes", ("M",), "sqrt")
    with pytest.raises(ValueError, match="not world symbols"):
        Arg("sizes", ("T",))


def test_a_domain_that_names_another_scale_is_refused(margin_ops, monkeypatch):
    """A `Domain` registered for a scale but without its `scale` attribute failed with `KeyError: ''`
    deep in the sampling; it is a SpecError saying what to set."""
    from axiomcheck.sampling.domains import DOMAINS

    class Unnamed(type(DOMAINS["margin"])):
        scale = ""

    monkeypatch.setitem(DOMAINS, "margin", Unnamed())
    with pytest.raises(ac.SpecError, match="declares scale = ''; set scale = 'margin' on it"):
        ac.verify(margin_ops.conforming, **FAST)
