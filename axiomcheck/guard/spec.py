"""What the weight guard checks: the declared bounds and token safety order of an operator (`GuardSpec`).

Framework-free: the JAX guard (`axiomcheck.kernels.guard_update`) and the PyTorch
guard (`axiomcheck.torch_guard`) both take a `GuardSpec`, and decide with the rules
of `axiomcheck.checks.rules` at the tolerance it gives.

>>> GuardSpec(teachers=2, bounds=(0.1, 0.9)).tol_for("float32") == 8 * 2 * 2.0 ** -23
True
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from ..checks import rules

__all__ = ["PROPERTIES", "GuardSpec"]

#: The properties the guard checks, in the order of its per-property arrays.
PROPERTIES = ("normalization", "positivity", "bounds", "safety")


@dataclasses.dataclass(frozen=True)
class GuardSpec:
    """What the guarded weights must satisfy; hashable, so a jitted step can close over it.

    Args:
        teachers: K.
        bounds: the declared `(w_min, w_max)`, or None (bounds not checked).
        safety_tokens: the safety-critical token ids S (empty: no safety order).
        safety_pairs: `(safer, less safe)` teacher pairs, as `Safety.ordered_pairs()` gives them.
        tolerance: absolute tolerance of the sum, bound and order comparisons; None:
            8 ulps of the weights' dtype times K (float32 at least), as `verify` uses.
    """

    teachers: int
    bounds: tuple[float, float] | None = None
    safety_tokens: tuple[int, ...] = ()
    safety_pairs: tuple[tuple[int, int], ...] = ()
    tolerance: float | None = None

    def __post_init__(self) -> None:
        k = int(self.teachers)
        if k < 1:
            raise ValueError(f"GuardSpec.teachers must be ≥ 1, got {self.teachers!r}")
        object.__setattr__(self, "teachers", k)
        if self.bounds is not None:
            lo, hi = (float(b) for b in self.bounds)
            if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
                raise ValueError(f"GuardSpec.bounds must be finite (w_min, w_max) with w_min ≤ w_max, "
                                 f"got {self.bounds!r}")
            object.__setattr__(self, "bounds", (lo, hi))
        toks = tuple(int(t) for t in self.safety_tokens)
        pairs = tuple((int(a), int(b)) for a, b in self.safety_pairs)
        if any(t < 0 for t in toks) or len(set(toks)) != len(toks):
            raise ValueError(f"GuardSpec.safety_tokens must be distinct ids ≥ 0, got {self.safety_tokens!r}")
        if any(not (0 <= a < k and 0 <= b < k and a != b) for a, b in pairs):
            raise ValueError(f"GuardSpec.safety_pairs must pair two different teachers in 0..{k - 1}, "
                             f"got {self.safety_pairs!r}")
        if bool(toks) != bool(pairs):
            raise ValueError("GuardSpec needs both safety_tokens and safety_pairs, or neither, "
                             f"got tokens {toks!r} and pairs {pairs!r}")
        object.__setattr__(self, "safety_tokens", toks)
        object.__setattr__(self, "safety_pairs", pairs)
        if self.tolerance is not None:
            tol = float(self.tolerance)
            if not (math.isfinite(tol) and tol >= 0):
                raise ValueError(f"GuardSpec.tolerance must be a finite number ≥ 0, got {self.tolerance!r}")
            object.__setattr__(self, "tolerance", tol)

    @property
    def has_safety(self) -> bool:
        return bool(self.safety_pairs)

    def tol_for(self, dtype: Any) -> float:
        """The tolerance for weights of `dtype` (numpy, JAX or torch): the declared one, else 8 ulps
        of the dtype (float32 for a non-float dtype) times K, the default `verify` uses."""
        if self.tolerance is not None:
            return self.tolerance
        return rules.tolerance(dtype, self.teachers, fallback=np.float32)

    def limits(self, dtype: Any) -> rules.Limits:
        """The thresholds the rules compare weights of `dtype` with (`axiomcheck.checks.rules.limits`)."""
        return rules.limits(self.tol_for(dtype), self.bounds, dtype)

    def check_shape(self, shape: tuple[int, ...]) -> tuple[int, int]:
        """(N, V) of weights of `shape` `[K, N]` (V = 1) or `[K, N, V]`; a `ValueError` for any other
        shape, or when a safety-critical token lies outside V."""
        shape = tuple(int(d) for d in shape)
        if len(shape) not in (2, 3) or shape[0] != self.teachers or 0 in shape:
            raise ValueError(f"weights must have shape [K, N] or [K, N, V] with K = {self.teachers}, got {shape}")
        v = shape[2] if len(shape) == 3 else 1
        if len(shape) == 3 and self.has_safety and max(self.safety_tokens) >= v:
            raise ValueError(f"the safety-critical token {max(self.safety_tokens)} is outside the vocabulary "
                             f"V = {v} of the weights")
        return shape[1], v

    @classmethod
    def from_operator(cls, op: Any, teachers: int, *, tolerance: float | None = None) -> GuardSpec:
        """The spec an `Operator` declares: its bounds (for a composition without declared
        bounds, the bounds derived from its components) and its token-scale safety order
        (a composition's token component's); context-scale orders are not guarded."""
        bounds = op.bounds
        comps = tuple(getattr(op, "components", ()) or ())
        if bounds is None and comps:
            from ..spec.unified_bounds import derived_bounds

            bounds = derived_bounds(comps, teachers).get("bounds")
        safety = next((o.safety for o in (op, *comps) if o.safety is not None and o.safety.tokens is not None),
                      None)
        return cls(teachers=teachers, bounds=tuple(bounds) if bounds is not None else None,
                   safety_tokens=safety.tokens if safety else (),
                   safety_pairs=safety.ordered_pairs() if safety else (), tolerance=tolerance)
