"""The scale decorators: `@ac.token_operator`, `task_operator`, `context_operator`, `importance_operator`.

Each builds an `Operator` record (`axiomcheck.spec.operator`) around a function and,
unless told `register=False`, adds it to the registry (`axiomcheck.spec.registry`).
They live apart from the record so that the registry can know the record
without the record knowing the registry: data runs record → registry → decorators.

>>> import numpy as np
>>> op = context_operator(lambda c: np.full((len(c), 4), 0.25), name="flat", register=False)
>>> op.scale, op.name
('context', 'flat')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, cast, overload

from ..calling import frameworks
from ..errors import SpecError
from .operator import Operator, Safety
from .registry import register as add_to_registry
from .scales import SCALES

__all__ = ["ScaleDecorator", "context_operator", "importance_operator", "scale_decorator", "task_operator",
           "token_operator"]


class ScaleDecorator(Protocol):
    """The type of `token_operator`, `task_operator` and `context_operator`.

    Used bare (`@ac.token_operator`) or called directly on a function, it gives
    an `Operator`; called with keywords only (`@ac.token_operator(name=...,
    bounds=...)`), it gives a decorator that does.
    """

    @overload
    def __call__(self, fn: Callable[..., Any], /, *, name: str | None = None,
                 bounds: Sequence[float] | None = None, lipschitz: float | None = None,
                 safety: Safety | None = None, importance: Callable[..., Any] | None = None,
                 params: Any = None, params_draws: int = 3,
                 world: Mapping[str, int] | None = None, framework: str | None = None,
                 domain: Mapping[str, Sequence[float]] | None = None, register: bool = True) -> Operator: ...

    @overload
    def __call__(self, fn: None = None, /, *, name: str | None = None,
                 bounds: Sequence[float] | None = None, lipschitz: float | None = None,
                 safety: Safety | None = None, importance: Callable[..., Any] | None = None,
                 params: Any = None, params_draws: int = 3,
                 world: Mapping[str, int] | None = None, framework: str | None = None,
                 domain: Mapping[str, Sequence[float]] | None = None,
                 register: bool = True) -> Callable[[Callable[..., Any]], Operator]: ...


def scale_decorator(scale: str) -> ScaleDecorator:
    """The decorator that declares operators of `scale` (a name in `axiomcheck.spec.scales.SCALES`).

    The four of the package are built with it; a scale added to the registry gets its own the same way.
    """
    if scale not in SCALES:
        raise SpecError(f"no scale {scale!r}; the scales are {tuple(SCALES)}")

    def make(
        fn: Callable[..., Any] | None = None,
        *,
        name: str | None = None,
        bounds: Sequence[float] | None = None,
        lipschitz: float | None = None,
        safety: Safety | None = None,
        importance: Callable[..., Any] | None = None,
        params: Any = None,
        params_draws: int = 3,
        world: Mapping[str, int] | None = None,
        framework: str | None = None,
        domain: Mapping[str, Sequence[float]] | None = None,
        register: bool = True,
    ) -> Operator | Callable[[Callable[..., Any]], Operator]:
        def build(f: Callable[..., Any]) -> Operator:
            if not callable(f):
                raise SpecError(f"@{scale}_operator must decorate a callable, got {f!r}")
            f = frameworks.function_of(f)  # an nn.Module: called as is, with forward's signature
            op = Operator(
                name=name or getattr(f, "__name__", "operator"),
                scale=scale,
                fn=f,
                bounds=bounds,
                lipschitz=lipschitz,
                safety=safety,
                importance=importance,
                description=(getattr(f, "__doc__", None) or "").strip(),
                params=params,
                params_draws=params_draws,
                world=tuple(world.items()) if isinstance(world, Mapping) else (world or ()),
                framework=framework,
                domain=domain if domain is not None else (),  # type: ignore[arg-type]
            )
            if register:
                add_to_registry(op)
            return op

        return build(fn) if fn is not None else build

    make.__name__ = f"{scale}_operator"
    make.__doc__ = (f"Register a {scale}-scale operator: `{SCALES[scale].signature}`.\n\n"
                    "Use as `@ac.{0}_operator(name=..., bounds=(w_min, w_max), lipschitz=L, ...)`. "
                    "The function may also name keyword inputs (see `axiomcheck.spec.inputs`); `params=` gives its "
                    "parameter sets (a list of checkpoints, or a callable params(rng) drawn `params_draws` times). "
                    "`world={{'context_dim': 16}}` declares the world sizes the operator needs; "
                    "`framework='torch'` (or 'jax', 'numpy') the array library it takes; "
                    "`domain={{'context': (-10, 10)}}` the input box certified checks hold on. "
                    "Pass `register=False` to build the record without adding it to the registry.".format(scale))
    return cast(ScaleDecorator, make)


token_operator = scale_decorator("token")
task_operator = scale_decorator("task")
context_operator = scale_decorator("context")
importance_operator = scale_decorator("importance")
importance_operator.__doc__ = (
    "Register task importance λ (Axiom III.14): `fn(losses[B,M,K], sizes[B,M], *, history, step, params) -> λ[B,M]`."
    "\n\nChecked with the `importance.*` ids: Σ_t λ_t = 1, λ ≥ 0, continuity, and Pareto compatibility of the "
    "λ-scalarized minimizer. Keywords: `name`, `lipschitz` (a declared constant for the continuity check), "
    "`params`/`params_draws` (a learned importance), `world` (the sizes it needs), `framework` (numpy, jax "
    "or torch), `domain` (the input boxes certified checks hold on), `register`. "
    "`bounds`, `safety` and `importance` do not "
    "apply to λ and are refused with a SpecError. A task operator may name an importance operator as its "
    "`importance=`.")
