"""The subject under test: one operator in one world, called only through its sandboxes.

Every check reads the operator through a `Subject`: `call` runs it in a sandbox
and hands the result to the shape check before anything else sees it, and the
helpers below turn one sample of a batch into the text and the plain-data
counterexample a message shows.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from ..calling.frameworks import adapt
from ..calling.isolation import IsolatedSandbox
from ..calling.sandbox import KeywordCall, OperatorMisbehaved, Sandbox, accepts_teachers
from ..report import summary
from ..sampling.domain_inputs import WithInputs
from ..sampling.domains import DOMAINS, Args, Domain, World, take
from ..sampling.largev import for_world
from ..spec.operator import Operator, Safety
from ..spec.scales import Scale
from . import properties as P
from .base import NO_PARAMS, fmt
from .shape import Shape


@dataclasses.dataclass
class Subject:
    """The operator under test in one world, with the guarded ways of calling what the user gave."""

    op: Operator
    world: World
    scale: Scale
    seed: int
    tolerance: float | None
    timeout: float | None
    isolate: bool
    ids: dict[str, str]  # property -> check id, for the checks selected in this run
    bounds: tuple[float, float] | None = None
    bounds_origin: str = "declared"  # or "derived" (a composition's, from its components' declared bounds)
    dtype: np.dtype | None = None
    float32_valued: bool = True  # every float64 weight seen so far is a float32 value (engine.verifier)
    sandboxes: dict[Any, Sandbox] = dataclasses.field(default_factory=dict)
    op_dead: str | None = None  # why the operator is not called any more
    regularity_pairs: int = 256
    keywords: tuple[str, ...] = ()  # the keyword inputs the function names (axiomcheck.spec.inputs)
    params: Any = NO_PARAMS  # the parameter set this run checks, when the operator declares some
    pair_chunk: int = 1 << 30  # regularity segments bisected per batch (the byte budget, axiomcheck.sampling.budget)
    mixed_limit: int | None = None  # samples in the determinism / batch-independence batch (the byte budget)

    @functools.cached_property
    def domain(self) -> Domain:
        tokens = self.op.safety.tokens if self.op.safety is not None and self.op.safety.tokens else ()
        base = for_world(DOMAINS[self.scale.name], self.world, tuple(tokens or ()))  # large vocabularies: axiomcheck.sampling.largev
        if not self.keywords:
            return base
        return WithInputs(base, self.keywords, tuple(tokens or ()))

    @property
    def metric(self) -> str:
        """The regularity metric of this operator's inputs (the scale's, plus its keyword inputs)."""
        return self.domain.metric if isinstance(self.domain, WithInputs) else self.scale.metric

    @property
    def tol(self) -> float:
        if self.tolerance is not None:
            return float(self.tolerance)
        return P.tolerance_for(self.dtype if self.dtype is not None else np.dtype(np.float64),
                               getattr(self.world, self.scale.sums_over))

    def id(self, prop: str) -> str | None:
        return self.ids.get(prop)

    def sandbox(self, key: Any, fn: Callable[..., Any], what: str, names: tuple[str, ...] = ()) -> Sandbox:
        """The sandbox `fn` is called in (one per `key`, kept for the run)."""
        if key not in self.sandboxes:
            kind = IsolatedSandbox if self.isolate else Sandbox
            self.sandboxes[key] = kind(fn, what=what, names=names, timeout=self.timeout)
        return self.sandboxes[key]

    def bound_fn(self, world: World) -> Callable[..., Any]:
        """The operator's function in its framework (`frameworks.adapt`), told K (a `teachers` keyword),
        its parameters and its keyword inputs."""
        fn = adapt(self.op.fn, self.op.framework)
        fixed: list[tuple[str, Any]] = []
        if accepts_teachers(self.op.fn):
            fixed.append(("teachers", world.teachers))
        if self.params is not NO_PARAMS:
            fixed.append(("params", self.params))
        if not fixed and not self.keywords:
            return fn
        return KeywordCall(fn, len(self.scale.inputs), self.keywords, tuple(fixed))

    def call(self, args: Args, world: World | None = None) -> np.ndarray:
        """The operator's weights on `args`, their shape and dtype checked by the shape check
        (`Shape.conform`) before any other check reads them; raises OperatorMisbehaved.

        One hang or crash stops every later call of the operator, in this world or at K = 1.
        """
        world = world or self.world
        if self.op_dead is not None:
            raise OperatorMisbehaved("not_run", f"not run: the operator {self.op_dead}")
        g = self.sandbox(("op", world.teachers), self.bound_fn(world), "the operator", self.domain.arg_names)
        try:
            w = g(*args)
        except OperatorMisbehaved:
            self.op_dead = g.dead
            raise
        Shape.conform(self, w, world, int(args[0].shape[0]))
        return w

    def call_user(self, key: str, fn: Callable[..., Any], what: str, *args: Any,
                  names: tuple[str, ...] = ()) -> np.ndarray:
        """Another function the user supplied (a safety predicate, task importance), in a sandbox like the operator."""
        return self.sandbox(key, fn, what, names)(*args)

    def safety_specs(self) -> list[tuple[str, Safety]]:
        if self.scale.safety_set == "components":
            return [(c.scale, c.safety) for c in self.op.components if c.safety is not None]
        return [(self.op.scale, self.op.safety)] if self.op.safety is not None else []

    def misbehaved(self, exc: OperatorMisbehaved, args: Args, where: str) -> str:
        """The message of an operator failure at `where`."""
        if exc.kind == "not_run":
            return exc.detail
        shapes = ", ".join(f"{n}{list(a.shape)}" for n, a in zip(self.domain.arg_names, args))
        verb = {"raised": "must return weights, but raised",
                "timeout": "must return within the time limit, but",
                "crashed": "must return weights, but",
                "mutated": "must leave its inputs unchanged, but",
                "conversion": "could not be called:"}.get(exc.kind, "")
        return f"{verb} {exc.detail}".strip() + f", at {where} (inputs {shapes})"

    def close(self) -> None:
        for g in self.sandboxes.values():
            g.close()


def bounds_text(subject: Subject) -> str:
    """The bounds the weights are held to, named for a message: declared, or derived by a composition."""
    if subject.bounds is None:
        return "no bounds declared"
    lo, hi = (fmt(b) for b in subject.bounds)
    if subject.bounds_origin == "derived":
        return f"the bounds derived from the components' declared ones, [w_min, w_max] = [{lo}, {hi}]"
    return f"the {subject.bounds_origin} [w_min, w_max] = [{lo}, {hi}]"


def safety_tokens(subject: Subject) -> tuple[int, ...]:
    """The operator's declared safety-critical tokens S (empty when none)."""
    s = subject.op.safety
    return tuple(int(t) for t in s.tokens) if s is not None and s.tokens else ()


