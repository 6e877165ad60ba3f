"""Product-then-normalize composition of token, task and context operators (Def. IV.1).

    w_unified,k(x, i, t, c) = normalize_k( w_tok,k(x, i, c) · w_task,k(t) · w_ctx,k(c) )

computed in log space (Prop. IV.3): the logs of the factors are added and a
log-sum-exp over teachers normalizes them, so tiny factors do not underflow
before normalization.  The result is an `Operator` of scale "unified" over the
joint input `(probs[B,K,V], context[B,D], losses[B,M,K], sizes[B,M])` returning
`[B,M,K,V]`.

Component bounds do not carry over to the product unchanged; `derived_bounds`
(`axiomcheck.spec.unified_bounds`) computes the exact range the unified weight can
take given each component's declared `[w_min, w_max]` and that each component
sums to 1 over K teachers.

>>> import numpy as np
>>> from axiomcheck.spec.decorators import context_operator
>>> half = context_operator(lambda c: np.tile([0.6, 0.4], (len(c), 1)), name="c", bounds=(0.4, 0.6), register=False)
>>> derived_bounds([half], 2)["bounds"]
[0.4, 0.6]
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..calling.frameworks import adapt
from ..calling.sandbox import accepts_teachers
from . import boxes, worlds
from .inputs import INPUTS, keyword_inputs
from .operator import Operator, SpecError
from .scales import SCALES, composable, composition, spelled
from .unified_bounds import derived_bounds


def _flatten(ops: Sequence[Operator]) -> list[Operator]:
    """The factors of `ops` (a composed operator gives its own), in scale order.

    The factors are the operators of the composable scales (`Scale.composable`:
    token, task and context); anything else is refused with a `SpecError` that
    says what to do instead (`Scale.refuse_compose`).
    """
    order = composable()
    takes = f"compose() takes {spelled(order)} operators"
    flat: list[Operator] = []
    for op in ops:
        if not isinstance(op, Operator):
            raise SpecError(f"compose() takes Operators ({spelled(order)} ones), got {op!r}")
        scale = SCALES[op.scale]
        if scale.refuse_compose:
            raise SpecError(f"{takes}; {op.name!r} {scale.refuse_compose.format(name=op.name)}")
        if not scale.composition and not scale.composable:
            raise SpecError(f"{takes}; {op.name!r} has scale {op.scale!r}")
        flat.extend(op.components if scale.composition else (op,))
    scales = [op.scale for op in flat]
    dup = sorted({s for s in scales if scales.count(s) > 1})
    if dup:
        raise SpecError(f"compose() takes at most one operator per scale, got several at scale(s) {dup}: "
                        f"{[op.name for op in flat]}")
    return sorted(flat, key=lambda op: order.index(op.scale))


def _to_joint(w: np.ndarray, axes: Sequence[str]) -> np.ndarray:
    """`w[B, *axes]` (trailing axes may be absent, e.g. token weights `[B, K]`) laid out on the composed
    scale's axes (`[B, M, K, V]`), size 1 where absent."""
    joint = composition().axes
    names = list(axes[: w.ndim - 1])
    order = [0] + [1 + names.index(a) for a in joint if a in names]
    shape = [w.shape[0]] + [w.shape[1 + names.index(a)] if a in names else 1 for a in joint]
    return np.transpose(w, order).reshape(shape)


