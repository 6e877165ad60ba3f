"""Second-order enclosures, and the Lipschitz bound they give near a maximum.

With few certified coordinates (n ≤ `MAX_N`), an evaluation can also carry an
enclosure of every entry's Hessian with respect to its box (`Interval.hlo`,
`hhi`, shape `shape + (n, n)`), by the second-order chain rule

    H(f∘(a, b)) = Σ ∂f·H + Σ ∂²f·(J ⊗ J)

with interval partial derivatives.  Then on a box with centre m and half-widths r,

    |J_ki(u)| ≤ |J_ki(m) + H_ki·(u − m)|,

and for the entries whose sign cannot change on the box the sum over i of
s_i H_ki·(u − m) is a linear function of u − m whose largest value is
Σ_l r_l |Σ_i s_i H_kil|.  Near a maximum of the row sum that sum is close to 0,
so the bound's excess shrinks like r² instead of r, and the branch and bound
needs far fewer boxes there.  The argument needs J continuously
differentiable on the box: rows with an open choice (a kink, an undecided max
or sort) or a possible jump do not use it (`Trace.rough`, `Trace.disc`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ivmath as iv

#: Hessians are carried only for at most this many certified coordinates (their size is n² per entry).
MAX_N = 8

Pair = tuple[np.ndarray, np.ndarray]


def wanted(*xs: Any) -> bool:
    """Whether the evaluation carries Hessians and every dependent operand has one."""
    tr = next((x.trace for x in xs if hasattr(x, "trace")), None)
    if tr is None or not getattr(tr, "second", False):
        return False
    return all(x.jlo is None or x.hlo is not None for x in xs)


def _hz(x: Any, n: int) -> Pair:
    if x.hlo is not None:
        return x.hlo, x.hhi
    z = np.zeros(x.shape + (n, n))
    return z, z


def _jj(a: Any, b: Any) -> Pair | None:
    """J_a ⊗ J_b (outer product over the coordinates), or None when either is constant."""
    if a.jlo is None or b.jlo is None:
        return None
    return iv.mul_fast(a.jlo[..., :, None], a.jhi[..., :, None], b.jlo[..., None, :], b.jhi[..., None, :])


def _scaled(d: Pair, m: Pair) -> Pair:
    return iv.mul_fast(np.asarray(d[0])[..., None, None], np.asarray(d[1])[..., None, None], m[0], m[1])


def combine(shape: tuple[int, ...], n: int, first: list[tuple[Pair | None, Any]],
            second: list[tuple[Pair, Any, Any]]) -> Pair | None:
    """Σ d_x H_x (d None: 1) + Σ d_xy J_x ⊗ J_y, broadcast to `shape + (n, n)`."""
    lo = hi = None

    def add(p: Pair) -> None:
        nonlocal lo, hi
        if lo is None:
            lo, hi = p
        else:
            lo, hi = iv.add(lo, hi, *p)

    for d, x in first:
        if x.jlo is None:
            continue
        h = _hz(x, n)
        add(h if d is None else _scaled(d, h))
    for d, x, y in second:
        jj = _jj(x, y)
        if jj is not None:
            add(_scaled(d, jj))
    if lo is None:
        return None
    lo, hi = np.broadcast_to(lo, shape + (n, n)), np.broadcast_to(hi, shape + (n, n))
    return np.where(np.isnan(lo), -np.inf, lo), np.where(np.isnan(hi), np.inf, hi)


def unknown_at(h: Pair, mask: np.ndarray) -> Pair:
    """No Hessian where `mask` (an open selection: J is not differentiable there): the whole line."""
    m = np.asarray(mask, bool)[..., None, None]
    return np.where(m, -np.inf, h[0]), np.where(m, np.inf, h[1])


def attach(out: Any, h: Pair | None) -> Any:
    if h is not None:
        out.hlo, out.hhi = h
    return out


# ----------------------------------------------------------------------------- second derivatives of the functions


def second_derivative(name: str, lo: np.ndarray, hi: np.ndarray, vlo: np.ndarray, vhi: np.ndarray,
                      dlo: np.ndarray, dhi: np.ndarray) -> Pair | None:
    """f'' on [lo, hi] from the value (v) and first-derivative (d) enclosures, or None if there is no rule."""
    with np.errstate(all="ignore"):
        if name in ("exp", "expm1"):
            return iv.exp(lo, hi)
        if name == "log":
            a, b = iv.recip(*iv.square(np.maximum(lo, 0.0), hi))
            return -b, -a
        if name == "log1p":
            a, b = iv.recip(*iv.square(*iv.add(lo, hi, 1.0, 1.0)))
            return -b, -a
        if name == "tanh":  # −2 tanh · sech²
            return iv.mul_fast(*iv.scale(vlo, vhi, -2.0), dlo, dhi)
        if name == "logistic":  # σ'(1 − 2σ)
            return iv.mul_fast(dlo, dhi, *iv.sub(1.0, 1.0, *iv.scale(vlo, vhi, 2.0)))
        if name == "sqrt":  # −1 / (4 x √x)
            a, b = iv.recip(*iv.scale(*iv.mul(np.maximum(lo, 0.0), hi, np.maximum(vlo, 0.0), vhi), 4.0))
            return -b, -a
        if name == "arctan":  # −2x / (1 + x²)²
            den = iv.square(*iv.add(1.0, 1.0, *iv.square(lo, hi)))
            return iv.mul_fast(*iv.scale(lo, hi, -2.0), *iv.recip(*den))
    return None


# ----------------------------------------------------------------------------- the bound


def second_order_bound(centre_J: Pair, H: Pair, r: np.ndarray, metric: np.ndarray,
                       rows: np.ndarray | None) -> np.ndarray:
    """Per box: max over outputs of sup_u Σ_i |J_ki(u)| from J at the centre and H on the box.

    `centre_J`: [B, R, K, n] at the centres; `H`: [B, R, K, n, n] on the boxes; `r`: [B, n] half-widths.
    """
    jl, jh = centre_J
    hl, hh = H
    if rows is not None:
        jl, jh, hl, hh = jl[:, rows], jh[:, rows], hl[:, rows], hh[:, rows]
    jl, jh = jl[..., metric], jh[..., metric]
    hl, hh = hl[..., metric, :], hh[..., metric, :]
    B = jl.shape[0]
    rr = r[:, None, None, None, :]  # over l
    hmag = np.maximum(np.abs(hl), np.abs(hh))
    var = (hmag * rr).sum(axis=-1) * (1 + 1e-12)  # [B, R, K, i]: how far J_ki can move on the box
    pos, neg = jl > var, jh < -var
    fixed = pos | neg
    s = np.where(pos, 1.0, np.where(neg, -1.0, 0.0))
    base_fixed = np.where(pos, jh, np.where(neg, -jl, 0.0)).sum(axis=-1)
    T_lo = (np.where(s[..., None] > 0, hl, 0.0) - np.where(s[..., None] < 0, hh, 0.0)).sum(axis=-2)
    T_hi = (np.where(s[..., None] > 0, hh, 0.0) - np.where(s[..., None] < 0, hl, 0.0)).sum(axis=-2)
    lin = (np.maximum(np.abs(T_lo), np.abs(T_hi)) * r[:, None, None, :]).sum(axis=-1)
    free = np.where(~fixed, np.maximum(np.abs(jl), np.abs(jh)) + var, 0.0).sum(axis=-1)
    total = (base_fixed + lin + free) * (1 + 1e-10)  # a relative step for the float sums above
    total = np.where(np.isnan(total), np.inf, total)
    return total.reshape(B, -1).max(axis=1, initial=0.0)
