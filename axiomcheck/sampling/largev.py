"""Distributions that look like real teacher outputs at a large vocabulary, drawn from a few numbers.

At V = 32 000 or 128 256 a distribution of V independent floats is neither
what a teacher emits nor something Hypothesis can search or shrink.  A
`Recipe` names one distribution in a handful of parameters instead: the shape
of its mass (uniform, a Zipf power law, one peaked token, Dirichlet), an
exponent, the size of its support (exact zeros beyond it, as after top-k or
`-inf` logits), the token holding the most mass, a seed saying where the rest
sits (seed 0: the tokens right after the top one, so a masked block is
contiguous), a rounding (float64, bfloat16, float16: rounded values, not
renormalized, as a half-precision teacher emits them) and where the
safety-critical tokens S sit (as drawn, in the head, in the tail, masked to 0).
`row` builds it in O(V); the sweep draws pools of rows per family, and the
search draws recipes, so shrinking ends at a readable one (uniform, support 1:
a one-hot row at the smallest token id that still fails).

`LargeVocab` is the token domain with these families and this strategy; the
engine uses it from `budget.LARGE_VOCAB` tokens on.

>>> r = row(Recipe("zipf", 1.0, support=4, top=7), 10)
>>> [int(i) for i in np.flatnonzero(r)], round(float(r[7]), 4)
([0, 7, 8, 9], 0.48)
>>> r = row(Recipe("zipf", 1.0, support=10, top=0, safety="masked"), 10, safety_tokens=(3,))
>>> float(r[3]), round(float(r.sum()), 12)
(0.0, 1.0)
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st

from .domains import Args, Domain, Family, TokenDomain, UnifiedDomain, World, Wrapped
from .families import CONTEXT_FAMILIES, context_batch, pooled
from .strategies import contexts

KINDS = ("uniform", "zipf", "peaked", "dirichlet")
EXPONENTS = (1.0, 1.1, 0.5, 1.5, 2.0, 3.0)
ROUNDINGS = ("float64", "bfloat16", "float16")
PLACEMENTS = ("as drawn", "head", "tail", "masked")

#: The sweep families added at a large vocabulary (the safety ones only when S is declared).
LARGE_FAMILIES = ("zipf", "top_k", "masked", "peaked", "bfloat16", "float16")
SAFETY_FAMILIES = ("safety_head", "safety_tail", "safety_masked")


@dataclasses.dataclass(frozen=True)
class Recipe:
    """One distribution over V tokens, in a few parameters (see the module docstring)."""

    kind: str = "uniform"
    exponent: float = 1.0
    support: int = 1
    top: int = 0
    seed: int = 0
    rounding: str = "float64"
    safety: str = "as drawn"


@functools.lru_cache(maxsize=64)
def _mass(kind: str, exponent: float, k: int, seed: int) -> np.ndarray:
    """Masses of ranks 0..k−1 (largest first for rank 0), summing to 1."""
    if kind == "uniform" or k == 1:
        m = np.full(k, 1.0 / k)
    elif kind == "zipf":
        m = np.arange(1, k + 1, dtype=np.float64) ** -exponent
    elif kind == "peaked":  # the top token keeps 1 − ε, ε = 10^(−3·max(exponent, 1)) ≤ 1e-3
        eps = 10.0 ** (-3.0 * max(exponent, 1.0))
        tail = np.arange(1, k, dtype=np.float64) ** -1.0
        m = np.concatenate([[1.0 - eps], eps * tail / tail.sum()])
    elif kind == "dirichlet":
        m = np.maximum(np.random.default_rng(seed).standard_gamma(exponent, k), np.finfo(np.float64).tiny)
        top = int(np.argmax(m))
        m[[0, top]] = m[[top, 0]]
    else:
        raise ValueError(f"unknown distribution kind {kind!r}; kinds: {', '.join(KINDS)}")
    m = m / m.sum()
    m.setflags(write=False)
    return m


def _stride(vocab: int, seed: int) -> int:
    """A step coprime with V (1 for seed 0), so rank r ↦ (top + step·r) mod V visits every token once."""
    if seed == 0 or vocab <= 2:
        return 1
    a = int(np.random.default_rng(seed).integers(1, vocab))
    while math.gcd(a, vocab) != 1:
        a = a % (vocab - 1) + 1
    return a


def _round(p: np.ndarray, rounding: str) -> np.ndarray:
    """Values on the bfloat16 or float16 grid (round to nearest even), kept as float64."""
    if rounding == "float64":
        return p
    if rounding == "float16":
        return p.astype(np.float16).astype(np.float64)
    if rounding == "bfloat16":
        bits = p.astype(np.float32).view(np.uint32)
        bits = (bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))) & np.uint32(0xFFFF0000)
        return bits.view(np.float32).astype(np.float64)
    raise ValueError(f"unknown rounding {rounding!r}; roundings: {', '.join(ROUNDINGS)}")


def _place(p: np.ndarray, tokens: np.ndarray, where: str) -> np.ndarray:
    """Move the tokens S to the head (largest masses) or the tail (smallest non-zero ones), or mask them."""
    if where == "as drawn" or tokens.size == 0:
        return p
    if where == "masked":
        rest = p.sum() - p[tokens].sum()
        p[tokens] = 0.0
        if rest > 0:
            return p / rest
        keep = np.ones(p.size, bool)
        keep[tokens] = False
        return np.where(keep, 1.0 / max(int(keep.sum()), 1), 0.0)
    m = tokens.size
    if where == "head":
        targets = np.argpartition(-p, m - 1)[:m] if m < p.size else np.arange(p.size)
    else:  # the smallest non-zero masses
        nz = np.flatnonzero(p > 0)
        targets = nz[np.argpartition(p[nz], min(m, nz.size) - 1)[:m]] if nz.size > m else nz
    inside = np.isin(targets, tokens)
    outside_s = tokens[~np.isin(tokens, targets)]
    free = targets[~inside][: outside_s.size]
    outside_s = outside_s[: free.size]
    p[free], p[outside_s] = p[outside_s].copy(), p[free].copy()
    return p


def row(recipe: Recipe, vocab: int, safety_tokens: tuple[int, ...] = ()) -> np.ndarray:
    """The distribution `[V]` a recipe names (exact zeros beyond its support; rounded as it says)."""
    k = int(min(max(recipe.support, 1), vocab))
    top = int(recipe.top) % vocab
    ids = (top + _stride(vocab, recipe.seed) * np.arange(k, dtype=np.int64)) % vocab
    p = np.zeros(vocab)
    p[ids] = _mass(recipe.kind, float(recipe.exponent), k, int(recipe.seed))
    tokens = np.array(sorted({t for t in safety_tokens if 0 <= t < vocab}), dtype=np.int64)
    return _round(_place(p, tokens, recipe.safety), recipe.rounding)


class _Rows:
    """The last rows built (the search replays the same recipes while it shrinks)."""

    def __init__(self, size: int = 32):
        self.size, self.rows = size, OrderedDict()

    def __call__(self, recipe: Recipe, vocab: int, tokens: tuple[int, ...]) -> np.ndarray:
        key = (recipe, vocab, tokens)
        hit = self.rows.get(key)
        if hit is None:
            hit = row(recipe, vocab, tokens)
            hit.setflags(write=False)
            self.rows[key] = hit
            if len(self.rows) > self.size:
                self.rows.popitem(last=False)
        else:
            self.rows.move_to_end(key)
        return hit


_ROWS = _Rows()


def recipes(vocab: int, placements: bool = False) -> st.SearchStrategy[Recipe]:
    """Hypothesis strategy of recipes over `vocab` tokens; shrinks to `Recipe()` (one-hot at token 0)."""
    return st.builds(Recipe, kind=st.sampled_from(KINDS), exponent=st.sampled_from(EXPONENTS),
                     support=st.integers(1, vocab), top=st.integers(0, vocab - 1),
                     seed=st.integers(0, 2**16 - 1), rounding=st.sampled_from(ROUNDINGS),
                     safety=st.sampled_from(PLACEMENTS if placements else PLACEMENTS[:1]))


# ----------------------------------------------------------------------------- sweep families


def _family_recipe(name: str, rng: np.random.Generator, vocab: int) -> Recipe:
    top, seed = int(rng.integers(0, vocab)), int(rng.integers(1, 2**16))
    zipf = float(rng.uniform(0.6, 1.6))
    if name == "zipf":
        return Recipe("zipf", zipf, vocab, top, seed)
    if name == "top_k":
        k = int(round(10.0 ** rng.uniform(0.0, math.log10(min(vocab, 4096)))))
        return Recipe(str(rng.choice(["zipf", "dirichlet", "uniform"])), zipf, k, top, seed)
    if name == "masked":  # a random share of the vocabulary at probability 0; half as one padding block
        return Recipe("zipf", zipf, int(vocab * rng.uniform(0.05, 0.95)), top, seed if rng.random() < 0.5 else 0)
    if name == "peaked":
        return Recipe("peaked", float(rng.uniform(1.0, 3.0)), vocab, top, seed)
    if name in ("bfloat16", "float16"):
        kind = "peaked" if rng.random() < 0.3 else "zipf"
        return Recipe(kind, zipf if kind == "zipf" else 1.0, vocab, top, seed, rounding=name)
    if name.startswith("safety_"):
        return Recipe("zipf", zipf, vocab, top, seed, safety=name.removeprefix("safety_"))
    raise ValueError(f"unknown large-vocabulary family {name!r}")


def family_pool(name: str, rng: np.random.Generator, size: int, vocab: int,
                safety_tokens: tuple[int, ...] = ()) -> np.ndarray:
    """A pool `[size, V]` of rows of the large-vocabulary family `name`."""
    return np.stack([row(_family_recipe(name, rng, vocab), vocab, safety_tokens) for _ in range(size)])


class LargeVocab(Wrapped):
    """The token domain at a large vocabulary: its families plus realistic ones, and a strategy of recipes."""

    def __init__(self, base: Domain, safety_tokens: tuple[int, ...] = ()):
        self.base, self.safety_tokens = base, tuple(int(t) for t in safety_tokens)
        self.scale = base.scale
        self.families = base.families + LARGE_FAMILIES + (SAFETY_FAMILIES if self.safety_tokens else ())

    def _names(self, world: World) -> tuple[str, ...]:
        has_s = any(t < world.vocab for t in self.safety_tokens)
        return LARGE_FAMILIES + (SAFETY_FAMILIES if has_s else ())

    def sweep(self, rng: np.random.Generator, world: World, n: int) -> list[Family]:
        out = list(self.base.sweep(rng, world, n))
        size = int(np.clip(n, 8, 64))
        for i, name in enumerate(self._names(world)):
            pool = family_pool(name, rng, size, world.vocab, self.safety_tokens)
            ctx = context_batch(CONTEXT_FAMILIES[i % len(CONTEXT_FAMILIES)], rng, n, world.context_dim)
            out.append(Family(name, (pooled(pool, rng, n, world.teachers), ctx)))
        return out

    def strategy(self, world: World, max_batch: int = 2) -> st.SearchStrategy[Args]:
        k, v, d = world.teachers, world.vocab, world.context_dim
        tokens = tuple(t for t in self.safety_tokens if t < v)
        recipe = recipes(v, placements=bool(tokens))

        @st.composite
        def one(draw: Callable[..., Any]) -> tuple[np.ndarray, np.ndarray]:
            if draw(st.booleans()):
                probs = np.repeat(_ROWS(draw(recipe), v, tokens)[None, :], k, axis=0)
            else:
                probs = np.stack([_ROWS(draw(recipe), v, tokens) for _ in range(k)])
            return probs, draw(contexts(d))

        return st.lists(one(), min_size=1, max_size=max_batch).map(
            lambda items: (np.stack([p for p, _ in items]), np.stack([c for _, c in items])))


def for_world(domain: Domain, world: World, safety_tokens: tuple[int, ...] = ()) -> Domain:
    """`LargeVocab(domain)` for a token domain from `budget.LARGE_VOCAB` tokens on, else `domain` itself.

    A unified domain gets a large-vocabulary token part (without safety families:
    its own S belongs to its components).  Which domains draw teacher distributions
    is a matter of their classes (`TokenDomain`, `UnifiedDomain`), not of a scale's name.
    """
    from .budget import large_vocab

    if not large_vocab(world):
        return domain
    if isinstance(domain, UnifiedDomain):
        return UnifiedDomain(token=LargeVocab(TokenDomain()))
    if isinstance(domain, TokenDomain):
        return LargeVocab(domain, safety_tokens)
    return domain
