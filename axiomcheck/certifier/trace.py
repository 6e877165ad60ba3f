"""What one evaluation shares: its rows and coordinates, and what it found per row.

`Unenclosable` is raised for anything the core cannot enclose.  A `Trace` keeps
the jumps (a `where` undecided on a box whose branches may not meet: no finite
Lipschitz bound on that row), the rows lost to an undecided argmax, the open
kinks a Lipschitz search may split into cases, and whether Hessians are carried.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class Unenclosable(Exception):
    """The interval core cannot enclose this call (the message names it); the check becomes unknown."""




def row_any(mask: np.ndarray) -> np.ndarray:
    """`bool[rows]`: whether any entry of each row (axis 0) is set."""
    m = np.asarray(mask, bool)
    if m.ndim == 0:
        return np.broadcast_to(m, (1,))
    return m.reshape(m.shape[0], -1).any(axis=1)


class Trace:
    """What one evaluation shares: the number of rows and certified coordinates, and per-row findings."""

    def __init__(self, rows: int, n: int, *, guard: bool = True, elementwise: tuple[int, ...] | None = None):
        self.rows = int(rows)
        self.n = int(n)
        self.guard = guard  # check that row-dependent arrays keep the batch axis first
        self.jumps: dict[int, tuple[np.ndarray, str]] = {}  # id -> (rows that may jump there, why)
        self.retire: list[tuple[int, list[tuple[Any, int]]]] = []  # jumps a rule proved harmless, if unused else
        self.poison = np.zeros(self.rows, bool)
        self.reasons: dict[str, list[str]] = {"disc": [], "poison": [], "jac": []}
        # kinks: (site, undecided entries) of every continuous choice left open (max, min, abs, a meeting where);
        # `force` = {site: bool array} re-runs the evaluation with each open choice made (True: the second branch)
        self.site = 0
        self.kinks: list[tuple[int, np.ndarray]] = []
        self.force: dict[int, np.ndarray] | None = None
        self.want_order = True  # compute pairwise order relations (only the safety check reads them)
        self.second = False  # carry Hessian enclosures (hessian.py); an open selection makes them infinite
        # a univariate chain evaluated on pieces: findings are kept per entry of this shape, not per row
        self.elementwise = elementwise
        self.elem_bad = None if elementwise is None else np.zeros(elementwise, bool)

    def choice(self, undecided: np.ndarray) -> np.ndarray | None:
        """At a continuous choice site: the forced choices (True = second branch), or None (take the hull)."""
        site = self.site
        self.site += 1
        if self.force is not None and site in self.force:
            return np.broadcast_to(self.force[site], undecided.shape)
        if undecided.any() and self.elem_bad is None:
            self.kinks.append((site, np.array(undecided, bool)))
        return None

    def jump(self, mask: np.ndarray, reason: str) -> int | None:
        """Entries where the function may jump (per row, or per entry for a chain on pieces)."""
        if self.elem_bad is not None:
            self.elem_bad |= np.broadcast_to(np.asarray(mask, bool), self.elementwise)
            return None
        return self.discontinuous(row_any(mask), reason)

    def lost(self, mask: np.ndarray, reason: str) -> None:
        """Entries where nothing is known (per row, or per entry for a chain on pieces)."""
        if self.elem_bad is not None:
            self.elem_bad |= np.broadcast_to(np.asarray(mask, bool), self.elementwise)
            return
        self.poisoned(row_any(mask), reason)

    def note(self, kind: str, reason: str) -> None:
        if reason not in self.reasons[kind] and len(self.reasons[kind]) < 6:
            self.reasons[kind].append(reason)

    def discontinuous(self, rows: np.ndarray, reason: str) -> int | None:
        """Rows on which the function may jump (no finite Lipschitz bound there); returns the jump's id."""
        rows = np.asarray(rows, bool).reshape(-1)
        if not rows.any():
            return None
        if rows.size != self.rows:
            rows = np.ones(self.rows, bool)
        jid = len(self.jumps) + 1
        self.jumps[jid] = (rows, reason)
        self.note("disc", reason)
        return jid

    @property
    def disc(self) -> np.ndarray:
        """Rows that may jump somewhere in the evaluation."""
        out = np.zeros(self.rows, bool)
        for rows, _ in self.jumps.values():
            out |= rows
        return out

    def settle(self) -> None:
        """Drop the jumps a structured rule proved harmless, if what carried them was used nowhere else.

        A rule that sees a possibly jumping value only inside a composite it proves continuous (a norm
        computed as m² Σ (x/m)²) records the intermediate arrays with their use counts; if the operator
        used none of them again afterwards, no output depends on the jump.
        """
        for jid, objs in self.retire:
            if jid in self.jumps and all(obj.uses == n for obj, n in objs):
                del self.jumps[jid]
        self.retire = []

    def poisoned(self, rows: np.ndarray, reason: str) -> None:
        """Rows on which nothing can be said (an undecided argmax feeding an index)."""
        rows = np.asarray(rows, bool).reshape(-1)
        if rows.any():
            if rows.size == self.rows:
                self.poison |= rows
            else:
                self.poison[:] = True
            self.note("poison", reason)
