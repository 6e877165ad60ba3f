"""The `Operator` record and its declared spec.

An operator is a small immutable record around a pure function: its name, the
scale it works at, and what its author declares about it (weight bounds, a
Lipschitz constant, a safety ordering, task importance).  Everything is
validated when the record is built, so a bad declaration fails at import time
with a `SpecError`, not halfway through a verification run.  The scale
decorators that build one (`token_operator`, ...) are in `axiomcheck.spec.decorators`.

>>> import numpy as np
>>> op = Operator(name="doc_half", scale="context", fn=lambda c: np.full((c.shape[0], 2), 0.5),
...               bounds=(0.5, 0.5))
>>> op.scale, op.bounds
('context', (0.5, 0.5))
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Callable
from typing import Any

from ..calling import frameworks
from ..errors import SpecError
from . import boxes, signatures, worlds
from .scales import SCALES as SCALE_RECORDS
from .scales import names as scale_names
from .scales import spelled

__all__ = ["Operator", "Safety", "SpecError"]


def _must(cond: bool, what: str, got: Any) -> None:
    if not cond:
        raise SpecError(f"{what}, got {got!r}")


@dataclasses.dataclass(frozen=True)
class Safety:
    """A designated ordinal safety ranking and where it applies.

    `order` ranks teachers safest first; `pairs` lists `(better, worse)` pairs
    directly. Exactly one of the two is given. At token scale `tokens` names the
    safety-critical token ids S; at context scale `contexts` is a predicate
    `bool[B] = contexts(context[B,D])` that marks C_safe.

    >>> Safety(tokens=[3, 7], order=[0, 2, 1]).ordered_pairs()
    ((0, 2), (0, 1), (2, 1))
    """

    tokens: tuple[int, ...] | None = None
    contexts: Callable[[Any], Any] | None = None
    order: tuple[int, ...] | None = None
    pairs: tuple[tuple[int, int], ...] | None = None

    def __post_init__(self) -> None:
        if self.tokens is not None:
            toks = tuple(int(t) for t in self.tokens)
            _must(len(toks) > 0, "Safety.tokens must name at least one token id", self.tokens)
            _must(all(t >= 0 for t in toks), "Safety.tokens must be non-negative ids", self.tokens)
            _must(len(set(toks)) == len(toks), "Safety.tokens must not repeat an id", self.tokens)
            object.__setattr__(self, "tokens", toks)
        if self.contexts is not None:
            _must(callable(self.contexts), "Safety.contexts must be a callable predicate", self.contexts)
        _must((self.order is None) != (self.pairs is None),
              "Safety needs exactly one of order=[safest, ...] or pairs=[(better, worse), ...]",
              {"order": self.order, "pairs": self.pairs})
        if self.order is not None:
            order = tuple(int(k) for k in self.order)
            _must(len(order) >= 2, "Safety.order must rank at least two teachers", self.order)
            _must(all(k >= 0 for k in order), "Safety.order must hold teacher indices ≥ 0", self.order)
            _must(len(set(order)) == len(order), "Safety.order must not name a teacher twice", self.order)
            object.__setattr__(self, "order", order)
        if self.pairs is not None:
            pairs = tuple((int(a), int(b)) for a, b in self.pairs)
            _must(len(pairs) > 0, "Safety.pairs must hold at least one (better, worse) pair", self.pairs)
            _must(all(a != b and a >= 0 and b >= 0 for a, b in pairs),
                  "Safety.pairs must compare two different teachers (indices ≥ 0)", self.pairs)
            _must(len(set(pairs)) == len(pairs), "Safety.pairs must not repeat a pair", self.pairs)
            _must(not any((b, a) in set(pairs) for a, b in pairs),
                  "Safety.pairs must not rank two teachers both ways", self.pairs)
            object.__setattr__(self, "pairs", pairs)

    def ordered_pairs(self) -> tuple[tuple[int, int], ...]:
        """Every `(safer, less safe)` pair the declaration implies."""
        if self.order is not None:
            o = self.order
            return tuple((o[a], o[b]) for a in range(len(o)) for b in range(a + 1, len(o)))
        return tuple(self.pairs or ())

    def max_teacher(self) -> int:
        """Largest teacher index named, so a world with fewer teachers can be refused."""
        return max(max(p) for p in self.ordered_pairs())


@dataclasses.dataclass(frozen=True)
class Operator:
    """A weighting operator: a pure function plus what its author declares about it.

    Call it like its function (keyword inputs and `params` included).  Build one with `token_operator`,
    `task_operator`, `context_operator` or `compose`, not directly.
    """

    name: str
    scale: str
    fn: Callable[..., Any]
    bounds: tuple[float, float] | None = None
    lipschitz: float | None = None
    safety: Safety | None = None
    importance: Callable[..., Any] | None = None
    description: str = ""
    components: tuple[Operator, ...] = ()
    params: Any = None
    params_draws: int = 3
    #: The world sizes the operator needs, as `(field, size)` pairs (`declared_world` gives the dict).
    world: tuple[tuple[str, int], ...] = ()
    #: The array library the function is written in: None or "numpy" (numpy arrays), "jax", "torch".
    framework: str | None = None
    #: The input domain certified checks hold on, as `(input, (lo, hi))` pairs (`declared_domain` gives the dict).
    domain: tuple[tuple[str, tuple[float, float]], ...] = ()

    def __post_init__(self) -> None:
        _must(isinstance(self.name, str) and self.name.strip() != "",
              "an operator name must be a non-empty string", self.name)
        _must(self.scale in scale_names(), f"scale must be one of {scale_names()}", self.scale)
        _must(callable(self.fn), f"operator {self.name!r}: the weight function must be callable", self.fn)
        scale = SCALE_RECORDS[self.scale]
        if self.bounds is not None:
            _must(not scale.task_importance, f"operator {self.name!r}: task importance λ declares no bounds "
                  f"(λ_t = 0 is allowed; its checks are Σλ = 1 and λ ≥ 0)", self.bounds)
            try:
                lo, hi = (float(b) for b in self.bounds)
            except (TypeError, ValueError):
                raise SpecError(f"operator {self.name!r}: bounds must be (w_min, w_max), two numbers, "
                                f"got {self.bounds!r}") from None
            _must(math.isfinite(lo) and math.isfinite(hi),
                  f"operator {self.name!r}: bounds must be finite", self.bounds)
            _must(lo > 0, f"operator {self.name!r}: w_min must be > 0 (Assumption A1)", lo)
            _must(lo <= hi, f"operator {self.name!r}: w_min must be ≤ w_max", (lo, hi))
            object.__setattr__(self, "bounds", (lo, hi))
        if self.lipschitz is not None:
            try:
                lip = float(self.lipschitz)
            except (TypeError, ValueError):
                raise SpecError(f"operator {self.name!r}: lipschitz must be a finite number ≥ 0, "
                                f"got {self.lipschitz!r}") from None
            _must(math.isfinite(lip) and lip >= 0,
                  f"operator {self.name!r}: lipschitz must be a finite number ≥ 0", self.lipschitz)
            object.__setattr__(self, "lipschitz", lip)
        if self.safety is not None:
            _must(isinstance(self.safety, Safety),
                  f"operator {self.name!r}: safety must be an ac.Safety(...)", self.safety)
            where = scale.safety_set
            if where == "tokens":
                _must(self.safety.tokens is not None and self.safety.contexts is None,
                      f"operator {self.name!r}: token-scale safety needs Safety(tokens=[...]) and no contexts",
                      self.safety)
            elif where == "contexts":
                _must(self.safety.contexts is not None and self.safety.tokens is None,
                      f"operator {self.name!r}: context-scale safety needs Safety(contexts=predicate) and no tokens",
                      self.safety)
            elif where is None:
                raise SpecError(f"operator {self.name!r}: {self.scale} scale declares no safety ordering "
                                f"(the paper's {self.scale} axioms have none), got {self.safety!r}")
        if self.importance is not None:
            declaring = [s.name for s in SCALE_RECORDS.values() if s.declares_importance]
            _must(scale.declares_importance,
                  f"operator {self.name!r}: importance (task coefficients λ) is declared at {spelled(declaring, 'or')} "
                  f"scale only", self.scale)
            _must(callable(self.importance) and (not isinstance(self.importance, Operator)
                                                 or SCALE_RECORDS[self.importance.scale].task_importance),
                  f"operator {self.name!r}: importance must be callable fn(losses, sizes) -> [B,M] "
                  f"or an @importance_operator", self.importance)
        try:
            object.__setattr__(self, "world", worlds.declaration(self.world))
            object.__setattr__(self, "framework", frameworks.check_framework(self.framework, self.fn))
            object.__setattr__(self, "domain", boxes.declaration(self.domain))
        except ValueError as exc:
            raise SpecError(f"operator {self.name!r}: {exc}") from None
        wrong = signatures.problem(self.fn, self.scale)
        if wrong is not None:
            raise SpecError(f"operator {self.name!r}: the function {wrong}")
        self._check_domain()
        self._check_params()

    @property
    def declared_world(self) -> dict[str, int]:
        """The world sizes the operator declares it needs (`world=` on its decorator), by `World` field."""
        return dict(self.world)

    @property
    def declared_domain(self) -> dict[str, tuple[float, float]]:
        """The input boxes the operator declares for certified checks (`domain=` on its decorator)."""
        return dict(self.domain)

    def takes(self) -> tuple[str, ...]:
        """The inputs the function is called with: its scale's, and the keyword inputs it names."""
        from .inputs import named_parameters  # a leaf module, imported where needed

        scale_inputs = SCALE_RECORDS[self.scale].inputs
        return scale_inputs + tuple(n for n in named_parameters(self.fn) if n not in scale_inputs)

    def _check_domain(self) -> None:
        extra = boxes.unused(self.domain, self.takes())
        _must(not extra, f"operator {self.name!r}: domain= bounds input(s) {extra} that a {self.scale}-scale "
              f"operator with this function does not take", dict(self.domain))

    def _check_params(self) -> None:
        from .inputs import named_parameters  # a leaf module, imported where needed

        p = self.params
        if p is not None:
            _must(callable(p) or (isinstance(p, (list, tuple)) and len(p) > 0),
                  f"operator {self.name!r}: params must be a non-empty list of parameter sets (checkpoints) "
                  f"or a callable params(rng) -> params", type(p).__name__)
            _must(isinstance(self.params_draws, int) and self.params_draws >= 1,
                  f"operator {self.name!r}: params_draws must be an integer ≥ 1", self.params_draws)
            _must("params" in named_parameters(self.fn),
                  f"operator {self.name!r}: params= is declared but the function takes no `params` keyword",
                  named_parameters(self.fn))
        elif not SCALE_RECORDS[self.scale].composition:
            try:
                param = inspect.signature(self.fn).parameters.get("params")
            except (TypeError, ValueError):
                param = None
            _must(param is None or param.default is not inspect.Parameter.empty,
                  f"operator {self.name!r}: the function takes `params` but no params= were declared "
                  f"(pass params=[checkpoint, ...] or params=draw)", "params")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the function exactly as it is called without the decorator: the same positional
        arguments, keyword inputs (`labels=`, `history=`, ...) and `params=`, and its result unchanged
        (no conversion, no guard), so the one object serves in training code and in `verify()`."""
        return self.fn(*args, **kwargs)

    @property
    def __signature__(self) -> inspect.Signature | None:
        """The function's signature (what `help()` and `inspect.signature` show for the operator)."""
        try:
            return inspect.signature(self.fn)
        except (TypeError, ValueError):
            return None

    @property
    def signature(self) -> str:
        return SCALE_RECORDS[self.scale].signature

    @property
    def metric(self) -> str:
        return SCALE_RECORDS[self.scale].metric

    def replace(self, **changes: Any) -> Operator:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)