def inline(subject: Subject, args: Args, b: int, limit: int = 24) -> str:
    """The input itself, when it is small enough to read in a message; a summary when it is large."""
    one = take(args, [b])
    if sum(a.size for a in one) > limit:
        if summary.large(one):
            return summary.inline_from(summary.sample(subject.domain.arg_names, one, safety_tokens(subject))[0])
        return " (input in the counterexample)"
    parts = [f"{n}={np.array2string(a[0], precision=4, separator=', ')}"
             for n, a in zip(subject.domain.arg_names, one)]
    return " (" + "; ".join(p.replace("\n", "") for p in parts) + ")"


def sample_ce(subject: Subject, args: Args, b: int, w: np.ndarray | None, where: str,
              row: str = "") -> dict[str, Any]:
    """One sample of a batch as a plain-data counterexample (summarized, its arrays aside, when large)."""
    one = take(args, [b])
    if summary.large(one):
        shown, arrays = summary.sample(subject.domain.arg_names, one, safety_tokens(subject))
        ce: dict[str, Any] = {"input": shown, "where": where}
        if row:
            ce["row"] = row
        if w is not None:
            wb = np.asarray(w)[b]
            ce["weights"] = summary.weights_summary(wb, safety_tokens(subject)) if wb.size > summary.LIMIT \
                else wb.tolist()
            arrays["weights"] = wb
        ce[summary.ARRAYS] = arrays
        return ce
    ce = {"input": {k: v.tolist() for k, v in subject.domain.as_dict(one).items()}, "where": where}
    if row:
        ce["row"] = row
    if w is not None:
        ce["weights"] = np.asarray(w)[b].tolist()
    return ce
