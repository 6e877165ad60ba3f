"""Input domains of each scale: sweep families, Hypothesis strategies, and geometry.

A `Domain` knows, for one scale, what arrays the operator takes, how to draw
many of them at once from seeded parametric families (the sweep), how to draw
a few from Hypothesis strategies (the search, where shrinking gives minimal
counterexamples), how to move along a segment between two inputs and how far
apart two inputs are in the scale's metric (for the regularity estimate), and
how to bring the returned weights into one canonical layout `W[B, R, K]` —
R rows per sample (tokens, tasks or both), teachers last.

>>> import numpy as np
>>> d = DOMAINS["context"]
>>> fams = d.sweep(np.random.default_rng(0), World(teachers=4, context_dim=3), 8)
>>> sorted(f.name for f in fams)[:3]
['boundary', 'far_out', 'gaussian']
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..spec.scales import SCALES
from ..spec.worlds import World
from .families import (
    CONTEXT_FAMILIES,
    TASK_FAMILIES,
    TOKEN_FAMILIES,
    context_batch,
    dist_pool,
    pooled,
    task_batch,
)
from .strategies import contexts, distributions, finite_floats

Args = tuple  # a tuple of batch-first numpy arrays, in the operator's argument order

#: Each transform a scale's metric may apply to an input (`axiomcheck.spec.scales.TRANSFORMS`): the map
#: and its inverse, or None for the input as it is.
TRANSFORMS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]] | None] = {"": None, "log": (np.log, np.exp)}


@dataclasses.dataclass(frozen=True)
class Family:
    """One batch of sweep inputs drawn from a named parametric family."""

    name: str
    args: Args

    @property
    def size(self) -> int:
        return int(self.args[0].shape[0])


def take(args: Args, index: Any) -> Args:
    """Select samples (batch rows) from every array of `args`."""
    return tuple(np.asarray(a)[index] for a in args)


def lerp(x: np.ndarray, y: np.ndarray, s: Any) -> np.ndarray:
    """(1 − s)·x + s·y with `s` a scalar or one fraction per sample (batch axis 0)."""
    s = np.asarray(s, dtype=np.float64)
    if s.ndim == 1:
        s = s.reshape((-1,) + (1,) * (np.ndim(x) - 1))
    return (1.0 - s) * x + s * y


def concat(batches: list[Args]) -> Args:
    return tuple(np.concatenate(parts, axis=0) for parts in zip(*batches))


# ----------------------------------------------------------------------------- domains


class Domain:
    """What the engine needs to know about one scale's inputs and outputs.

    Its arrays are its `Scale`'s positional inputs (`arg_names`, read from the
    record), and the default geometry is the scale's metric: each input moves
    along a straight segment in its transformed values and counts with its ‖Δ‖∞.
    """

    scale: str = ""
    families: tuple[str, ...] = ()
    #: sweep families at the edge of the domain (one-hot teachers, zero losses, far-out contexts): the
    #: ones an operator's keyword inputs are put at their own extremes with (`domain_inputs.WithInputs`)
    extremes: tuple[str, ...] = ()

    def sweep(self, rng: np.random.Generator, world: World, n: int) -> list[Family]:
        raise NotImplementedError

    def strategy(self, world: World, max_batch: int = 2) -> st.SearchStrategy[Args]:
        raise NotImplementedError

    def expected_shape(self, world: World, batch: int) -> tuple[tuple[int, ...], ...]:
        raise NotImplementedError

    def canonical(self, w: np.ndarray) -> np.ndarray:
        """Returned weights → `W[B, R, K]`."""
        raise NotImplementedError

    def row_label(self, w_shape: tuple[int, ...], r: int) -> str:
        return ""

    @property
    def arg_names(self) -> tuple[str, ...]:
        """The names of its arrays, in order: its scale's positional inputs."""
        return SCALES[self.scale].inputs

    def _maps(self) -> list[Any]:
        return [TRANSFORMS[t] for _, t in SCALES[self.scale].terms]

    def interpolate(self, a: Args, b: Args, s: Any) -> Args:
        """Points at fraction `s` (a scalar or one value per sample) from `a` to `b`, straight in each
        input's transformed values (`Scale.terms`: sizes move evenly in log)."""
        return tuple(lerp(x, y, s) if m is None else m[1](lerp(m[0](x), m[0](y), s))
                     for x, y, m in zip(a, b, self._maps()))

    def distance(self, a: Args, b: Args) -> np.ndarray:
        """Per-sample distance `[B]` in this scale's metric (`Scale.metric`): the largest ‖Δ‖∞ of a term."""
        out = np.zeros(a[0].shape[0])
        for x, y, m in zip(a, b, self._maps()):
            x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
            diff = np.abs(y - x) if m is None else np.abs(m[0](y) - m[0](x))
            out = np.maximum(out, diff.reshape(diff.shape[0], -1).max(axis=1, initial=0.0))
        return out

    def as_dict(self, args: Args) -> dict[str, Any]:
        return {n: np.asarray(a) for n, a in zip(self.arg_names, args)}


