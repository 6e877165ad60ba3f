"""How much work one run does: batch sizes from a byte budget, and a time budget.

One sample of a token operator at V = 128 256 and K = 8 is 8 MiB of float64
probabilities, and as much again when the weights are per token, so "256
samples per sweep family" would mean 4 GiB per family.  `Plan` turns the run's
byte budget (`Settings.batch_bytes`, 32 MiB by default) into the sizes every
phase uses: samples per sweep family, how many of them are kept once the value
checks have read them, how many regularity segments are bisected and how many
at a time.  At the default world (V = 16) nothing binds and every size is the
one asked for.

`Clock` is the run's time budget (`max_time`) and progress: phases ask it
whether time is up between calls, and it remembers what each phase got of what
it asked, so a check cut short says so in its result instead of passing
silently.

>>> from axiomcheck.sampling.domains import World
>>> plan = plan_for("token", World(), (), sweep_size=256, regularity_pairs=256)
>>> plan.sweep_samples, plan.binding
(256, False)
>>> big = plan_for("token", World(teachers=8, vocab=128_256), (), sweep_size=256, regularity_pairs=256)
>>> big.sweep_samples, big.binding, big.pairs
(2, True, 8)
"""

from __future__ import annotations

import dataclasses
import time
import unittest
from collections.abc import Callable
from typing import Any

from ..spec.scales import SCALES

#: Default byte budget of one batch: its float64 inputs plus the largest weights it may return.
DEFAULT_BATCH_BYTES = 32 * 2**20
#: From this vocabulary size on, distributions are drawn from a few parameters (see `axiomcheck.sampling.largev`).
LARGE_VOCAB = 256
#: The fewest samples a sweep family and the fewest segments regularity measures, whatever the budget.
MIN_SWEEP = 2
MIN_PAIRS = 8
#: The longest per-call time limit (`timeout`), in seconds: one day.  No single call of a weight
#: function needs longer, and the waits beneath would fail past it (a poll timeout is a C int of
#: milliseconds, about 24.8 days; a thread's wait overflows near 1e10 s).
MAX_TIMEOUT = 86_400.0


def timeout_problem(value: Any) -> str | None:
    """Why `value` cannot be a per-call time limit, or None: it must be a number of seconds in (0, MAX_TIMEOUT].

    >>> timeout_problem(10), timeout_problem(1e300)
    (None, 'must be a number of seconds > 0 and ≤ 86400 (one day), got 1e+300')
    """
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= MAX_TIMEOUT
    return None if ok else f"must be a number of seconds > 0 and ≤ {MAX_TIMEOUT:g} (one day), got {value!r}"

#: Elements per sample of each keyword input, given the world (`axiomcheck.spec.inputs`).
_KEYWORD_SIZES: dict[str, Callable[[Any], int]] = {
    "teacher_logits": lambda w: w.teachers * w.vocab,
    "student": lambda w: w.vocab,
    "labels": lambda w: 1,
    "features": lambda w: w.features,
    "history": lambda w: w.history * w.tasks,
    "step": lambda w: 1,
}


def sample_elements(scale: str, world: Any, keywords: tuple[str, ...] = ()) -> int:
    """Array elements of one sample: its inputs, plus the largest weights the scale may return for it.

    The sizes come from the scale's record: the axes of each positional input and of the weights
    (`Scale.sample_elements`), so a new scale is budgeted without a line here.

    >>> from axiomcheck.sampling.domains import World
    >>> sample_elements("token", World(teachers=2, vocab=10, context_dim=3))  # 2·10 + 3 in, 2·10 out
    43
    """
    keyword = sum(_KEYWORD_SIZES[k](world) for k in keywords if k in _KEYWORD_SIZES)
    return SCALES[scale].sample_elements(world) + keyword


