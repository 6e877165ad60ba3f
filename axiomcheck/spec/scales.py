"""One `Scale` record per scale: what the function takes, how it is measured, where safety applies.

Everything the code needs to treat a scale differently lives here, so adding a
scale is one `Scale`, one `Domain` (in `axiomcheck.sampling.domains`) and the
scale's rows of the catalogue (`axiomcheck.axioms`), not a hunt for
`if scale == ...` branches.  `SCALES` is the registry, in the order scales are
listed everywhere (the command's choices, messages, a composition's factors);
a test may add a scale to it at run time and take it out again.

>>> SCALES["context"].inputs, SCALES["context"].safety_set
(('context',), 'contexts')
>>> SCALES["token"].metric
'max(‖Δprobs‖∞, ‖Δcontext‖∞)'
>>> SCALES["task"].terms
(('losses', ''), ('sizes', 'log'))
>>> SCALES["task"].signature
'fn(losses[B,M,K], sizes[B,M]) -> [B,M,K]'
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from . import worlds

#: How the regularity metric may measure the change of one input: "" as it is (‖Δx‖∞), "log" in
#: log (‖Δlog x‖∞: sizes 1 and 1e9 are 9 decades apart, not 1e9).  The sampling domains move along
#: segments straight in these values (`axiomcheck.sampling.domains.TRANSFORMS` implements them).
TRANSFORMS = ("", "log")


@dataclasses.dataclass(frozen=True)
class Arg:
    """One positional input of a scale's function.

    `axes` are its axes after the batch axis, as world symbols ("K", "V", "D",
    "M": see `axiomcheck.spec.worlds`); `transform` says how the regularity
    metric measures its change: "" for ‖Δx‖∞, "log" for ‖Δlog x‖∞ (a key of
    `TRANSFORMS`; a "log" input is positive, and certified in its logs).  What
    the certifier needs besides (`axiomcheck.certifier.space`): `box`, the
    default interval of every entry, or None when a certified run must declare
    one (`domain={name: (lo, hi)}`); `simplex`, whether each row along its last
    axis is a probability distribution (it takes no box).
    """

    name: str
    axes: tuple[str, ...]
    transform: str = ""
    box: tuple[float, float] | None = None
    simplex: bool = False

    def __post_init__(self) -> None:
        if self.transform not in TRANSFORMS:
            raise ValueError(f"input {self.name!r}: transform must be one of {tuple(TRANSFORMS)}, "
                             f"got {self.transform!r}")
        if self.box is not None and self.simplex:
            raise ValueError(f"input {self.name!r}: a distribution on the simplex takes no box")
        known = {worlds.symbol(f) for f in worlds.fields()}
        unknown = [a for a in self.axes if a not in known]
        if unknown:
            raise ValueError(f"input {self.name!r}: axes {unknown} are not world symbols ({sorted(known)})")

    @property
    def term(self) -> str:
        """Its term of the metric: `‖Δsizes‖∞`, `‖Δlog sizes‖∞`."""
        return f"‖Δ{self.transform + ' ' if self.transform else ''}{self.name}‖∞"


@dataclasses.dataclass(frozen=True)
class Scale:
    """How one scale's operators are called, sampled, measured, judged and composed.

    Args:
        name: the scale's name, the first part of its check ids (`token.positivity`).
        args: the positional inputs in order (`Arg`: name, axes, how the metric measures it).
        returns: what the function returns, after `->` in its signature ("[B,K] or [B,K,V]").
        axes: the axes of the returned weights after the batch axis, longest form (a shorter
            one drops trailing axes); for messages, the byte budget, the ensemble G and the composition.
        safety_set: the `Safety` field that selects the safety-critical inputs ("tokens",
            "contexts", "components" for a composition, or None where the paper states no safety axiom).
        single_teacher: when the K = 1 well-posedness family applies: "input" (K is read from the
            input), "keyword" (only when the function takes a `teachers` keyword, because its input
            has no teacher axis) or "never".
        sums_over: the `World` size the returned values sum over: "teachers" for teacher weights,
            "tasks" for task importance λ.
        keywords: the keyword inputs an operator of this scale may name (`axiomcheck.spec.inputs`).
        composable: whether `compose()` takes it as a factor of the product (Def. IV.1).
        composition: whether it is the scale of what `compose()` returns (one scale is).
        declares_importance: whether its operators may declare task importance λ (`importance=`),
            which its Pareto check judges.
        refuse_compose: why `compose()` refuses an operator of this scale, when that needs saying
            beyond "not a factor"; `{name}` stands for the operator's name.
    """

    name: str
    args: tuple[Arg, ...]
    returns: str
    axes: tuple[str, ...]
    safety_set: str | None = None
    single_teacher: str = "input"
    sums_over: str = "teachers"
    keywords: tuple[str, ...] = ()
    composable: bool = False
    composition: bool = False
    declares_importance: bool = False
    refuse_compose: str = ""

    def __post_init__(self) -> None:
        if not self.args:
            raise ValueError(f"scale {self.name!r}: a function takes at least one positional input")
        if self.sums_over not in worlds.fields():
            raise ValueError(f"scale {self.name!r}: sums_over must be a World size, got {self.sums_over!r}")
        if self.single_teacher not in ("input", "keyword", "never"):
            raise ValueError(f"scale {self.name!r}: single_teacher must be input, keyword or never, "
                             f"got {self.single_teacher!r}")

    @property
    def inputs(self) -> tuple[str, ...]:
        """The names of the positional inputs, in order (the domain's arrays follow them)."""
        return tuple(a.name for a in self.args)

    @property
    def terms(self) -> tuple[tuple[str, str], ...]:
        """The metric as data: one `(input, transform)` pair per positional input."""
        return tuple((a.name, a.transform) for a in self.args)

    @property
    def metric(self) -> str:
        """The input metric of the regularity estimate, as reports show it: the largest term."""
        parts = [a.term for a in self.args]
        return parts[0] if len(parts) == 1 else f"max({', '.join(parts)})"

    @property
    def signature(self) -> str:
        """How the function is called: `fn(context[B,D]) -> [B,K]`."""
        args = ", ".join(f"{a.name}[{','.join(('B', *a.axes))}]" for a in self.args)
        return f"fn({args}) -> {self.returns}"

    @property
    def task_importance(self) -> bool:
        """Whether its functions return task coefficients λ (summing over tasks), not teacher weights."""
        return self.sums_over == "tasks"

    def sample_elements(self, world: Any) -> int:
        """Array elements of one sample: its positional inputs plus the largest weights it may return."""
        return sum(size(world, a.axes) for a in self.args) + size(world, self.axes)


def size(world: Any, axes: tuple[str, ...]) -> int:
    """The number of elements of an array with `axes` (world symbols) in `world`, batch axis aside."""
    by_symbol = {worlds.symbol(f): f for f in worlds.fields()}
    return math.prod(int(getattr(world, by_symbol[a])) for a in axes)


def names() -> tuple[str, ...]:
    """The registered scales, in registry order."""
    return tuple(SCALES)


def composable() -> tuple[str, ...]:
    """The scales `compose()` takes as factors, in registry order."""
    return tuple(s.name for s in SCALES.values() if s.composable)


def composition() -> Scale:
    """The scale of a composed operator."""
    return next(s for s in SCALES.values() if s.composition)


def spelled(items: tuple[str, ...] | list[str], last: str = "and") -> str:
    """`a, b and c`: how messages list scales."""
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {last} {items[-1]}"


_TOKEN_KEYWORDS = ("teacher_logits", "labels", "student", "features")
_TASK_KEYWORDS = ("history", "step")

# The positional inputs, one record each however many scales take them.  Their default boxes: context
# reaches σ = 10 in the `gaussian` and `wide` sweep families, losses 1e6 in `huge_losses`, sizes 1e9 in
# `extreme_sizes`.
_PROBS = Arg("probs", ("K", "V"), simplex=True)
_CONTEXT = Arg("context", ("D",), box=(-10.0, 10.0))
_LOSSES = Arg("losses", ("M", "K"), box=(0.0, 1e6))
_SIZES = Arg("sizes", ("M",), "log", box=(1.0, 1e9))

SCALES: dict[str, Scale] = {
    s.name: s
    for s in (
        Scale("token", (_PROBS, _CONTEXT), "[B,K] or [B,K,V]", ("K", "V"),
              safety_set="tokens", single_teacher="input", keywords=_TOKEN_KEYWORDS, composable=True),
        Scale("task", (_LOSSES, _SIZES), "[B,M,K]", ("M", "K"),
              single_teacher="input", keywords=_TASK_KEYWORDS, composable=True, declares_importance=True),
        Scale("context", (_CONTEXT,), "[B,K]", ("K",),
              safety_set="contexts", single_teacher="keyword", keywords=("features",), composable=True),
        Scale("unified", (_PROBS, _CONTEXT, _LOSSES, _SIZES), "[B,M,K,V]", ("M", "K", "V"),
              safety_set="components", single_teacher="never", keywords=_TOKEN_KEYWORDS + _TASK_KEYWORDS,
              composition=True),
        Scale("importance", (_LOSSES, _SIZES), "λ[B,M]", ("M",),
              single_teacher="never", sums_over="tasks", keywords=_TASK_KEYWORDS,
              refuse_compose="is an importance operator (task coefficients λ[B,M], not teacher weights): declare "
                             "it on a task operator as importance={name}, or verify it on its own"),
    )
}
