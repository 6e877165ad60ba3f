"""Certifying operators of inputs and scales added at run time: the certifier reads each input's record.

A keyword input (`KeywordInput` in `spec.inputs.INPUTS`) or a scale's positional
input (`Arg` on a `Scale`) says on its record what the certifier needs: its axes,
its default box or none, whether it is a distribution on the simplex.  An input
with a default box is certified on it; one without is `unknown` until a box is
declared for it, and the reason says how to declare one.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import test_toy_scale
from test_extending import _temperature

import axiomcheck as ac
from axiomcheck.output.certified import describe
from axiomcheck.report.certificate import Certificate
from axiomcheck.spec import boxes
from axiomcheck.spec.inputs import INPUTS, KeywordInput
from axiomcheck.spec.scales import SCALES, Arg

margin_scale, margin_ops = test_toy_scale.margin_scale, test_toy_scale.margin_ops  # its fixtures, reused

FAST = dict(max_examples=10, sweep_size=32, certify_time=5.0)
#: the toy scale's Lipschitz search stops once the certified bound is within 1.5× the sampled one (its
#: constant is about 1/2; L ≤ 1 is what is checked), instead of refining toward 10% for the whole budget
TOY = dict(FAST, certify_gap=0.5)
VALUE_CHECKS = ("context.finite", "context.normalization", "context.positivity", "context.boundedness")


def _offer_temperature(monkeypatch, box):
    """The temperature input of tests/test_extending.py, with `box` on its record, offered by the context scale."""
    record = KeywordInput("temperature", "float[B] > 0", ("random", "tiny", "huge"), _temperature,
                          "‖Δtemperature‖∞", ("tiny", "huge"), **({} if box is None else {"box": box}))
    monkeypatch.setitem(INPUTS, record.name, record)
    context = SCALES["context"]
    monkeypatch.setitem(SCALES, "context", dataclasses.replace(context, keywords=(*context.keywords, record.name)))


def _tempered(context, *, temperature):
    """Four weights from the context, cooled by the temperature: normalized, in [0.05, 0.68] for t ≥ 0.1."""
    z = np.tanh(context[:, :1] * np.arange(1.0, 5.0)) / (1.0 + temperature[:, None])
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _warm_negative(context, *, temperature):
    """A weight that goes negative for temperatures above 5: not positive, not normalized."""
    w = np.full((context.shape[0], 4), 0.25) + 0.0 * context[:, :1]
    w[:, 0] = 0.25 - 0.1 * temperature
    return w


def _tempered_op():
    return ac.context_operator(_tempered, name="tempered", bounds=(0.04, 0.72), register=False)


def test_a_keyword_input_with_a_default_box_on_its_record_is_certified_on_it(monkeypatch):
    _offer_temperature(monkeypatch, (0.1, 10.0))
    report = ac.certify(_tempered_op(), **FAST)
    certs = {a: report[a].certificate for a in VALUE_CHECKS}
    assert {a: c.status for a, c in certs.items()} == dict.fromkeys(VALUE_CHECKS, "proved"), \
        {a: c.reason for a, c in certs.items()}
    assert "temperature ∈ [0.1, 10]^1" in certs["context.normalization"].domain
    assert certs["context.normalization"].domain_data["temperature"] == {"lo": 0.1, "hi": 10.0, "shape": []}


def test_a_violation_in_a_keyword_input_is_refuted_inside_its_box(monkeypatch):
    _offer_temperature(monkeypatch, (0.1, 10.0))
    op = ac.context_operator(_warm_negative, name="warm_negative", register=False)
    cert = ac.certify(op, **FAST)["context.positivity"].certificate
    assert cert.status == "refuted", cert.reason
    (t,) = cert.counterexample["input"]["temperature"]
    assert 2.5 < t <= 10.0  # where the weight is negative, and inside the record's box


def test_a_keyword_input_without_a_box_is_unknown_until_one_is_declared(monkeypatch):
    _offer_temperature(monkeypatch, None)
    op = _tempered_op()
    report = ac.certify(op, **FAST)
    want = "no box for input 'temperature': declare one with domain={'temperature': (lo, hi)}"
    for axiom in (*VALUE_CHECKS, "context.continuity"):
        cert = report[axiom].certificate
        assert (cert.status, cert.reason, cert.domain) == ("unknown", want,
                                                           "context ∈ [-10, 10]^3; temperature unbounded"), axiom
    assert report["context.normalization"].status == "pass"  # the sampled verdicts are kept whole

    boxed = ac.certify(op, domain={"temperature": (0.1, 10.0)}, **FAST)
    assert {a: boxed[a].certificate.status for a in VALUE_CHECKS} == dict.fromkeys(VALUE_CHECKS, "proved")
    assert "temperature ∈ [0.1, 10]^1" in boxed["context.boundedness"].certificate.domain


def test_a_box_for_a_keyword_input_added_at_run_time_is_accepted_and_checked(monkeypatch):
    with pytest.raises(ValueError, match="unknown input 'temperature'"):
        boxes.box("temperature", (0, 1))  # no record, no box
    _offer_temperature(monkeypatch, None)
    assert boxes.box("temperature", (0, 1)) == (0.0, 1.0)
    assert "temperature" in boxes.box_inputs()
    with pytest.raises(ValueError, match="must have lo ≤ hi"):
        boxes.box("temperature", (1, 0))
    op = ac.context_operator(_tempered, name="tempered", domain={"temperature": (0.5, 2)}, register=False)
    assert op.domain == (("temperature", (0.5, 2.0)),)


def test_the_built_in_inputs_take_the_boxes_and_refusals_they_always_took():
    assert boxes.box_inputs() == ("context", "losses", "sizes", "features", "history", "teacher_logits")
    for name, why in (("probs", "probs is a distribution: its domain is always the probability simplex"),
                      ("labels", "labels is discrete: it is enumerated or held as the sampled checks hold it"),
                      ("step", "step is discrete: it is held as the sampled checks hold it")):
        with pytest.raises(ValueError, match=f"^domain: {why}; declare boxes for context, losses, sizes, "
                                             f"features, history, teacher_logits$"):
            boxes.box(name, (0, 1))
    with pytest.raises(ValueError, match=r"domain\['sizes'\] must have lo > 0 \(sizes are measured in log sizes\)"):
        boxes.box("sizes", (0, 1))


def test_every_input_without_a_box_is_named(monkeypatch):
    _offer_temperature(monkeypatch, None)
    pressure = dataclasses.replace(INPUTS["temperature"], name="pressure")
    monkeypatch.setitem(INPUTS, "pressure", pressure)
    context = SCALES["context"]
    monkeypatch.setitem(SCALES, "context", dataclasses.replace(context, keywords=(*context.keywords, "pressure")))

    def both(context, *, temperature, pressure):
        return _tempered(context, temperature=temperature + pressure)

    op = ac.context_operator(both, name="both", domain={"context": (-1, 1)}, register=False)
    cert = ac.certify(op, **FAST)["context.normalization"].certificate
    assert cert.reason == ("no box for inputs 'temperature', 'pressure': declare them with "
                           "domain={'temperature': (lo, hi), 'pressure': (lo, hi)}")
    assert cert.domain == "context ∈ [-1, 1]^3; temperature unbounded; pressure unbounded"
    half = ac.certify(op, domain={"pressure": (0, 1)}, **FAST)["context.normalization"].certificate
    assert half.reason == "no box for input 'temperature': declare one with domain={'temperature': (lo, hi)}"


# ----------------------------------------------------------------------------- the toy scale


def test_the_toy_scale_without_a_box_is_unknown_and_certifies_once_one_is_declared(margin_ops):
    report = ac.certify(margin_ops.conforming, **TOY)
    ids = ("margin.finite", "margin.normalization", "margin.positivity", "margin.boundedness", "margin.continuity")
    for axiom in ids:
        assert report[axiom].certificate.status == "unknown", axiom
        assert report[axiom].certificate.reason == ("no box for input 'margins': declare one with "
                                                    "domain={'margins': (lo, hi)}")
        assert report[axiom].certificate.domain == "margins unbounded"
    boxed = ac.certify(margin_ops.conforming, domain={"margins": (-10, 10)}, **TOY)
    assert {a: boxed[a].certificate.status for a in ids} == dict.fromkeys(ids, "proved"), \
        {a: boxed[a].certificate.reason for a in ids}
    assert boxed["margin.continuity"].certificate.lipschitz_upper <= 1.0
    assert boxed["margin.normalization"].certificate.domain == "margins ∈ [-10, 10]^4"


def test_a_toy_scale_whose_arg_has_a_default_box_certifies_on_it(margin_ops, monkeypatch):
    margin = SCALES["margin"]
    monkeypatch.setitem(SCALES, "margin", dataclasses.replace(margin, args=(Arg("margins", ("K",), box=(-3, 3)),)))
    report = ac.certify(margin_ops.conforming, **TOY)
    cert = report["margin.boundedness"].certificate
    assert (cert.status, cert.domain) == ("proved", "margins ∈ [-3, 3]^4")
    bad = ac.certify(margin_ops.violating, **TOY)["margin.positivity"].certificate
    assert bad.status == "refuted"
    assert np.min(bad.counterexample["input"]["margins"]) <= 0.0  # half the positive part: 0 where a margin is


# ----------------------------------------------------------------------------- the gap


@pytest.mark.parametrize("gap, text", [(0.048, "4.8%"), (0.0, "0.0%"), (9.995, "999.5%"), (10.0, "1000.0%"),
                                       (2e301, "×2e+301"), (7.3e300, "×7.3e+300"), (41.0, "×42")])
def test_a_gap_is_a_percentage_up_to_1000_and_a_ratio_beyond(gap, text):
    from axiomcheck.report.certificate import gap_text

    assert gap_text(gap) == text


def test_a_huge_gap_prints_a_short_ratio_in_the_certified_column():
    cert = Certificate("proved", "context ∈ [-10, 10]^3", lipschitz_upper=2e301, metric="‖Δcontext‖∞", gap=2e301)
    line = describe(cert)
    assert line.endswith("(gap ×2e+301)"), line
    assert len(line) < 120, line
