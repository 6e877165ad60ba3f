"""Which world size an operator seems to need, when its first calls fail with a shape error.

An operator written for 16 context features, checked in the default world of 3,
raises a broadcast error on every sweep batch.  Rather than leave every check
with that error, the verifier asks `needed_world`: for each `World` size in turn
it tries other values (the numbers in the exception's text first, e.g. the 16 in
"size 16 is different from 3", then a fixed ladder of common sizes) on one small
batch of the family that failed, and reports the first value that makes the call
succeed with the expected shape ("the operator seems to need context_dim=16").

Only one size is changed at a time; an operator that needs two sizes changed is
not diagnosed (the error stays as it was).  A size whose change reaches none of
the inputs is skipped after one look; the number of K is always tried (a
function may be told K by a `teachers` keyword).  Probing stops after
`MAX_PROBES` calls or `BUDGET_S` seconds, and at once if the operator hangs.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Iterator

import numpy as np

from ..calling.sandbox import OperatorMisbehaved
from ..checks.subject import Subject
from ..sampling.domains import Args
from ..spec.worlds import World, fields, flag

#: Words that mark an exception as a shape error worth probing (numpy, JAX and PyTorch phrasings).
SHAPE_ERROR = re.compile(r"shape|broadcast|dimension|\bdims?\b|size|mismatch|multipl|out of bounds|index|axis|"
                         r"reshape", re.IGNORECASE)
#: Sizes tried after the numbers of the exception's text, smallest first.
LADDER = (1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 16, 20, 24, 32, 48, 50, 64, 96, 100, 128, 256, 300, 384, 512, 768,
          1000, 1024, 2048, 4096)
MAX_SIZE = 1 << 17
PROBE_BATCH = 4
MAX_PROBES = 200
BUDGET_S = 10.0


@dataclasses.dataclass(frozen=True)
class Need:
    """One world size the operator seems to need: `field` = `size` (it was checked at `current`)."""

    field: str
    size: int
    current: int

    @property
    def brief(self) -> str:
        return f"seems to need {self.field}={self.size}"

    @property
    def advice(self) -> str:
        """'seems to need context_dim=16: declare world={'context_dim': 16} or pass --context-dim 16'."""
        return f"{self.brief}: declare world={{{self.field!r}: {self.size}}} or pass {flag(self.field)} {self.size}"


def candidates(detail: str, current: int) -> list[int]:
    """The sizes to try: the numbers in `detail` (in order), then `LADDER`; never `current`.

    >>> candidates("size 16 is different from 3", 3)[:4]
    [16, 1, 2, 4]
    >>> candidates("mat1 and mat2 shapes cannot be multiplied (256x3 and 16x4)", 3)[:4]
    [256, 16, 4, 1]
    """
    # digits glued to a word are a name ("mat1", "float64"), not a size; "256x3" holds two sizes
    found = [int(n) for n in re.findall(r"(?<![A-Za-wyz_\d])\d+", detail) if len(n) <= 7]
    out: list[int] = []
    for n in (*found, *LADDER):
        if 1 <= n <= MAX_SIZE and n != current and n not in out:
            out.append(n)
    return out


def _order() -> list[str]:
    names = list(fields())
    return [n for n in names if n != "teachers"] + ["teachers"]  # a new K starts a new sandbox: last


def _probe(subject: Subject, world: World, family: str) -> Args:
    fams = subject.domain.sweep(np.random.default_rng(subject.seed), world, PROBE_BATCH)
    return next((f.args for f in fams if f.name == family), fams[0].args)


def _shapes(args: Args) -> list[tuple[int, ...]]:
    return [tuple(np.shape(a)) for a in args]


def _sizes(subject: Subject, detail: str) -> Iterator[tuple[str, int, int]]:
    for name in _order():
        current = getattr(subject.world, name)
        for size in candidates(detail, current):
            yield name, size, current


def needed_world(subject: Subject, exc: OperatorMisbehaved, family: str) -> Need | None:
    """The world size that makes the failing call work, or None (not a shape error, or nothing found)."""
    if exc.kind != "raised" or subject.op_dead is not None or not SHAPE_ERROR.search(exc.detail):
        return None
    base = _shapes(_probe(subject, subject.world, family))
    start, probes, skipped = time.perf_counter(), 0, set()
    for name, size, current in _sizes(subject, exc.detail):
        if name in skipped:
            continue
        world = dataclasses.replace(subject.world, **{name: size})
        args = _probe(subject, world, family)
        if name != "teachers" and _shapes(args) == base:
            skipped.add(name)  # this size reaches none of the inputs
            continue
        probes += 1
        if probes > MAX_PROBES or time.perf_counter() - start > BUDGET_S:
            return None
        try:
            subject.call(args, world)
        except OperatorMisbehaved:
            if subject.op_dead is not None:  # a probe hung or crashed: stop, and leave the run as it was
                subject.op_dead = None
                return None
            continue
        return Need(name, size, current)
    return None
