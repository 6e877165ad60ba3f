"""Every primitive rule of the interval core against a rigorous oracle, on random inputs.

For random boxes, the exact value of the function at many points of the box
(its endpoints included) is computed with mpmath at 60 digits, and the float64
value numpy computes there too; both must lie inside the enclosure, and the
exact derivative inside the Jacobian enclosure.  `test_a_broken_rule_is_caught`
rounds exp inwards on purpose and shows the same check fails: the oracle
tests can catch an unsound rule.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest

from axiomcheck.certifier import logic, ops, reduce, rounding
from axiomcheck.certifier.core import Interval, Trace

mp.mp.dps = 60
RNG = np.random.default_rng(20261207)


def boxes(n: int, lo: float, hi: float, max_width: float) -> tuple[np.ndarray, np.ndarray]:
    """n random intervals inside [lo, hi], of random widths up to max_width (some of width 0)."""
    a = RNG.uniform(lo, hi, n)
    w = RNG.uniform(0, max_width, n) * (RNG.random(n) < 0.9)
    return a, np.minimum(a + w, hi)


def variable(lo: np.ndarray, hi: np.ndarray, tr: Trace) -> Interval:
    """A row of independent variables x_i ∈ [lo_i, hi_i], each its own certified coordinate."""
    n = lo.size
    J = np.eye(n)[None]
    return Interval(lo[None], hi[None], J, J, dtype=np.float64, trace=tr, rowdep=True)


def points_of(lo: np.ndarray, hi: np.ndarray, k: int = 9) -> np.ndarray:
    """[k, n]: the endpoints and interior points of every interval."""
    t = np.linspace(0.0, 1.0, k)[:, None]
    return lo[None] + t * (hi - lo)[None]


def assert_encloses(out: Interval, exact: list[list[mp.mpf]], floats: np.ndarray,
                    dexact: list[list[mp.mpf]] | None = None) -> None:
    """Every exact value and float value at the points lies in the enclosure (and the derivatives in J)."""
    lo, hi = out.lo.reshape(-1), out.hi.reshape(-1)
    bad = []
    for j in range(lo.size):
        for vals in exact:
            v = vals[j]
            if not (mp.mpf(lo[j]) <= v <= mp.mpf(hi[j])):
                bad.append(("exact", j, float(v), lo[j], hi[j]))
        for f in floats[:, j]:
            if np.isfinite(f) and not (lo[j] <= f <= hi[j]):
                bad.append(("float", j, f, lo[j], hi[j]))
    if dexact is not None:
        jlo = np.diagonal(out.jlo[0], axis1=-2, axis2=-1).reshape(-1)
        jhi = np.diagonal(out.jhi[0], axis1=-2, axis2=-1).reshape(-1)
        for j in range(jlo.size):
            for vals in dexact:
                if not (mp.mpf(jlo[j]) <= vals[j] <= mp.mpf(jhi[j])):
                    bad.append(("derivative", j, float(vals[j]), jlo[j], jhi[j]))
    assert not bad, f"{len(bad)} values outside the enclosure, e.g. {bad[:3]}"


UNARY = [
    # name, numpy, mpmath, derivative, domain
    ("exp", np.exp, mp.exp, mp.exp, (-30.0, 30.0)),
    ("log", np.log, mp.log, lambda x: 1 / x, (1e-3, 50.0)),
    ("log1p", np.log1p, mp.log1p, lambda x: 1 / (1 + x), (-0.9, 50.0)),
    ("expm1", np.expm1, mp.expm1, mp.exp, (-20.0, 20.0)),
    ("tanh", np.tanh, mp.tanh, lambda x: 1 - mp.tanh(x) ** 2, (-12.0, 12.0)),
    ("logistic", lambda x: 1 / (1 + np.exp(-x)), lambda x: 1 / (1 + mp.exp(-x)),
     lambda x: mp.exp(-x) / (1 + mp.exp(-x)) ** 2, (-20.0, 20.0)),
    ("sqrt", np.sqrt, mp.sqrt, lambda x: 1 / (2 * mp.sqrt(x)), (1e-3, 100.0)),
    ("arctan", np.arctan, mp.atan, lambda x: 1 / (1 + x * x), (-20.0, 20.0)),
]


def check_unary(name: str, np_fn, mp_fn, d_fn, dom) -> None:
    lo, hi = boxes(40, *dom, 3.0)
    tr = Trace(1, lo.size)
    out = ops.unary(name, variable(lo, hi, tr))
    pts = points_of(lo, hi)
    exact = [[mp_fn(mp.mpf(x)) for x in row] for row in pts]
    dexact = [[d_fn(mp.mpf(x)) for x in row] for row in pts]
    with np.errstate(all="ignore"):
        assert_encloses(out, exact, np_fn(pts), dexact)


@pytest.mark.parametrize("name,np_fn,mp_fn,d_fn,dom", UNARY, ids=[u[0] for u in UNARY])
def test_unary_rules_enclose_the_exact_and_the_float_values(name, np_fn, mp_fn, d_fn, dom):
    check_unary(name, np_fn, mp_fn, d_fn, dom)


BINARY = [
    ("add", ops.add, np.add, lambda a, b: a + b, (1, 1)),
    ("subtract", ops.subtract, np.subtract, lambda a, b: a - b, (1, -1)),
    ("multiply", ops.multiply, np.multiply, lambda a, b: a * b, None),
    ("divide", ops.divide, np.divide, lambda a, b: a / b, None),
    ("maximum", lambda a, b: logic.extremum("max", a, b), np.maximum, lambda a, b: max(a, b), None),
    ("minimum", lambda a, b: logic.extremum("min", a, b), np.minimum, lambda a, b: min(a, b), None),
    ("logaddexp", ops.logaddexp, np.logaddexp, lambda a, b: mp.log(mp.exp(a) + mp.exp(b)), None),
]


@pytest.mark.parametrize("name,rule,np_fn,mp_fn,_", BINARY, ids=[b[0] for b in BINARY])
def test_binary_rules_enclose_the_exact_and_the_float_values(name, rule, np_fn, mp_fn, _):
    alo, ahi = boxes(30, -5.0, 5.0, 2.0)
    blo, bhi = boxes(30, 0.5, 6.0, 2.0) if name == "divide" else boxes(30, -5.0, 5.0, 2.0)
    tr = Trace(1, 60)
    J = np.eye(60)[None]
    x = Interval(np.concatenate([alo, blo])[None], np.concatenate([ahi, bhi])[None], J, J, dtype=np.float64,
                 trace=tr, rowdep=True)
    out = rule(x[:, :30], x[:, 30:])
    pa, pb = points_of(alo, ahi, 5), points_of(blo, bhi, 5)
    exact, floats = [], []
    for i in range(5):
        for j in range(5):
            exact.append([mp_fn(mp.mpf(a), mp.mpf(b)) for a, b in zip(pa[i], pb[j])])
            with np.errstate(all="ignore"):
                floats.append(np_fn(pa[i], pb[j]))
    assert_encloses(out, exact, np.array(floats))


@pytest.mark.parametrize("k", [2, 3, 4, 5])
def test_integer_powers_enclose(k):
    lo, hi = boxes(30, -3.0, 3.0, 2.0)
    tr = Trace(1, lo.size)
    out = ops.integer_pow(variable(lo, hi, tr), k)
    pts = points_of(lo, hi)
    assert_encloses(out, [[mp.mpf(x) ** k for x in row] for row in pts], pts ** k,
                    [[k * mp.mpf(x) ** (k - 1) for x in row] for row in pts])


def test_abs_and_its_kink_enclose():
    lo, hi = boxes(30, -3.0, 3.0, 2.0)
    tr = Trace(1, lo.size)
    out = ops.absolute(variable(lo, hi, tr))
    pts = points_of(lo, hi)
    assert_encloses(out, [[abs(mp.mpf(x)) for x in row] for row in pts], np.abs(pts),
                    [[mp.sign(mp.mpf(x)) if x != 0 else 0 for x in row] for row in pts])


def test_sums_enclose_any_summation_order():
    lo, hi = boxes(64, -1e3, 1e3, 50.0)
    tr = Trace(1, 64)
    out = reduce.sum_(variable(lo, hi, tr).reshape((1, 8, 8)), 2)
    pts = points_of(lo, hi).reshape(-1, 8, 8)
    exact = [[mp.fsum(mp.mpf(v) for v in row) for row in p] for p in pts]
    floats = np.array([[sum(row[::-1]) for row in p] for p in pts] + [p.sum(axis=1) for p in pts])
    assert_encloses(out, exact, floats)


def _softmax_mp(z: list[float]) -> list[mp.mpf]:
    zs = [mp.mpf(v) for v in z]
    s = mp.fsum(mp.exp(v) for v in zs)
    return [mp.exp(v) / s for v in zs]


@pytest.mark.parametrize("shifted", [False, True])
def test_the_softmax_rule_encloses_the_exact_and_the_float_softmax(shifted):
    K = 5
    lo, hi = boxes(K * 8, -8.0, 8.0, 1.5)
    tr = Trace(1, K * 8)
    z = variable(lo, hi, tr).reshape((1, 8, K))
    y = ops.subtract(z, reduce.extreme(z, 2, True, "max")) if shifted else z
    e = ops.unary("exp", y)
    w = ops.divide(e, reduce.sum_(e, 2, True))
    assert "norm" in w.tags  # the rule was applied
    pts = points_of(lo, hi, 5).reshape(5, 8, K)
    exact = [[v for row in p for v in _softmax_mp(list(row))] for p in pts]
    floats = []
    for p in pts:
        q = np.exp(p - p.max(axis=1, keepdims=True)) if shifted else np.exp(p)
        floats.append((q / q.sum(axis=1, keepdims=True)).reshape(-1))
    assert_encloses(w, exact, np.array(floats))
    # the proven sum holds for the float weights
    s = np.array(floats).reshape(5, 8, K).sum(axis=2)
    assert np.all(w.tags["norm"]["slo"].min() <= s) and np.all(s <= w.tags["norm"]["shi"].max())


def test_the_ratio_and_saturating_rules_enclose():
    lo, hi = boxes(24, 0.0, 100.0, 30.0)
    tr = Trace(1, 24)
    x = variable(lo, hi, tr).reshape((1, 6, 4))
    w = ops.divide(x, reduce.sum_(x, 2, True))
    q = ops.divide(x, ops.add(x, 1.0))
    pts = points_of(lo, hi, 5).reshape(5, 6, 4)
    exact_w, exact_q, fw, fq = [], [], [], []
    for p in pts:
        rows = [[mp.mpf(v) for v in r] for r in p]
        exact_w.append([v / mp.fsum(r) if mp.fsum(r) != 0 else mp.mpf(0.25) for r in rows for v in r])
        exact_q.append([v / (1 + v) for r in rows for v in r])
        with np.errstate(all="ignore"):
            fw.append(np.nan_to_num(p / p.sum(axis=1, keepdims=True), nan=0.25).reshape(-1))
        fq.append((p / (1.0 + p)).reshape(-1))
    assert_encloses(q, exact_q, np.array(fq))
    ok = lo.reshape(6, 4).sum(axis=1) > 0  # rows whose sum cannot be 0
    w_rows = Interval(w.lo[0][ok], w.hi[0][ok], dtype=np.float64, trace=tr)
    exact_ok = [[v for i, v in enumerate(e) if ok[i // 4]] for e in exact_w]
    assert_encloses(w_rows, exact_ok, np.array(fw)[:, np.repeat(ok, 4)])


def test_a_float32_result_is_rounded_outwards_to_float32():
    lo, hi = boxes(40, -20.0, 20.0, 2.0)
    tr = Trace(1, 40)
    x = Interval(lo[None], hi[None], dtype=np.float32, trace=tr, rowdep=True)
    out = ops.unary("exp", x)
    assert out.dtype == np.float32
    assert np.all(out.lo.astype(np.float32).astype(np.float64) == out.lo)  # endpoints on the float32 grid
    pts = points_of(lo, hi).astype(np.float32)
    assert_encloses(out, [[mp.exp(mp.mpf(float(v))) for v in row] for row in pts], np.exp(pts).astype(np.float64))


def test_an_underflow_to_zero_is_never_proved_away():
    tr = Trace(1, 1)
    x = Interval(np.array([[-120.0]]), np.array([[-110.0]]), dtype=np.float32, trace=tr, rowdep=True)
    out = ops.unary("exp", x)  # exp(-115) underflows to 0 (or a flushed subnormal) in float32
    assert out.lo[0, 0] == 0.0  # so w > 0 cannot be proved
    x64 = Interval(np.array([[-120.0]]), np.array([[-110.0]]), dtype=np.float64, trace=tr, rowdep=True)
    assert ops.unary("exp", x64).lo[0, 0] > 0.0  # in float64 it does not


def test_a_broken_rule_is_caught(monkeypatch):
    """Round exp inwards (its lower endpoint up by a relative 1e-12): the oracle test above fails."""
    real = rounding.transcendental

    def inward(lo, hi, dtype, name=None):
        lo2, hi2 = real(lo, hi, dtype, name)
        if name == "exp":
            return lo2 * (1 + 1e-12) + 1e-300, hi2 * (1 - 1e-12)
        return lo2, hi2

    monkeypatch.setattr(rounding, "transcendental", inward)
    with pytest.raises(AssertionError, match="outside the enclosure"):
        check_unary(*UNARY[0])


def test_the_log_softmax_and_log_sum_exp_rules_enclose():
    K = 4
    lo, hi = boxes(K * 6, -6.0, 6.0, 1.5)
    tr = Trace(1, K * 6)
    z = variable(lo, hi, tr).reshape((1, 6, K))
    m = reduce.extreme(z, 2, True, "max")
    y = ops.subtract(z, m)
    ls = ops.subtract(y, ops.unary("log", reduce.sum_(ops.unary("exp", y), 2, True)))
    lse = ops.add(ops.unary("log", reduce.sum_(ops.unary("exp", y), 2, True)), m)
    lse_flat = ops.add(m[:, :, 0], ops.unary("log", reduce.sum_(ops.unary("exp", y), 2)))  # the axis dropped
    pts = points_of(lo, hi, 5).reshape(5, 6, K)
    ex_ls, ex_lse, f_ls, f_lse = [], [], [], []
    for p in pts:
        rows = [[mp.mpf(v) for v in r] for r in p]
        ex_lse.append([mp.log(mp.fsum(mp.exp(v) for v in r)) for r in rows])
        ex_ls.append([v - mp.log(mp.fsum(mp.exp(w) for w in r)) for r in rows for v in r])
        mm = p.max(axis=1, keepdims=True)
        f_ls.append((p - mm - np.log(np.exp(p - mm).sum(axis=1, keepdims=True))).reshape(-1))
        f_lse.append((mm + np.log(np.exp(p - mm).sum(axis=1, keepdims=True))).reshape(-1))
    assert_encloses(ls, ex_ls, np.array(f_ls))
    assert_encloses(lse, ex_lse, np.array(f_lse))
    assert_encloses(lse_flat, ex_lse, np.array(f_lse))
    assert np.all(lse_flat.hi - lse_flat.lo <= lse.hi.reshape(lse_flat.shape) - lse.lo.reshape(lse_flat.shape) + 1e-9)
    # and they are the rules, not loose interval arithmetic: the log-softmax is exact at the corners
    zl, zh = lo.reshape(6, K), hi.reshape(6, K)
    exact_lo = [-float(mp.log(1 + mp.fsum(mp.exp(mp.mpf(zh[r, j]) - mp.mpf(zl[r, k])) for j in range(K) if j != k)))
                for r in range(6) for k in range(K)]
    assert np.allclose(ls.lo.reshape(-1), exact_lo, rtol=0, atol=1e-12)