class Wrapped(Domain):
    """A domain built on another (`base`): layout, shapes and geometry are the base's unless overridden.

    The large-vocabulary domain and the keyword-input domain are both one, so
    each says only what it changes.
    """

    base: Domain

    @property
    def extremes(self) -> tuple[str, ...]:  # type: ignore[override]
        return self.base.extremes

    def expected_shape(self, world: World, batch: int) -> tuple[tuple[int, ...], ...]:
        return self.base.expected_shape(world, batch)

    def canonical(self, w: np.ndarray) -> np.ndarray:
        return self.base.canonical(w)

    def row_label(self, w_shape: tuple[int, ...], r: int) -> str:
        return self.base.row_label(w_shape, r)

    def interpolate(self, a: Args, b: Args, s: Any) -> Args:
        return self.base.interpolate(a, b, s)

    def distance(self, a: Args, b: Args) -> np.ndarray:
        return self.base.distance(a, b)


class TokenDomain(Domain):
    scale = "token"
    families = TOKEN_FAMILIES
    extremes = ("one_hot", "near_one_hot", "extreme_logits")

    def sweep(self, rng: np.random.Generator, world: World, n: int) -> list[Family]:
        out = []
        ctx_names = CONTEXT_FAMILIES
        for i, name in enumerate(self.families):
            # A pool of at most 256 distributions, recombined into n·K teacher rows.
            pool = dist_pool(name, rng, int(np.clip(n, 8, 256)), world.vocab)
            probs = pooled(pool, rng, n, world.teachers)
            ctx = context_batch(ctx_names[i % len(ctx_names)], rng, n, world.context_dim)
            out.append(Family(name, (probs, ctx)))
        # exact ties: every teacher gives the same distribution
        pool = dist_pool("dirichlet_1", rng, int(np.clip(n, 8, 256)), world.vocab)
        out.append(Family("tied_teachers", (pooled(pool, rng, n, world.teachers, tie=True),
                                            context_batch("gaussian", rng, n, world.context_dim))))
        for name in ("far_out", "boundary", "zeros"):
            pool = dist_pool("dirichlet_1", rng, int(np.clip(n, 8, 256)), world.vocab)
            out.append(Family(f"context_{name}", (pooled(pool, rng, n, world.teachers),
                                                  context_batch(name, rng, n, world.context_dim))))
        return out

    def strategy(self, world: World, max_batch: int = 2) -> st.SearchStrategy[Args]:
        k, v, d = world.teachers, world.vocab, world.context_dim

        @st.composite
        def one(draw: Callable[..., Any]) -> tuple[np.ndarray, np.ndarray]:
            if draw(st.booleans()):
                row = draw(distributions(v))
                probs = np.stack([row] * k)
            else:
                probs = np.stack([draw(distributions(v)) for _ in range(k)])
            return probs, draw(contexts(d))

        return st.lists(one(), min_size=1, max_size=max_batch).map(
            lambda items: (np.stack([p for p, _ in items]), np.stack([c for _, c in items])))

    def expected_shape(self, world: World, batch: int) -> tuple[tuple[int, ...], ...]:
        return ((batch, world.teachers), (batch, world.teachers, world.vocab))

    def canonical(self, w: np.ndarray) -> np.ndarray:
        if w.ndim == 2:
            return w[:, None, :]
        return np.swapaxes(w, 1, 2)  # [B,K,V] -> [B,V,K]

    def row_label(self, w_shape: tuple[int, ...], r: int) -> str:
        return f"token i={r}" if len(w_shape) == 3 else "every token"


class TaskDomain(Domain):
    scale = "task"
    families = TASK_FAMILIES
    extremes = ("zero_losses", "huge_losses", "tiny_losses")

    def sweep(self, rng: np.random.Generator, world: World, n: int) -> list[Family]:
        return [Family(name, task_batch(name, rng, n, world.tasks, world.teachers)) for name in self.families]

    def strategy(self, world: World, max_batch: int = 2) -> st.SearchStrategy[Args]:
        k, m = world.teachers, world.tasks
        loss_scale = st.sampled_from([1.0, 1e-9, 1e3, 1e6])

        @st.composite
        def one(draw: Callable[..., Any]) -> tuple[np.ndarray, np.ndarray]:
            losses = np.array(draw(st.lists(finite_floats(0, 5), min_size=m * k, max_size=m * k))).reshape(m, k)
            losses = losses * draw(loss_scale)
            sizes = 10.0 ** np.array(draw(st.lists(st.integers(0, 9), min_size=m, max_size=m)), dtype=float)
            return losses, sizes

        return st.lists(one(), min_size=1, max_size=max_batch).map(
            lambda items: (np.stack([a for a, _ in items]), np.stack([b for _, b in items])))

    def expected_shape(self, world: World, batch: int) -> tuple[tuple[int, ...], ...]:
        return ((batch, world.tasks, world.teachers),)

    def canonical(self, w: np.ndarray) -> np.ndarray:
        return w

    def row_label(self, w_shape: tuple[int, ...], r: int) -> str:
        return f"task t={r}"