def _log(w: Any) -> np.ndarray:
    w = np.asarray(w, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(w)


class _Unified:
    """The composed weight function; also exposes each factor for attribution."""

    def __init__(self, components: Sequence[Operator]):
        self.components = tuple(components)
        self.__name__ = "unified(" + ", ".join(c.name for c in components) + ")"
        self.__qualname__ = self.__name__
        self.__module__ = __name__
        self.inputs = {c.scale: keyword_inputs(c.fn, c.scale) for c in self.components}
        union = [n for n in INPUTS if any(n in names for names in self.inputs.values())]
        #: keyword input -> the components that read it and take no default for it
        self.required = {n: [c.name for c in self.components if n in self.inputs[c.scale] and _required(c.fn, n)]
                         for n in union}
        P = inspect.Parameter
        self.__signature__ = inspect.Signature(
            [P(n, P.POSITIONAL_OR_KEYWORD) for n in composition().inputs] + [P(n, P.KEYWORD_ONLY) for n in union])

    def factors(self, probs: Any, context: Any, losses: Any, sizes: Any, **inputs: Any) -> dict[str, np.ndarray]:
        """Each component's log-weights broadcast to `[B, M, K, V]`, keyed by scale.

        A component takes the joint inputs its scale names (`Scale.inputs`) and the
        keyword inputs its own function names (the composition takes their union),
        and its weights are laid out along its scale's axes (`Scale.axes`).
        """
        self._check_inputs(inputs)
        joint = {"probs": np.asarray(probs), "context": context, "losses": np.asarray(losses), "sizes": sizes}
        B, K, V = joint["probs"].shape
        M = joint["losses"].shape[1]
        out: dict[str, np.ndarray] = {}
        for op in self.components:
            scale = SCALES[op.scale]
            kw = {"teachers": K} if accepts_teachers(op.fn) else {}
            kw.update({n: inputs[n] for n in self.inputs[op.scale] if n in inputs})
            fn = adapt(op.fn, op.framework)  # a torch or jax component gets its own arrays
            w = _log(fn(*(joint[name] for name in scale.inputs), **kw))
            out[op.scale] = np.broadcast_to(_to_joint(w, scale.axes), (B, M, K, V))
        return out

    def _check_inputs(self, inputs: dict[str, Any]) -> None:
        """A `TypeError` for a keyword input no component reads, or one a component needs and did not get."""
        unknown = sorted(set(inputs) - set(self.required))
        if unknown:
            takes = ", ".join(self.required) or "none"
            raise TypeError(f"{self.__name__} got unexpected keyword input(s) {unknown}; it takes: {takes}")
        missing = {n: who for n, who in self.required.items() if who and n not in inputs}
        if missing:
            raise TypeError(f"{self.__name__} missing keyword input(s): "
                            + "; ".join(f"{n!r} (read by {', '.join(who)})" for n, who in missing.items()))

    def __call__(self, probs: Any, context: Any, losses: Any, sizes: Any, **inputs: Any) -> np.ndarray:
        """The unified weights `[B, M, K, V]`, K taken from `probs`; each component gets the keyword
        inputs it names (a missing or unknown one is a `TypeError`) and is called in its framework."""
        logs = self.factors(probs, context, losses, sizes, **inputs)
        total = sum(logs.values())
        with np.errstate(invalid="ignore"):
            top = np.max(total, axis=2, keepdims=True)
            top = np.where(np.isfinite(top), top, 0.0)
            e = np.exp(total - top)
            return e / e.sum(axis=2, keepdims=True)

    def derived_bounds(self, teachers: int) -> dict[str, Any]:
        return derived_bounds(self.components, teachers)


def _required(fn: Any, name: str) -> bool:
    """Whether `fn` needs keyword `name` (it has no default)."""
    try:
        p = inspect.signature(fn).parameters.get(name)
    except (TypeError, ValueError):
        return True
    return p is None or p.default is inspect.Parameter.empty


def compose(*ops: Operator, name: str | None = None, bounds: Sequence[float] | None = None,
            lipschitz: float | None = None, domain: Mapping[str, Sequence[float]] | None = None) -> Operator:
    """Product-then-normalize of any non-empty set of token, task and context operators.

    A composed operator passed in contributes its components, so composing a
    composed operator with nothing new gives the same weights.  `bounds` is what
    the unified weight is asked to keep; by default nothing is declared and the
    boundedness check uses the derived bounds (see `derived_bounds`).  Safety
    orderings of the components are checked on the unified weight.  The composed
    operator needs the world each component declares (two different sizes of one
    field are refused), and each component is called in its own framework.
    It carries the input boxes its components declare for certified checks
    (`domain=`; two different boxes for one input are refused), and `domain`
    adds to them or replaces one.

    The result is called as `op(probs, context, losses, sizes, **inputs)` and
    returns `[B, M, K, V]`: the keyword inputs are the union of the components'
    (each gets the ones it names), K is read from `probs`.  Anything but token,
    task and context operators without `params=` (an importance operator, a
    learned operator, two at one scale, worlds that disagree, a declaration that
    is not valid) is refused with a `SpecError` that names it.

    Args:
        ops: token, task and context operators (at most one per scale), or composed ones.
        name: the composed operator's name (default `unified(a, b, ...)`).
        bounds: `(w_min, w_max)` the unified weight is declared to keep.
        lipschitz: a Lipschitz constant declared for the unified weight.
        domain: input boxes for certified checks, over the components' (e.g. `{"context": (-10, 10)}`).
    """
    if not ops:
        raise SpecError("compose() needs at least one operator")
    comps = _flatten(ops)
    learned = [c.name for c in comps if c.params is not None]
    if learned:
        raise SpecError(f"compose() takes token, task and context operators without declared params=; got {learned} "
                        f"(verify a learned operator on its own, once per parameter set)")
    fn = _Unified(comps)
    try:
        world = worlds.union(c.world for c in comps)
        boxed = tuple(boxes.merged(boxes.union(c.domain for c in comps), domain).items())
    except ValueError as exc:
        raise SpecError(f"cannot compose {[c.name for c in comps]}: {exc}") from None
    return Operator(name=name or fn.__name__, scale=composition().name, fn=fn,
                    bounds=bounds, lipschitz=lipschitz,
                    description="Product-then-normalize (Def. IV.1) of " + ", ".join(c.name for c in comps),
                    components=tuple(comps), world=world, domain=boxed)
