"""Operators whose exact answers are known in closed form are proved, with the answer inside the certificate.

* entropy weights w ∝ exp(−H(p_k)) at K = 4, V = 16: range exactly [1/49, 16/19]
  (one teacher one-hot, the others uniform), and no finite Lipschitz constant
  on the closed simplex (∂w ∝ 1 + log p);
* a floored softmax of an affine map, w = (1 − Kε) softmax(s·c + b) + ε with
  independent logits: range ε + (1 − Kε)·[softmax_box_bounds], and L = ½ s (1 − Kε)
  in ‖Δc‖∞ (attained where a weight is ½), so the certified bound can be neither
  below it (unsound) nor far above it (loose);
* the simplex rule alone gives the entropy its exact range [0, log V];
* a constant has L = 0, proved against a declared 0.
"""

from __future__ import annotations

import numpy as np

import axiomcheck as ac
from axiomcheck.certifier import certify_operator
from axiomcheck.certifier import evaluate as E
from axiomcheck.certifier import space as Dm
from axiomcheck.certifier.core import Trace
from axiomcheck.certifier.numpy_front import patched_conversions
from axiomcheck.library import _numerics as nx
from axiomcheck.sampling.domains import World


def entropy_weights(probs, context):
    """w ∝ exp(−H_k), H_k the entropy (nats) of teacher k's distribution."""
    safe = np.where(probs > 0, probs, 1.0)
    h = -(probs * np.log(safe)).sum(axis=-1)
    z = -h - (-h).max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def test_entropy_weights_get_their_exact_range_and_no_finite_lipschitz_constant():
    op = ac.token_operator(entropy_weights, name="entropy_weights", bounds=(1 / 49, 16 / 19), register=False)
    certs = certify_operator(op, World(teachers=4, vocab=16), max_time=4.0,
                             axioms=["token.bounded_influence", "token.positivity", "token.regularity"])
    b = certs["token.bounded_influence"]
    assert b.status == "proved", b.reason
    tol = 8 * 4 * np.finfo(np.float64).eps
    assert 1 / 49 - tol <= b.bound[0] <= 1 / 49 and 16 / 19 <= b.bound[1] <= 16 / 19 + tol  # tight to ulps
    assert certs["token.positivity"].status == "proved"
    reg = certs["token.regularity"]
    assert reg.status == "unknown" and reg.lipschitz_upper == np.inf
    assert "log" in reg.reason or "where" in reg.reason


def test_the_simplex_rule_gives_entropy_its_exact_range():
    op = ac.token_operator(entropy_weights, name="entropy_weights", register=False)
    dom = Dm.build(op, World(teachers=2, vocab=16))
    lo, hi = dom.lo()[None], dom.hi()[None]
    tr = Trace(1, dom.n)
    p = E.interval_inputs(dom, lo, hi, tr, np.dtype(np.float64))["probs"]
    with patched_conversions(), np.errstate(all="ignore"):
        h = -(p * np.log(np.where(p > 0, p, 1.0))).sum(axis=-1)
    assert np.all(h.lo <= 0) and np.all(h.lo > -1e-13)
    assert np.all(h.hi >= np.log(16)) and np.all(h.hi < np.log(16) + 1e-13)
    # and a box would give V/e: the rule is what makes it exact
    assert np.log(16) < 16 / np.e


def _floored(scale: float, bias: np.ndarray, eps: float):
    def floored_softmax(context):
        z = scale * np.asarray(context, dtype=np.float64) + bias
        return (1 - 3 * eps) * nx.softmax(z) + eps
    return floored_softmax


def test_a_floored_softmax_of_an_affine_map_is_proved_with_its_closed_form():
    scale, eps = 0.7, 0.02
    bias = np.array([0.5, -0.25, 0.0])

    def closed_form(r: float) -> tuple[float, float]:
        lo, hi = nx.softmax_box_bounds(-r * scale + bias, r * scale + bias)  # exact: independent logits
        return eps + (1 - 3 * eps) * lo, eps + (1 - 3 * eps) * hi

    true_l = 0.5 * scale * (1 - 3 * eps)  # ‖J‖∞ = s (1 − Kε) max_k 2 p_k (1 − p_k), and p_k = ½ is reached
    # the extremes on [-10, 10]^3 are attained at corners, where the float result may sit an ulp past the
    # exact value: the proof is asked against the closed form on a slightly larger box, and the enclosure
    # reached is compared with the closed form on the domain itself
    op = ac.context_operator(_floored(scale, bias, eps), name="floored", bounds=closed_form(10.01),
                             register=False, world={"teachers": 3, "context_dim": 3})
    certs = certify_operator(op, World(teachers=3, context_dim=3), max_time=4.0)
    b = certs["context.boundedness"]
    assert b.status == "proved", b.reason
    assert np.allclose(b.bound, closed_form(10.0), rtol=1e-12, atol=0)
    assert certs["context.normalization"].status == "proved"
    reg = certs["context.continuity"]
    assert reg.status == "proved"
    assert reg.lipschitz_upper >= true_l  # never below the true constant
    assert reg.lipschitz_upper <= 1.6 * true_l, reg  # and not far above it (a shared machine: a loose margin)


def test_a_constant_has_lipschitz_constant_zero():
    op = ac.context_operator(lambda c: np.full((np.asarray(c).shape[0], 4), 0.25), name="const",
                             bounds=(0.25, 0.25), lipschitz=0.0, register=False)
    certs = certify_operator(op, World(), max_time=2.0)
    assert certs["context.continuity"].status == "proved"
    assert certs["context.continuity"].lipschitz_upper == 0.0
    assert all(c.status == "proved" for k, c in certs.items() if not k.endswith("safety_prioritization"))
