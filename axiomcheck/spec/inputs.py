"""Keyword inputs an operator may ask for by name: labels, student, teacher_logits, features, history, step.

The paper states its axioms for w(x, i, c), and in practice "x" holds far more
than the teachers' distributions: the ground-truth label, the student's
prediction, the raw logits, an embedding, the loss history, the training step.
An operator names the ones it reads as keyword parameters; the engine samples,
shrinks, interpolates and reports exactly those (`keyword_inputs`).

Each `KeywordInput` draws a batch from one of its named families given the
positional inputs already drawn (a label where one teacher gives it probability
0 needs those probabilities), and may rewrite them: with `teacher_logits` named,
`probs` is recomputed as exactly `softmax(teacher_logits)`.  Each input names its
`extremes` (a label with probability 0 under every teacher, a confidently wrong
student, far-out features, a zero or huge loss history), so the sweep can put
all of an operator's inputs at their extremes together.  Continuous inputs
enter the regularity metric with their ‖Δ‖∞; discrete ones (labels, step) are
held fixed along every segment.

>>> import numpy as np
>>> sorted(keyword_inputs(lambda probs, context, *, labels, student: None, "token"))
['labels', 'student']
>>> INPUTS["labels"].metric is None  # discrete: held fixed on a segment
True
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from .._softmax import softmax
from . import worlds
from .scales import SCALES

Batch = dict[str, np.ndarray]  # input name -> batch-first array


@dataclasses.dataclass(frozen=True)
class Draw:
    """What an input's family needs: the generator, the world's sizes, the declared safety tokens."""

    rng: np.random.Generator
    world: Any
    safety_tokens: tuple[int, ...] = ()


def _renormalize(p: np.ndarray) -> np.ndarray:
    s = p.sum(axis=-1, keepdims=True)
    uniform = np.full_like(p, 1.0 / p.shape[-1])
    return np.where(s > 0, p / np.where(s > 0, s, 1.0), uniform)


# ----------------------------------------------------------------------------- token inputs


def _labels(fam: str, d: Draw, base: Batch) -> tuple[np.ndarray, Batch]:
    probs = base["probs"].copy()
    B, K, V = probs.shape
    rng = d.rng
    labels = rng.integers(0, V, size=B)
    rows = np.arange(B)
    if fam == "teacher_argmax":
        labels = probs[rows, rng.integers(0, K, size=B)].argmax(axis=-1)
    elif fam == "safety_token" and d.safety_tokens:
        labels = rng.choice(np.array([t for t in d.safety_tokens if t < V] or [0]), size=B)
    elif fam in ("zero_under_one", "tiny_under_one", "zero_under_all"):
        who = rng.integers(0, K, size=B)
        if fam == "zero_under_all":
            probs[rows, :, labels] = 0.0
        else:
            probs[rows, who, labels] = 0.0 if fam == "zero_under_one" else 1e-30
        # a row that held all its mass on the label is left empty: it becomes uniform over the other tokens,
        # so the label keeps probability 0 there too
        emptied = probs.sum(axis=-1) <= 0
        if V > 1 and emptied.any():
            spread = np.full((B, K, V), 1.0 / (V - 1))
            spread[rows, :, labels] = 0.0
            probs = np.where(emptied[..., None], spread, probs)
        probs = _renormalize(probs)
        if fam == "tiny_under_one":  # keep the tiny entry exactly where it was put
            probs[rows, who, labels] = 1e-30
        base = {**base, "probs": probs}
    return labels.astype(np.int64), base


def _student(fam: str, d: Draw, base: Batch) -> tuple[np.ndarray, Batch]:
    probs = base["probs"]
    B, K, V = probs.shape
    rng = d.rng
    rows = np.arange(B)
    if fam == "equal_teacher":
        s = probs[rows, rng.integers(0, K, size=B)].copy()
    elif fam == "one_hot":
        s = np.zeros((B, V))
        s[rows, rng.integers(0, V, size=B)] = 1.0
    elif fam == "uniform":
        s = np.full((B, V), 1.0 / V)
    elif fam == "confidently_wrong":
        # 0.999 of the mass on the token the teachers like least (never the label when one is given)
        wrong = probs.mean(axis=1).argmin(axis=-1)
        if "labels" in base and V > 1:
            wrong = np.where(wrong == base["labels"], (wrong + 1) % V, wrong)
        s = np.full((B, V), 1e-3 / max(V - 1, 1))
        s[rows, wrong] = 1.0 - 1e-3 if V > 1 else 1.0
    else:
        s = rng.dirichlet(np.ones(V), size=B)
    return s, base


def _teacher_logits(fam: str, d: Draw, base: Batch) -> tuple[np.ndarray, Batch]:
    probs = base["probs"]
    B, K, V = probs.shape
    rng = d.rng
    if fam == "extreme":
        z = rng.choice([-1e4, 0.0, 1e4], size=(B, K, V)) + rng.standard_normal((B, K, V))
    elif fam == "ties":
        z = np.repeat(rng.standard_normal((B, K, 1)).round(), V, axis=-1)
        z[:, :, : V // 2] += 1.0
    elif fam == "masked":
        z = rng.standard_normal((B, K, V)) * 3.0
        mask = rng.random((B, K, V)) < 0.5
        mask[..., 0] = False  # at least one finite logit per row
        z = np.where(mask, -np.inf, z)
    elif fam == "peaked":
        z = np.zeros((B, K, V))
        z[np.arange(B)[:, None], np.arange(K)[None, :], rng.integers(0, V, size=(B, K))] = 1e4
    else:  # "from_probs": the logits of the sampled distributions, shifted by an arbitrary constant per row
        with np.errstate(divide="ignore"):
            z = np.log(probs) + rng.uniform(-50, 50, size=(B, K, 1))
    return z, {**base, "probs": softmax(np.asarray(z, dtype=np.float64))}


def _features(fam: str, d: Draw, base: Batch) -> tuple[np.ndarray, Batch]:
    B = next(iter(base.values())).shape[0]
    F = d.world.features
    rng = d.rng
    if fam == "far_out":
        f = rng.standard_normal((B, F)) * 1e6
    elif fam == "zeros":
        f = np.zeros((B, F))
    elif fam == "tied":
        f = np.repeat(rng.standard_normal((B, 1)), F, axis=1)
    else:
        f = rng.standard_normal((B, F))
    return f, base


# ----------------------------------------------------------------------------- task inputs


def _history(fam: str, d: Draw, base: Batch) -> tuple[np.ndarray, Batch]:
    B = next(iter(base.values())).shape[0]
    H, M = d.world.history, d.world.tasks
    rng = d.rng
    start = rng.uniform(0.1, 5.0, size=(B, 1, M))
    ramp = np.linspace(0.0, 1.0, H)[None, :, None]
    if fam == "constant":
        h = np.repeat(start, H, axis=1)
    elif fam == "rising":
        h = start * (1.0 + ramp)
    elif fam == "falling":
        h = start * (1.0 - 0.9 * ramp)
    elif fam == "zeros":
        h = np.zeros((B, H, M))
    elif fam == "huge":
        h = start * 1e6 * (1.0 + ramp)
    elif fam == "tied_tasks":
        h = np.repeat(rng.uniform(0.1, 5.0, size=(B, H, 1)), M, axis=2)
    else:
        h = rng.uniform(0.0, 5.0, size=(B, H, M))
    return h, base


def _step(fam: str, d: Draw, base: Batch) -> tuple[np.ndarray, Batch]:
    B = next(iter(base.values())).shape[0]
    value = {"zero": np.zeros(B), "one": np.ones(B), "large": np.full(B, 10**9)}.get(fam)
    if value is None:
        value = d.rng.integers(0, 10_000, size=B)
    return np.asarray(value, dtype=np.int64), base


#: Keyword names with a meaning of their own (not sampled per sample), which no keyword input may take:
#: `teachers` is K, `params` a declared parameter set.
RESERVED = ("teachers", "params")


@dataclasses.dataclass(frozen=True)
class KeywordInput:
    """One input an operator may name: its layout, families, place in the regularity metric, certified domain.

    `metric` is the term it adds to the scale's metric ("‖Δstudent‖∞"), or None
    for a discrete input held fixed along each segment; `drawn` builds a batch of
    it for one family from the positional inputs (which it may rewrite).  Which
    scales offer it is a fact of each scale (`Scale.keywords`); `scales` reads it.

    What the certifier needs of it (`axiomcheck.certifier.space`): `axes`, its
    axes after the batch axis as world symbols (its shape in a world; `layout`
    says the same in words); `box`, the default interval of every entry, or None
    when a certified run must declare one (`domain={name: (lo, hi)}`); `simplex`,
    whether each row along its last axis is a probability distribution (it takes
    no box); `enumerated`, the world symbol N of a discrete input whose values
    0 … N−1 are each certified as their own case (labels: "V").  A discrete input
    that is not enumerated (`metric` None) is held: its box (`box`, it takes no
    declared one) is kept out of the metric.
    """

    name: str
    layout: str
    families: tuple[str, ...]
    drawn: Callable[[str, Draw, Batch], tuple[np.ndarray, Batch]]
    metric: str | None
    #: its families at the edge of what it can be, most extreme first: the sweep puts every input an
    #: operator names at one of these at once (`domain_inputs.WithInputs.sweep`)
    extremes: tuple[str, ...] = ()
    axes: tuple[str, ...] = ()
    box: tuple[float, float] | None = None
    simplex: bool = False
    enumerated: str | None = None

    def __post_init__(self) -> None:
        if self.name in RESERVED:
            raise ValueError(f"a keyword input cannot be named {self.name!r}: an operator's {self.name!r} keyword "
                             f"already has a meaning of its own (reserved: {', '.join(RESERVED)})")
        known = {worlds.symbol(f) for f in worlds.fields()}
        unknown = [a for a in (*self.axes, *([self.enumerated] if self.enumerated else [])) if a not in known]
        if unknown:
            raise ValueError(f"keyword input {self.name!r}: axes {unknown} are not world symbols ({sorted(known)})")
        if self.box is not None and (self.simplex or self.enumerated):
            raise ValueError(f"keyword input {self.name!r}: a distribution or an enumerated input takes no box")

    @property
    def held(self) -> bool:
        """Whether it is discrete and held fixed (not enumerated): in its box, out of the metric (step)."""
        return self.metric is None and self.enumerated is None

    @property
    def scales(self) -> tuple[str, ...]:
        """The scales whose operators may name it, in registry order."""
        return tuple(s.name for s in SCALES.values() if self.name in s.keywords)

    def draw(self, family: str, d: Draw, base: Batch) -> tuple[np.ndarray, Batch]:
        return self.drawn(family, d, base)


#: Every keyword input, in the order they are drawn (teacher_logits rewrites probs before labels read them).
INPUTS: dict[str, KeywordInput] = {
    i.name: i
    for i in (
        KeywordInput("teacher_logits", "float[B,K,V]; probs = softmax(teacher_logits)",
                     ("from_probs", "extreme", "ties", "masked", "peaked"), _teacher_logits,
                     "‖Δteacher_logits‖∞ (finite entries)", ("peaked", "extreme", "masked"),
                     axes=("K", "V"), box=(-30.0, 30.0)),
        KeywordInput("labels", "int64[B] in [0, V)",
                     ("random", "teacher_argmax", "zero_under_one", "zero_under_all", "tiny_under_one",
                      "safety_token"), _labels, None, ("zero_under_all", "zero_under_one", "tiny_under_one"),
                     enumerated="V"),
        KeywordInput("student", "float[B,V], a distribution",
                     ("dirichlet", "equal_teacher", "one_hot", "uniform", "confidently_wrong"), _student,
                     "‖Δstudent‖∞", ("confidently_wrong", "one_hot"), axes=("V",), simplex=True),
        KeywordInput("features", "float[B,F], F = world.features",
                     ("gaussian", "far_out", "zeros", "tied"), _features, "‖Δfeatures‖∞", ("far_out", "zeros"),
                     axes=("F",), box=(-10.0, 10.0)),
        KeywordInput("history", "float[B,H,M] ≥ 0, H = world.history, history[:, -1] the latest",
                     ("random", "constant", "rising", "falling", "zeros", "huge", "tied_tasks"), _history,
                     "‖Δhistory‖∞", ("zeros", "huge"), axes=("H", "M"), box=(0.0, 1e6)),
        KeywordInput("step", "int64[B] ≥ 0", ("random", "zero", "one", "large"), _step, None,
                     ("large", "zero"), box=(0.0, 1e9)),
    )
}


def named_parameters(fn: Callable[..., Any]) -> tuple[str, ...]:
    """The parameter names `fn` spells out (a `**kwargs` catch-all names nothing)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return ()
    return tuple(n for n, p in params.items()
                 if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))


def keyword_inputs(fn: Callable[..., Any], scale: str) -> tuple[str, ...]:
    """The keyword inputs of `scale` that `fn` names, in drawing order."""
    named = set(named_parameters(fn))
    return tuple(n for n in INPUTS if n in named and n in SCALES[scale].keywords)


def metric_terms(names: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(terms the continuous inputs add to the metric, the discrete inputs held fixed)."""
    cont = [INPUTS[n].metric for n in names if INPUTS[n].metric]
    held = [n for n in names if INPUTS[n].metric is None]
    return [c for c in cont if c], held