class ContextDomain(Domain):
    scale = "context"
    families = CONTEXT_FAMILIES
    extremes = ("far_out", "boundary", "zeros")

    def sweep(self, rng: np.random.Generator, world: World, n: int) -> list[Family]:
        return [Family(name, (context_batch(name, rng, n, world.context_dim),)) for name in self.families]

    def strategy(self, world: World, max_batch: int = 2) -> st.SearchStrategy[Args]:
        return st.lists(contexts(world.context_dim), min_size=1, max_size=max_batch).map(
            lambda items: (np.stack(items),))

    def expected_shape(self, world: World, batch: int) -> tuple[tuple[int, ...], ...]:
        return ((batch, world.teachers),)

    def canonical(self, w: np.ndarray) -> np.ndarray:
        return w[:, None, :]

    def row_label(self, w_shape: tuple[int, ...], r: int) -> str:
        return "the context"


class UnifiedDomain(Domain):
    """Joint (x, i, t, c): probs, context, task losses and sizes, weights `[B, M, K, V]`."""

    scale = "unified"
    extremes = TokenDomain.extremes  # its families are named "<token family>+<task family>"

    def __init__(self, token: Domain | None = None):
        # the token part of the joint input: `largev.for_world` gives the large-vocabulary one from V = 256 on
        self.token = token if token is not None else TokenDomain()

    def sweep(self, rng: np.random.Generator, world: World, n: int) -> list[Family]:
        tok = self.token.sweep(rng, world, n)
        tasks = TaskDomain().sweep(rng, world, n)
        out = []
        for i, fam in enumerate(tok):
            tf = tasks[i % len(tasks)]
            out.append(Family(f"{fam.name}+{tf.name}", (fam.args[0], fam.args[1], tf.args[0], tf.args[1])))
        return out

    def strategy(self, world: World, max_batch: int = 2) -> st.SearchStrategy[Args]:
        tok = self.token.strategy(world, 1)
        task = TaskDomain().strategy(world, 1)
        one = st.tuples(tok, task).map(lambda ab: (ab[0][0], ab[0][1], ab[1][0], ab[1][1]))
        return st.lists(one, min_size=1, max_size=max_batch).map(
            lambda items: tuple(np.concatenate(parts, axis=0) for parts in zip(*items)))

    def expected_shape(self, world: World, batch: int) -> tuple[tuple[int, ...], ...]:
        return ((batch, world.tasks, world.teachers, world.vocab),)

    def canonical(self, w: np.ndarray) -> np.ndarray:
        b, m, k, v = w.shape
        return np.moveaxis(w, 2, 3).reshape(b, m * v, k)  # rows r = t·V + i

    def row_label(self, w_shape: tuple[int, ...], r: int) -> str:
        v = w_shape[3]
        return f"task t={r // v}, token i={r % v}"


class ImportanceDomain(TaskDomain):
    """Task importance λ (III.14): the task inputs, coefficients `λ[B, M]` that sum to 1 over tasks."""

    scale = "importance"

    def expected_shape(self, world: World, batch: int) -> tuple[tuple[int, ...], ...]:
        return ((batch, world.tasks),)

    def canonical(self, w: np.ndarray) -> np.ndarray:
        return w[:, None, :]  # one row, the tasks in the last axis

    def row_label(self, w_shape: tuple[int, ...], r: int) -> str:
        return "the tasks"


def teacher_probs(rng: np.random.Generator, world: World, n: int) -> np.ndarray:
    """`[n, K, V]` teacher distributions, drawn as the token sweep's first family draws them: what the
    ensemble G mixes for a scale whose inputs hold none (context, task)."""
    return TokenDomain().sweep(rng, world, n)[0].args[0]


DOMAINS: dict[str, Domain] = {
    "token": TokenDomain(),
    "task": TaskDomain(),
    "context": ContextDomain(),
    "unified": UnifiedDomain(),
    "importance": ImportanceDomain(),
}
