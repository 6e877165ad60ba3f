"""One set of rules: `verify()`'s predicates, the JAX weight guard and the PyTorch weight guard call the
same weight vectors violations, on the same arrays, boundary cases included (a sum exactly at the
tolerance and one float32 step past it, a weight exactly at a bound, NaN, ±inf, a weight that underflows
to 0 or to a subnormal number, an overflowing sum).

The torch half skips when PyTorch is not installed.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from axiomcheck.checks import properties as P
from axiomcheck.checks import rules
from axiomcheck.kernels import GuardSpec, guard_init, guard_update

K = 2
BOUNDS = (0.25, 0.75)
SPEC = GuardSpec(teachers=K, bounds=BOUNDS, safety_tokens=(0,), safety_pairs=((0, 1),))  # teacher 0 is safer
RULES = ("normalized", "positive", "bounded", "finite", "ordered")
E = 2.0 ** -19  # the float32 tolerance for K = 2: 8 ulps of float32 times K
U = 2.0 ** -24  # half an ulp of 1.0 in float32
TINY = float(np.finfo(np.float32).tiny)
INF, NAN = math.inf, math.nan


def holds(*broken: str) -> dict[str, bool]:
    return {r: r not in broken for r in RULES}


#: (name, w_0, w_1, which rules hold). Every finite value is a float32 number (checked below).
CASES = [
    ("conforming", 0.5, 0.5, holds()),
    ("sum exactly at 1 + tol; w_1 - w_0 exactly tol", 0.5, 0.5 + E, holds()),
    ("sum one float32 ulp past 1 + tol", 0.5, 0.5 + E + 2 * U, holds("normalized", "ordered")),
    # the exact sum is past 1 + tol by half an ulp of 1, but the float32 sum rounds (to even) to 1 + tol:
    # compared in float32, as every framework does, the sum holds (the order, exact in float32, does not)
    ("sum half an ulp past 1 + tol, rounding onto it", 0.5, 0.5 + E + U, holds("ordered")),
    ("sum exactly at 1 - tol", 0.5, 0.5 - E, holds()),
    ("sum half an ulp past 1 - tol", 0.5, 0.5 - E - U, holds("normalized")),
    ("a weight exactly at each bound ± tol", 0.25 - E, 0.75 + E, holds("ordered")),
    ("each weight half an ulp outside its bound ± tol", 0.75 + E + U, 0.25 - E - U, holds("bounded")),
    ("a weight underflowed to 0", 1.0, 0.0, holds("positive", "bounded")),
    ("a weight underflowed to -0", 1.0, -0.0, holds("positive", "bounded")),
    ("a subnormal weight counts as 0", 1.0, 1e-40, holds("positive", "bounded")),
    ("the smallest normal weight is positive", 1.0, TINY, holds("bounded")),
    ("NaN", NAN, 0.5, holds("normalized", "positive", "bounded", "finite", "ordered")),
    ("+inf", INF, 0.5, holds("normalized", "bounded", "finite")),
    ("-inf", -INF, 0.5, holds("normalized", "positive", "bounded", "finite", "ordered")),
    ("+inf on the less safe teacher", 0.5, INF, holds("normalized", "bounded", "finite", "ordered")),
    ("equal infinities are ordered", INF, INF, holds("normalized", "bounded", "finite")),
    ("finite weights whose sum overflows", 2.0 ** 127, 2.0 ** 127, holds("normalized", "bounded")),
]
IDS = [c[0] for c in CASES]


def checker_verdicts(w: np.ndarray) -> dict[str, bool]:
    """What verify()'s predicates (axiomcheck.checks.properties) say of the vector w[K]."""
    W = w.reshape(1, 1, K)
    tol = P.tolerance_for(W.dtype, K)
    bad = {"normalized": P.normalized(W, tol), "positive": P.positive(W), "bounded": P.bounded(W, *BOUNDS, tol),
           "finite": P.finite(W), "ordered": P.ordered(W, [(0, 1)], np.ones((1, 1), bool), tol)}
    return {r: not bool(v.bad[0, 0]) for r, v in bad.items()}


def from_state(violations, nonfinite) -> dict[str, bool]:
    """A guard state after one vector: which rules held (the counts are 0 or 1)."""
    v = np.asarray(violations).tolist()
    return {"normalized": v[0] == 0, "positive": v[1] == 0, "bounded": v[2] == 0, "ordered": v[3] == 0,
            "finite": int(nonfinite) == 0}


_jax_update = jax.jit(lambda w: guard_update(guard_init(SPEC), w, 0, SPEC))


def jax_verdicts(w: np.ndarray) -> dict[str, bool]:
    state = _jax_update(jnp.asarray(w.reshape(K, 1)))
    return from_state(state.violations, state.nonfinite)


