"""Certified verdicts beside the sampled ones: the record in reports, the rules that join a certificate to a
sampled verdict, the declared domains, the paper link, and that a run without certificates never loads the
certifier.  The certifier is replaced by `fake_certifier` wherever a test needs a certificate of some kind."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys

import numpy as np
import pytest

import axiomcheck as ac
from axiomcheck.engine import certified
from axiomcheck.report import assumptions as A
from axiomcheck.report.certificate import Certificate
from axiomcheck.report.results import Report, Result
from tests.fake_certifier import (
    DOMAIN,
    INFINITE_LIPSCHITZ,
    PROVED_BOUNDS,
    PROVED_LIPSCHITZ,
    REFUTED,
    UNKNOWN,
    fixed,
    install,
)

FAST = {"max_examples": 5, "sweep_size": 16}


@ac.context_operator(name="cert_uniform", bounds=(0.25, 0.25), domain={"context": (-10, 10)}, register=False)
def uniform(context):
    return np.full((context.shape[0], 4), 0.25)


@ac.context_operator(name="cert_unnormalized", domain={"context": (-10, 10)}, register=False)
def unnormalized(context):
    return np.full((context.shape[0], 4), 0.3)


# ============================================================================= the record in reports


def test_certificate_round_trips_through_result_and_report_json():
    cert = Certificate("unknown", DOMAIN, domain_data={"context": [-10, 10]}, bound=[0.0, math.inf],
                       lipschitz_upper=math.inf, metric="‖Δcontext‖∞", reason="no finite constant", gap=0.5,
                       elapsed_s=1.23456)
    refuted = dataclasses.replace(REFUTED)
    rep = Report("op", "context", (Result("context.continuity", "III.21", "pass", "ok", certificate=cert),
                                   Result("context.positivity", "III.19", "fail", "w > 0", certificate=refuted),
                                   Result("context.shape", "well-posedness", "pass", "ok")),
                 assumptions={"A1": {"status": "not proved", "text": "not proved: refuted"}, "applies": []})
    text = rep.to_json()
    doc = json.loads(text, parse_constant=lambda t: pytest.fail(f"non-standard JSON token {t}"))
    assert doc["results"][0]["certificate"]["lipschitz_upper"] == "inf"
    assert doc["results"][0]["certificate"]["bound"] == [0.0, "inf"]
    assert "certificate" not in doc["results"][2]  # no certificate: the result is written as it always was
    assert doc["assumptions"]["A1"]["status"] == "not proved"
    back = Report.from_dict(doc)
    assert back["context.continuity"].certificate == dataclasses.replace(cert, elapsed_s=1.2346)
    assert math.isinf(back["context.continuity"].certificate.lipschitz_upper)
    assert back["context.positivity"].certificate == refuted
    assert back["context.shape"].certificate is None
    assert back.assumptions == rep.assumptions


def test_reports_written_before_certificates_still_load():
    old = {"schema": 1, "operator": "op", "scale": "token", "passed": True, "seed": 0, "world": {}, "spec": {},
           "derived": {}, "elapsed_s": 0.1,
           "results": [{"axiom": "token.positivity", "paper_ref": "III.2", "status": "pass", "message": "ok",
                        "counterexample": None, "estimate": None, "reproduce": None, "seed": 0, "samples": 3}]}
    rep = Report.from_dict(old)
    assert rep["token.positivity"].certificate is None and rep.assumptions == {}
    assert rep.to_dict() == old  # and it is written back unchanged


def test_verify_without_certify_never_imports_the_certifier():
    code = ("import sys, axiomcheck as ac\n"
            "rep = ac.verify('uniform_context', max_examples=3, sweep_size=8)\n"
            "rep.to_json(); ac.print_report(rep)\n"
            "assert rep.assumptions == {} and all(r.certificate is None for r in rep.results)\n"
            # the package's record and ac.region (a declaration the built-in operators use) are light;
            # the interval engine and its front ends load only for a certified run
            "light = {'axiomcheck.certifier', 'axiomcheck.report.certificate',"
            " 'axiomcheck.certifier.region'}\n"
            "loaded = [m for m in sys.modules if m.startswith('axiomcheck.certifier') and m not in light]\n"
            "assert not loaded, loaded\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


# ============================================================================= verify(certify=True)


def test_certify_adds_certificates_and_never_changes_a_sampled_status():
    plain = ac.verify(unnormalized, **FAST)
    cert = ac.certify(unnormalized, **FAST)
    assert cert.statuses() == plain.statuses() and cert.statuses()["context.normalization"] == "fail"
    assert [r.message for r in cert.results] == [r.message for r in plain.results]
    for r in cert.results:
        if r.status == "fail":  # a sampled failure: refuted, with an input that violates it when evaluated
            assert r.certificate.status == "refuted" and r.certificate.counterexample
        elif r.certificate is not None:  # constant weights 0.3: the value checks are proved
            assert r.certificate.status == "proved", (r.axiom, r.certificate)
        if r.certificate is not None:
            assert r.certificate.domain.startswith("context ∈ [-10, 10]")
    # A1 holds (w = 0.3 everywhere), but a violated axiom stops every result of the paper
    assert cert.assumptions["A1"]["status"] == "proved" and cert.assumptions["applies"] == []


def test_ac_certify_is_the_call_and_the_certifier_a_package_beside_it():
    """`ac.certify` was the certifier package made callable (a package and a function shared the name);
    the package is now `axiomcheck.certifier`, so importing any part of it leaves `ac.certify` the function."""
    import axiomcheck.certifier.certifier as certifier
    import axiomcheck.engine

    assert ac.certify is axiomcheck.engine.certify and ac.Certificate is Certificate
    assert callable(certifier.certify_operator)
    rep = ac.certify(uniform, **FAST)
    value_checks = ("normalization", "positivity", "boundedness", "continuity", "finite")
    assert all(rep[f"context.{p}"].certificate.status == "proved" for p in value_checks)
    # shape, determinism and batch independence are about calls, not values: they stay sampled
    assert all(rep[f"context.{p}"].certificate is None for p in ("shape", "deterministic", "batch_independent"))


def test_the_engine_gets_the_merged_domain_the_ids_and_the_sampled_results(monkeypatch):
    calls = install(monkeypatch, fixed({}))
    rep = ac.verify(uniform, certify=True, domain={"context": (-3, 3)}, certify_gap=0.05, certify_time=2.5,
                    tolerance=1e-9, axioms=["context.boundedness", "context.continuity"], **FAST)
    [call] = calls
    assert call["domain"] == {"context": (-3.0, 3.0)}  # the call's box replaces the operator's
    assert (call["gap"], call["max_time"], call["tolerance"]) == (0.05, 2.5, 1e-9)
    assert call["axioms"] == ["context.boundedness", "context.continuity"]
    assert set(call["sampled"]) == set(call["axioms"]) and call["sampled"]["context.boundedness"].status == "pass"
    assert call["world"].teachers == 4
    assert all(r.certificate is None for r in rep.results)  # it answered nothing: no certificate is invented


# ============================================================================= where the two verdicts meet


def test_a_proof_beside_a_sampled_failure_is_withdrawn(monkeypatch):
    install(monkeypatch, fixed({"normalization": Certificate("proved", DOMAIN, bound=[1.0, 1.0]),
                                "positivity": PROVED_BOUNDS}))
    rep = ac.certify(unnormalized, **FAST)
    norm = rep["context.normalization"]
    assert norm.status == "fail"  # the sampled verdict stands
    assert norm.certificate.status == "unknown" and norm.certificate.reason.startswith(certified.WITHDRAWN)
    assert norm.certificate.bound is None  # the enclosure of a withdrawn proof is not kept
    assert rep["context.positivity"].certificate == PROVED_BOUNDS  # a proof beside a pass stays


def test_a_sampled_failure_beside_unknown_is_refuted_with_the_sampled_input(monkeypatch):
    install(monkeypatch, fixed({"normalization": UNKNOWN}))
    rep = ac.certify(unnormalized, **FAST)
    norm = rep["context.normalization"]
    assert norm.status == "fail"
    assert norm.certificate.status == "refuted" and norm.certificate.reason == certified.FOUND_BY_SAMPLING
    assert norm.certificate.counterexample == norm.counterexample
    assert norm.certificate.domain == DOMAIN


def test_a_sampled_violation_outside_the_domain_refutes_nothing(monkeypatch):
    # indep_context_boundedness breaks its bounds only far out (the sweep finds context = 1000)
    install(monkeypatch, fixed({"bounds": UNKNOWN}))
    rep = ac.certify("indep_context_boundedness", domain={"context": (-10, 10)},
                     axioms=["context.boundedness"], **FAST)
    r = rep["context.boundedness"]
    assert r.status == "fail" and r.certificate.status == "unknown"
    assert "lies outside this domain (context holds" in r.certificate.reason
    assert r.certificate.reason.startswith(UNKNOWN.reason)


def test_a_sampled_violation_with_no_box_to_place_it_in_refutes_nothing(monkeypatch):
    install(monkeypatch, fixed({"normalization": Certificate("unknown", "context in the default box")}))
    rep = ac.certify("indep_context_normalization", axioms=["context.normalization"], **FAST)
    c = rep["context.normalization"].certificate
    assert c.status == "unknown" and "context has no stated box" in c.reason


def test_the_certificates_own_domain_data_places_the_sampled_violation(monkeypatch):
    install(monkeypatch, fixed({"normalization": Certificate("unknown", DOMAIN, domain_data={
        "context": [-10, 10], "probs": "the simplex"})}))
    rep = ac.certify("indep_context_normalization", axioms=["context.normalization"], **FAST)
    assert rep["context.normalization"].certificate.status == "refuted"


def test_withdrawal_names_a_violation_that_lies_outside_the_domain(monkeypatch):
    install(monkeypatch, fixed({"bounds": PROVED_BOUNDS}))
    rep = ac.certify("indep_context_boundedness", domain={"context": (-10, 10)},
                     axioms=["context.boundedness"], **FAST)
    c = rep["context.boundedness"].certificate
    assert c.status == "unknown" and c.reason.startswith(certified.WITHDRAWN) and "lies outside" in c.reason


def test_a_proof_beside_a_sampled_error_is_withdrawn(monkeypatch):
    noise = np.random.default_rng(0)

    @ac.context_operator(name="cert_noisy", domain={"context": (-10, 10)}, register=False)
    def noisy(context):  # not deterministic: its regularity cannot be judged (error)
        return noise.dirichlet(np.ones(4), size=context.shape[0])

    install(monkeypatch, fixed({"regularity": PROVED_LIPSCHITZ, "positivity": PROVED_BOUNDS}))
    rep = ac.certify(noisy, **FAST)
    assert rep["context.continuity"].status == "error"
    c = rep["context.continuity"].certificate
    assert (c.status, c.reason, c.lipschitz_upper) == ("unknown", certified.WITHDRAWN_ERROR, None)
    assert rep["context.positivity"].certificate == PROVED_BOUNDS
    assert rep.assumptions["A2"]["status"] == "not proved"


def test_an_operator_the_sampled_checks_could_not_evaluate_is_not_certified(monkeypatch):
    calls = install(monkeypatch, fixed({"bounds": PROVED_BOUNDS}))

    @ac.context_operator(name="cert_raises", register=False)
    def raises(context):
        raise RuntimeError("boom")

    rep = ac.certify(raises, **FAST)
    assert calls == [] and set(rep.statuses().values()) == {"error"}
    assert rep["context.boundedness"].certificate.reason == certified.UNEVALUATED
    assert rep["context.shape"].certificate is None


def test_a_refutation_beside_a_sampled_pass_stays_and_the_pass_stays(monkeypatch):
    install(monkeypatch, fixed({"positivity": REFUTED}))
    rep = ac.certify(uniform, **FAST)
    assert rep["context.positivity"].status == "pass" and rep["context.positivity"].certificate == REFUTED


@pytest.mark.parametrize("answer, needle", [
    (lambda op, world, **kw: 1 / 0, "the certifier failed: ZeroDivisionError"),
    (lambda op, world, **kw: ["not", "a", "mapping"], "the certifier failed: TypeError"),
])
def test_a_failing_certifier_gives_unknown_and_keeps_the_sampled_report(monkeypatch, answer, needle):
    install(monkeypatch, answer)
    rep = ac.certify(unnormalized, **FAST)
    assert rep.statuses() == ac.verify(unnormalized, **FAST).statuses()
    assert rep["context.positivity"].certificate.status == "unknown"
    assert rep["context.positivity"].certificate.reason.startswith(needle)
    # a sampled violation inside the domain refutes the check whatever the certifier did
    assert rep["context.normalization"].certificate.status == "refuted"
    assert rep["context.shape"].certificate is None  # about the code, not the weights: nothing to certify


def test_certificates_given_as_dicts_are_read_and_garbage_proves_nothing(monkeypatch):
    install(monkeypatch, lambda op, world, **kw: {"context.positivity": PROVED_BOUNDS.to_dict(),
                                                  "context.boundedness": {"status": "certainly"}})
    rep = ac.certify(uniform, **FAST)
    assert rep["context.positivity"].certificate == dataclasses.replace(PROVED_BOUNDS, elapsed_s=0.0)
    bad = rep["context.boundedness"].certificate
    assert bad.status == "unknown" and "unreadable certificate" in bad.reason


# ============================================================================= what is refused


@pytest.mark.parametrize("kwargs, needle", [
    ({"domain": {"context": (-1, 1)}}, "domain applies to certified checks"),
    ({"certify_gap": 0.2}, "certify_gap applies to certified checks"),
    ({"certify": True, "certify_gap": 0.0}, "certify_gap must be a finite number > 0"),
    ({"certify": True, "certify_gap": math.nan}, "certify_gap must be a finite number > 0"),
    ({"certify": True, "certify_time": math.inf}, "certify_time must be a finite number"),
    ({"certify": True, "domain": {"losses": (0, 1)}}, "does not take"),
    ({"certify": True, "domain": {"probs": (0, 1)}}, "probability simplex"),
    ({"certify": True, "replay": "x.npz"}, "does not combine with replay"),
])
def test_bad_certify_arguments_are_refused_before_any_check(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        ac.verify(uniform, **FAST, **kwargs)


@pytest.mark.parametrize("domain, needle", [
    ({"context": (1, -1)}, "lo ≤ hi"),
    ({"context": (0, math.inf)}, "two finite numbers"),
    ({"context": "wide"}, "two finite numbers"),
    ({"sizes": (0, 10)}, "takes|lo > 0"),
    ({"labels": (0, 3)}, "discrete"),
    ({"contxt": (0, 1)}, "did you mean 'context'"),
    ({"losses": (0, 1)}, "does not take"),
    ([("context", (0, 1)), ("context", (0, 2))], "twice"),
])
def test_a_declared_domain_is_checked_when_the_operator_is_built(domain, needle):
    with pytest.raises(ac.SpecError, match=needle):
        ac.context_operator(lambda context: context, name="bad_domain", domain=domain, register=False)


def test_compose_carries_the_components_domains_and_refuses_two_boxes_for_one_input():
    task = ac.task_operator(lambda losses, sizes: np.full(losses.shape, 0.25), name="cert_task",
                            domain={"losses": (0, 5)}, register=False)
    both = ac.compose(uniform, task)
    assert both.declared_domain == {"context": (-10.0, 10.0), "losses": (0.0, 5.0)}
    assert ac.compose(uniform, task, domain={"context": (-1, 1)}).declared_domain["context"] == (-1.0, 1.0)
    assert ac.compose(both).declared_domain == both.declared_domain  # composing again keeps them
    other = uniform.replace(name="cert_uniform_wide", domain={"context": (-20, 20)})
    with pytest.raises(ac.SpecError, match="different domains for 'context'"):
        ac.compose(other, task, ac.token_operator(lambda probs, context: probs[:, :, 0], name="t",
                                                  domain={"context": (-10, 10)}, register=False))


# ============================================================================= the paper link


def _report(scale="context", **certs):
    props = {"bounds": "boundedness", "positivity": "positivity", "regularity": "continuity",
             "safety": "safety_prioritization"}
    results = tuple(Result(f"{scale}.{props[p]}", "x", "pass", "ok", certificate=c) for p, c in certs.items())
    return Report("op", scale, results, spec={"bounds": [0.1, 0.4]})


def test_a1_and_a2_proved_make_the_stability_results_apply():
    s = A.summarize(_report(bounds=PROVED_BOUNDS, regularity=PROVED_LIPSCHITZ))
    assert s["A1"]["status"] == s["A2"]["status"] == "proved"
    assert s["A1"]["bound"] == [0.05, 0.9] and s["A2"]["lipschitz_upper"] == 0.61
    assert [a.split(":")[0] for a in s["applies"]] == ["Thm VI.2", "Remark VI.4", "Thm VII.1", "Thm VII.2",
                                                       "Lemma VII.4"]
    assert s["pending"] == ["Cor. VIII.7 (needs III.22)"]
    assert "L ≤ 0.61 in ‖Δcontext‖∞" in s["A2"]["text"] and DOMAIN in s["A2"]["text"]


def test_an_infinite_lipschitz_bound_proves_a1_only():
    s = A.summarize(_report(bounds=PROVED_BOUNDS, regularity=INFINITE_LIPSCHITZ))
    assert s["A2"]["status"] == "not proved" and "no finite Lipschitz constant" in s["A2"]["text"]
    assert [a.split(":")[0] for a in s["applies"]] == ["Thm VI.2", "Lemma VII.4"]
    assert "Thm VII.1 (needs A2)" in s["pending"]


def test_a1_from_declared_bounds_or_a_positive_enclosure_and_never_from_unknown():
    no_enclosure = Certificate("proved", DOMAIN)
    assert A.a1(_report(bounds=no_enclosure))["bound"] == [0.1, 0.4]  # the declared bounds it proved
    assert A.a1(_report(bounds=UNKNOWN, positivity=PROVED_BOUNDS))["check"] == "context.positivity"
    zero = dataclasses.replace(PROVED_BOUNDS, bound=[0.0, 0.9])  # positive is not bounded away from 0
    assert A.a1(_report(positivity=zero))["status"] == "not proved"
    s = A.summarize(_report(bounds=dataclasses.replace(PROVED_BOUNDS, status="unknown", reason="budget")))
    assert s["A1"]["text"] == "not proved: unknown: budget" and s["applies"] == []


def test_safety_proved_on_a_context_operator_adds_the_safety_corollary():
    s = A.summarize(_report(bounds=PROVED_BOUNDS, safety=Certificate("proved", DOMAIN)))
    assert any(a.startswith("Cor. VIII.7") for a in s["applies"])
    token = A.summarize(_report("token", bounds=PROVED_BOUNDS))
    assert not any("VIII.7" in a for a in token["applies"] + token["pending"])  # a context result


def test_no_summary_without_certificates_or_for_task_importance():
    assert A.summarize(_report(bounds=None)) == {}
    imp = Report("op", "importance", (Result("importance.continuity", "III.13", "pass", "ok",
                                             certificate=PROVED_LIPSCHITZ),))
    assert A.summarize(imp) == {}
    assert A.lines({}) == []