@dataclasses.dataclass(frozen=True)
class Plan:
    """The sizes of one run, from its byte budget.

    Args:
        sweep_size: samples per sweep family asked for.
        per_batch: samples one batch may hold within the byte budget.
        regularity_pairs: regularity segments asked for.
    """

    sweep_size: int
    per_batch: int
    regularity_pairs: int

    @property
    def sweep_samples(self) -> int:
        """Samples drawn per sweep family."""
        return min(self.sweep_size, self.per_batch)

    @property
    def binding(self) -> bool:
        """Whether the budget cut the sweep (then the value checks read each batch as it is evaluated)."""
        return self.sweep_samples < self.sweep_size

    def keep(self, families: int) -> int:
        """Samples of each family kept after the sweep when binding: all families together in four batches."""
        return max(1, min(16, 4 * self.per_batch // max(families, 1)))

    @property
    def pairs(self) -> int:
        """Regularity segments: as asked, or scaled down with the sweep when the budget binds."""
        if not self.binding:
            return self.regularity_pairs
        return int(min(self.regularity_pairs, max(MIN_PAIRS, self.regularity_pairs * self.per_batch
                                                  // self.sweep_size)))

    @property
    def mixed_limit(self) -> int | None:
        """Samples in the determinism and batch-independence batch when binding (None: as many as kept)."""
        return max(self.per_batch, MIN_PAIRS) if self.binding else None

    @property
    def pair_chunk(self) -> int:
        """Segments bisected per batch (each holds two inputs and their midpoint)."""
        return max(1, self.per_batch // 2) if self.binding else max(self.regularity_pairs, 1)


def plan_for(scale: str, world: Any, keywords: tuple[str, ...], *, sweep_size: int, regularity_pairs: int,
             batch_bytes: int = DEFAULT_BATCH_BYTES) -> Plan:
    """The `Plan` of an operator of `scale` naming `keywords`, in `world`, within `batch_bytes`."""
    per_sample = 8 * sample_elements(scale, world, keywords)
    per_batch = max(MIN_SWEEP, int(batch_bytes) // max(per_sample, 1))
    return Plan(sweep_size=sweep_size, per_batch=per_batch, regularity_pairs=regularity_pairs)


def large_vocab(world: Any) -> bool:
    """Whether teacher distributions are drawn from parameters (V ≥ `LARGE_VOCAB`) rather than V floats each."""
    return world.vocab >= LARGE_VOCAB


# ----------------------------------------------------------------------------- time


class OutOfTime(unittest.SkipTest):
    """Raised inside a Hypothesis test when the time budget is spent.

    A skip, to Hypothesis: it ends the search at once instead of shrinking
    the "failure" (the search and shrinking catch it).
    """


#: progress(phase, done, total): called as a run advances (phase: "sweep", "checks", "search", "shrink").
ProgressHook = Callable[[str, int, int], None]


class Clock:
    """The time budget of one run and its progress; remembers what each phase got of what it asked.

    >>> c = Clock(max_time=None)
    >>> c.expired(), c.cut_short("token.finite", "finite")
    (False, None)
    """

    def __init__(self, max_time: float | None = None, progress: ProgressHook | None = None):
        self.max_time = max_time
        self.progress = progress
        self.start = time.perf_counter()
        self.asked: dict[str, int] = {}
        self.got: dict[str, int] = {}
        self.not_run: set[str] = set()  # checks (by property) the budget stopped before they ran
        self.hit = False

    def expired(self) -> bool:
        """Whether the time budget is spent (never, without one)."""
        if self.max_time is None:
            return False
        if time.perf_counter() - self.start >= self.max_time:
            self.hit = True
        return self.hit

    def tick(self, phase: str, done: int, total: int) -> None:
        """Report progress (and count what `phase` got)."""
        self.asked[phase] = max(self.asked.get(phase, 0), total)
        self.got[phase] = done
        if self.progress is not None:
            try:
                self.progress(phase, done, total)
            except Exception:  # noqa: BLE001 - a broken progress display never stops a run
                self.progress = None

    def short(self, phase: str) -> bool:
        return self.got.get(phase, 0) < self.asked.get(phase, 0)

    def cut_short(self, axiom: str, prop: str, value_check: bool = False) -> str | None:
        """What the time budget took from check `axiom` (property `prop`), or None when it got everything."""
        if not self.hit:
            return None
        limit = f"the time budget (max_time = {self.max_time:g} s)"
        if prop in self.not_run:
            return f"not run: {limit} ran out before this check"
        parts = []
        if self.short("sweep"):
            parts.append(f"{self.got.get('sweep', 0)} of the {self.asked['sweep']} sweep samples asked")
        if prop == "finite" and "single_teacher" in self.not_run:
            parts.append("no K = 1 family")
        if value_check and self.short("search"):
            parts.append(f"{self.got.get('search', 0)} of the {self.asked['search']} search examples asked")
        if not parts:
            return None
        return f"cut short by {limit}: got {', '.join(parts)}"
