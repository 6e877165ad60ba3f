"""Messages show the violation they report: the deviation of a sum, and float32 rounding in float64."""

from __future__ import annotations

import numpy as np

import axiomcheck as ac


def _verify(fn, **kw):
    op = ac.context_operator(fn, name=fn.__name__, register=False)
    return ac.verify(op, max_examples=0, sweep_size=16, axioms=["context.normalization"], **kw)


def test_a_sum_off_by_1e8_is_printed_with_its_deviation():
    def off_by_1e8(context):
        w = np.full((len(context), 4), 0.25)
        w[:, 0] += 1e-8
        return w

    r = _verify(off_by_1e8)["context.normalization"]
    assert r.status == "fail"
    assert "got 1.00000001 (off by +1.0e-08)" in r.message, r.message
    assert "float32" not in r.message  # 0.25 + 1e-8 is not a float32 value


def test_float32_weights_cast_to_float64_get_the_hint():
    def float32_cast(context):
        z = np.tanh(context[:, :1]) * np.array([[1.0, 0.3, -0.4, -1.0]], dtype=np.float32)
        e = np.exp(z.astype(np.float32))
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32).astype(np.float64)

    r = _verify(float32_cast)["context.normalization"]
    assert r.status == "fail", r.message
    assert "off by" in r.message and "float32 value stored as float64" in r.message, r.message
    assert "pass tolerance=" in r.message
    # the advice works: the same weights as float32 conform
    def float32_kept(context):
        return float32_cast(context).astype(np.float32)

    assert _verify(float32_kept)["context.normalization"].status == "pass"


def test_no_hint_when_the_user_set_the_tolerance():
    def float32_cast(context):
        w = np.full((len(context), 4), np.float32(0.2500001)).astype(np.float64)
        return w

    r = _verify(float32_cast, tolerance=1e-12)["context.normalization"]
    assert r.status == "fail" and "float32 value stored" not in r.message


def test_float32_results_cast_to_float64_are_not_a_jump():
    """A float32 computation cast to float64 changes in float32 steps: at float64 radii those steps
    look like a jump. Its continuity is judged at float32's resolution, as the float32 result is."""
    def f32(context):
        z = np.tanh(context[:, :1].astype(np.float32)) * np.array([[1.0, 0.3, -0.4, -1.0]], dtype=np.float32)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def f32_cast(context):
        return f32(context).astype(np.float64)

    reports = [ac.verify(ac.context_operator(f, name=f.__name__, register=False), max_examples=0, sweep_size=32,
                         axioms=["context.continuity"])["context.continuity"] for f in (f32, f32_cast)]
    assert [r.status for r in reports] == ["pass", "pass"], [r.message for r in reports]
    low = [r.estimate["lipschitz_lower_bound"] for r in reports]
    assert low[1] < 10 * max(low[0], 0.1), low  # not the 1/r of float32 steps at float64 radii
