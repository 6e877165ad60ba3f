"""The monotone functions of one argument: their float64 implementation, domain and derivative enclosures.

Each derivative rule takes the argument's enclosure [lo, hi] and the value's
(exact-value) enclosure and returns an enclosure of f' on [lo, hi], written
so that no cancellation loses it (tanh' as 4 / (eˣ + e⁻ˣ)², not 1 − tanh²).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import ivmath as iv
from . import rounding as R

Pair = tuple[np.ndarray, np.ndarray]


def _d_exp(lo, hi, vlo, vhi):
    return iv.exp(lo, hi)


def _d_log(lo, hi, vlo, vhi):
    return iv.recip(np.maximum(lo, 0.0), hi)


def _d_log1p(lo, hi, vlo, vhi):
    return iv.recip(*iv.add(lo, hi, 1.0, 1.0))


def _mig_mag(lo, hi):
    mig = np.where((lo <= 0) & (hi >= 0), 0.0, np.minimum(np.abs(lo), np.abs(hi)))
    return mig, np.maximum(np.abs(lo), np.abs(hi))


def _d_tanh(lo, hi, vlo, vhi):
    # sech²(x) = 4 / (eˣ + e⁻ˣ)², decreasing in |x| (no cancellation near saturation, unlike 1 − tanh²)
    mig, mag = _mig_mag(lo, hi)
    with np.errstate(over="ignore"):
        c_lo = iv.add(*iv.exp(mig, mig), *iv.exp(-mig, -mig))[0]  # eˣ + e⁻ˣ at |x| = mig: the smallest
        c_hi = iv.add(*iv.exp(mag, mag), *iv.exp(-mag, -mag))[1]
    d_lo = iv.div(4.0, 4.0, *iv.square(c_hi, c_hi))[0]
    d_hi = iv.div(4.0, 4.0, *iv.square(c_lo, c_lo))[1]
    return np.maximum(d_lo, 0.0), np.minimum(d_hi, 1.0)


def _d_logistic(lo, hi, vlo, vhi):
    # σ'(x) = e^{-|x|} / (1 + e^{-|x|})², decreasing in |x|
    mig, mag = _mig_mag(lo, hi)
    e_mag = iv.exp(-mag, -mag)
    e_mig = iv.exp(-mig, -mig)
    d_lo = iv.div(*e_mag, *iv.square(*iv.add(1.0, 1.0, *e_mag)))[0]
    d_hi = iv.div(*e_mig, *iv.square(*iv.add(1.0, 1.0, *e_mig)))[1]
    return np.maximum(d_lo, 0.0), np.minimum(d_hi, 0.25000000000000006)


def _d_sqrt(lo, hi, vlo, vhi):
    return iv.recip(2 * np.maximum(vlo, 0.0), 2 * vhi)


def _d_arctan(lo, hi, vlo, vhi):
    return iv.recip(*iv.add(1.0, 1.0, *iv.square(lo, hi)))


def _d_sinh(lo, hi, vlo, vhi):  # cosh
    m = np.maximum(np.abs(lo), np.abs(hi))
    mig = np.where((lo <= 0) & (hi >= 0), 0.0, np.minimum(np.abs(lo), np.abs(hi)))
    with np.errstate(over="ignore"):
        return R.widen_ulps(np.cosh(mig), np.cosh(m), 8)


def _d_arcsinh(lo, hi, vlo, vhi):
    s = iv.add(1.0, 1.0, *iv.square(lo, hi))
    with np.errstate(over="ignore"):
        r = R.outward(np.sqrt(s[0]), np.sqrt(s[1]))
    return iv.recip(*r)


def _np_logistic(x):
    with np.errstate(over="ignore"):
        return np.where(x >= 0, 1.0 / (1.0 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1.0 + np.exp(-np.abs(x))))


#: name -> (float64 function, domain lower limit (None: all reals), derivative, rounding)
MONOTONE: dict[str, tuple[Callable[..., Any], float | None, Callable[..., Pair], str]] = {
    "exp": (np.exp, None, _d_exp, "transcendental"),
    "log": (np.log, 0.0, _d_log, "transcendental"),
    "log1p": (np.log1p, -1.0, _d_log1p, "transcendental"),
    "expm1": (np.expm1, None, _d_exp, "transcendental"),
    "tanh": (np.tanh, None, _d_tanh, "transcendental"),
    "logistic": (_np_logistic, None, _d_logistic, "transcendental"),
    "sqrt": (np.sqrt, 0.0, _d_sqrt, "exact"),
    "arctan": (np.arctan, None, _d_arctan, "transcendental"),
    "sinh": (np.sinh, None, _d_sinh, "transcendental"),
    "arcsinh": (np.arcsinh, None, _d_arcsinh, "transcendental"),
}