def torch_verdicts(w: np.ndarray, dtype=None) -> dict[str, bool]:
    torch = pytest.importorskip("torch")
    from axiomcheck.guard.torch_guard import TorchGuard

    g = TorchGuard(SPEC)
    t = torch.from_numpy(np.ascontiguousarray(w).reshape(K, 1))
    g.update(t if dtype is None else t.to(dtype))
    s = g.state()
    return from_state(s.violations, s.nonfinite)


def test_every_finite_case_value_is_a_float32_number():
    for name, a, b, _ in CASES:
        for x in (a, b):
            assert not math.isfinite(x) or float(np.float32(x)) == x or x == 1e-40, (name, x)
    assert 0 < np.float32(1e-40) < TINY  # the subnormal case is subnormal


@pytest.mark.parametrize("name, w0, w1, expected", CASES, ids=IDS)
def test_checker_and_jax_guard_agree(name, w0, w1, expected):
    w = np.array([w0, w1], np.float32)
    assert checker_verdicts(w) == expected
    assert jax_verdicts(w) == expected


@pytest.mark.parametrize("name, w0, w1, expected", CASES, ids=IDS)
def test_checker_and_torch_guard_agree(name, w0, w1, expected):
    w = np.array([w0, w1], np.float32)
    assert torch_verdicts(w) == checker_verdicts(w) == expected


@pytest.mark.parametrize("name, w0, w1, expected", CASES, ids=IDS)
def test_in_float64_the_checker_and_torch_guard_agree(name, w0, w1, expected):
    """float64 weights are compared in float64 (JAX, without x64, sees float32 and is left out)."""
    w = np.array([w0, w1], np.float64)
    assert torch_verdicts(w) == checker_verdicts(w)


BF16_CASES = [  # bfloat16: tol = 8 * 2^-7 * 2 = 0.125; 2^-8 is one bfloat16 ulp in [0.5, 1)
    ("bf16 sum exactly at 1 + tol", 0.5, 0.625),
    ("bf16 sum one bf16 ulp past 1 + tol", 0.5, 0.625 + 2.0 ** -8),
    ("bf16 conforming", 0.5, 0.5),
    ("bf16 NaN", NAN, 0.5),
    ("bf16 subnormal", 1.0, 1e-39),
]


@pytest.mark.parametrize("name, w0, w1", BF16_CASES, ids=[c[0] for c in BF16_CASES])
def test_bfloat16_weights_the_jax_and_torch_guards_agree(name, w0, w1):
    torch = pytest.importorskip("torch")
    w = jnp.asarray([[w0], [w1]], jnp.float32).astype(jnp.bfloat16)
    state = _jax_update_bf16(w)
    got_jax = from_state(state.violations, state.nonfinite)
    assert torch_verdicts(np.array([w0, w1], np.float32), torch.bfloat16) == got_jax
    if name == "bf16 sum exactly at 1 + tol":
        assert got_jax["normalized"]
    if name == "bf16 sum one bf16 ulp past 1 + tol":
        assert not got_jax["normalized"]


_jax_update_bf16 = jax.jit(lambda w: guard_update(guard_init(SPEC), w, 0, SPEC))


# ----------------------------------------------------------------------------- the tolerance and the thresholds


def test_one_tolerance_rule_for_every_dtype_spelling():
    torch = pytest.importorskip("torch")
    for np_dt, jnp_dt, torch_dt in ((np.float32, jnp.float32, torch.float32), (np.float64, jnp.float64, torch.float64),
                                    (np.float16, jnp.float16, torch.float16)):
        want = 8 * K * float(np.finfo(np_dt).eps)
        assert P.tolerance_for(np.dtype(np_dt), K) == SPEC.tol_for(jnp_dt) == SPEC.tol_for(torch_dt) == want
    assert SPEC.tol_for(jnp.bfloat16) == SPEC.tol_for(torch.bfloat16) == 8 * K * 2.0 ** -7
    assert SPEC.tol_for(jnp.int32) == rules.tolerance(np.float32, K)  # the guard falls back to float32
    assert P.tolerance_for(np.dtype(np.int64), K) == rules.tolerance(np.float64, K)  # the checker to float64


def test_thresholds_are_rounded_inward_into_the_compute_dtype():
    lim = rules.limits(1e-6, (0.1, 0.9), np.float32)
    for value, exact, inward in ((lim.low, 0.1 - 1e-6, 1), (lim.high, 0.9 + 1e-6, -1), (lim.tol, 1e-6, -1)):
        assert float(np.float32(value)) == value  # a float32 number
        assert (value - exact) * inward >= 0  # on the inner side of the exact threshold
        assert abs(value - exact) <= float(np.spacing(np.float32(exact)))  # by less than one float32 step
    assert rules.limits(1e-6, (0.1, 0.9), np.float64).low == 0.1 - 1e-6


def test_a_zero_lower_bound_without_tolerance_lets_subnormals_through_as_zeros():
    lim = rules.limits(0.0, (0.0, 1.0), np.float32)
    low = np.array([-1e-40, 0.0, -TINY], np.float32)
    assert rules.bounds_ok(low, np.zeros(3, np.float32), lim).tolist() == [True, True, False]
