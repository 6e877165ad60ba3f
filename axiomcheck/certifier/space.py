"""The input domain a certificate holds on: boxes, simplices, enumerated labels, and their defaults.

Every certified input is a set of coordinates of one vector u (the box
coordinates the branch and bound splits); for the built-in inputs, as their
records give them:

| input | default domain | coordinates |
|---|---|---|
| context | [-10, 10] per feature (the `gaussian` and `wide` sweep families, σ up to 10) | D |
| features | [-10, 10] per entry | F |
| losses | [0, 1e6] per entry (the `huge_losses` family reaches 1e6) | M·K |
| sizes | [1, 1e9] per task (`extreme_sizes`), certified in log sizes, the metric's coordinate | M |
| history | [0, 1e6] per entry | H·M |
| step | [0, 1e9], a real interval holding every step; held fixed in the metric (as the sampled engine does) | 1 |
| teacher_logits | [-30, 30] per entry; probs is then softmax(teacher_logits), as the sampled engine makes it | K·V |
| probs | each teacher's row on the probability simplex (entries in [0, 1], |Σ_v p_v − 1| ≤ V·2⁻⁵³) | K·V |
| student | the probability simplex (as probs) | V |
| labels | enumerated: every label 0 … V−1 is its own case | none |

Each row is a fact of the input's record, read here and kept nowhere else: a
scale's positional input is an `Arg` on its `Scale` (`axiomcheck.spec.scales`),
a keyword input a `KeywordInput` (`axiomcheck.spec.inputs`).  A record gives its
`axes` (its shape in the world), its default `box` or None, whether it is on the
`simplex`, and whether it is discrete: `enumerated` (labels) or held (a keyword
input with no metric term: step, kept in the box and out of the metric).  A
positional input the metric measures in log (`transform="log"`) is certified in
logs.  An input with no default box and none declared cannot be certified:
`build` raises `NoBox`, and every certified check is `unknown` saying how to
declare one.

A call overrides a box with `domain={"context": (-5, 5)}` (one range for every
entry) or `(lo_array, hi_array)` (per entry, in the input's own shape); sizes
are given in sizes, not logs.  The metric of the Lipschitz bound is the
scale's (‖Δ‖∞ over the inputs it names; step and labels held fixed).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..sampling.domains import World
from ..spec import boxes, worlds
from ..spec.inputs import INPUTS, keyword_inputs
from ..spec.scales import SCALES


class NoBox(ValueError):
    """Inputs with no default box and none declared: the certifier has no domain for them.

    `domain` states the rest of the domain, and each of `names` as having no box.
    """

    def __init__(self, names: list[str], domain: str = "") -> None:
        boxes_ = ", ".join(f"{n!r}: (lo, hi)" for n in names)
        which = f"input {names[0]!r}" if len(names) == 1 else "inputs " + ", ".join(repr(n) for n in names)
        super().__init__(f"no box for {which}: declare {'one' if len(names) == 1 else 'them'} with "
                         f"domain={{{boxes_}}}")
        self.names = names
        self.domain = domain


def defaults() -> dict[str, tuple[float, float]]:
    """The default box of every input whose record gives one (sizes in sizes), by name."""
    return {n: tuple(r.box) for n, r in boxes.records().items() if r.box is not None}


@dataclasses.dataclass(frozen=True)
class Coord:
    """One certified input: its place in u, its shape per sample, and its box or simplex."""

    name: str
    shape: tuple[int, ...]
    lo: np.ndarray  # in certified coordinates (log sizes for sizes)
    hi: np.ndarray
    start: int
    log: bool = False  # the operator gets exp(u) (sizes)
    simplex: bool = False  # rows along the last axis lie on the simplex
    in_metric: bool = True
    axes: tuple[str, ...] = ()  # world symbols of `shape`, from the input's record

    @property
    def size(self) -> int:
        return int(np.prod(self.shape)) if self.shape else 1

    @property
    def stop(self) -> int:
        return self.start + self.size


@dataclasses.dataclass(frozen=True)
class Space:
    """Where an operator is certified: the coordinates, the enumerated labels, and the words for it."""

    scale: str
    coords: tuple[Coord, ...]
    positional: tuple[str, ...]  # the scale's positional inputs, in order
    keywords: tuple[str, ...]  # keyword inputs the function names
    labels: int | None  # V when labels are enumerated
    world: World
    derived: str | None = None  # a computed input: "probs" = softmax(teacher_logits)

    @property
    def n(self) -> int:
        return sum(c.size for c in self.coords)

    def coord(self, name: str) -> Coord | None:
        return next((c for c in self.coords if c.name == name), None)

    def lo(self) -> np.ndarray:
        return np.concatenate([c.lo.reshape(-1) for c in self.coords]) if self.coords else np.zeros(0)

    def hi(self) -> np.ndarray:
        return np.concatenate([c.hi.reshape(-1) for c in self.coords]) if self.coords else np.zeros(0)

    def metric_mask(self) -> np.ndarray:
        return np.concatenate([np.full(c.size, c.in_metric) for c in self.coords]) if self.coords else np.zeros(0, bool)

    def simplex_groups(self) -> list[np.ndarray]:
        """Index arrays into u of every simplex row (one per teacher of probs, one for student)."""
        groups = []
        for c in self.coords:
            if c.simplex:
                v = c.shape[-1]
                for r in range(c.size // v):
                    groups.append(np.arange(c.start + r * v, c.start + (r + 1) * v))
        return groups

    def text(self, region_text: str | None = None) -> str:
        parts = [_describe(c) for c in self.coords]
        if self.labels is not None:
            parts.append(f"labels ∈ {{0, …, {self.labels - 1}}} (each)")
        if self.derived == "probs":
            parts.append("probs = softmax(teacher_logits)")
        if region_text:
            parts.append(region_text)
        return "; ".join(parts)

    def data(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for c in self.coords:
            if c.simplex:
                out[c.name] = {"simplex": True, "shape": list(c.shape), "slack": simplex_slack(c.shape[-1])}
            else:
                lo, hi = (np.exp(c.lo), np.exp(c.hi)) if c.log else (c.lo, c.hi)
                out[c.name] = {"lo": _compact(lo), "hi": _compact(hi), "shape": list(c.shape)}
                if c.log:
                    out[c.name]["certified_in"] = "log"
                if not c.in_metric:
                    out[c.name]["held_in_metric"] = True
        if self.labels is not None:
            out["labels"] = {"values": [0, self.labels - 1], "enumerated": True}
        if self.derived:
            out[self.derived] = {"from": "softmax(teacher_logits)"}
        return out


def simplex_slack(v: int) -> float:
    """|Σ_v p_v − 1| allowed for a float probability row: V half-ulps of 1 (V·2⁻⁵³, what normalizing
    V float64 entries by their float sum leaves)."""
    return float(v) * float(np.finfo(np.float64).eps) / 2.0


def _compact(a: np.ndarray) -> Any:
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    return float(a[0]) if a.size and np.all(a == a[0]) else a.tolist()


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _describe(c: Coord) -> str:
    if c.simplex:
        rows = c.size // c.shape[-1]
        who = (f"each of the {rows} teachers' rows" if c.axes[:-1] == ("K",) else
               f"each of the {rows} rows" if len(c.shape) > 1 else "the row")
        return f"{c.name}: {who} on the probability simplex over V = {c.shape[-1]} (|Σ − 1| ≤ V·2⁻⁵³)"
    lo, hi = (np.exp(c.lo), np.exp(c.hi)) if c.log else (c.lo, c.hi)
    lo, hi = lo.reshape(-1), hi.reshape(-1)
    dims = "×".join(str(s) for s in c.shape) if c.shape else "1"
    if np.all(lo == lo[0]) and np.all(hi == hi[0]):
        text = f"{c.name} ∈ [{_fmt(lo[0])}, {_fmt(hi[0])}]^{dims}"
    else:
        text = f"{c.name} ∈ " + " × ".join(f"[{_fmt(a)}, {_fmt(b)}]" for a, b in zip(lo, hi))
    if c.log:
        text += " (certified in log sizes)"
    if not c.in_metric:
        text += " (held fixed in the metric)"
    return text


def _shape(axes: tuple[str, ...], world: World) -> tuple[int, ...]:
    return tuple(int(getattr(world, _field(a))) for a in axes)


def _field(symbol: str) -> str:
    """The `World` field of a world symbol ("V" -> "vocab")."""
    return next(f for f in worlds.fields() if worlds.symbol(f) == symbol)


def _box(name: str, shape: tuple[int, ...], given: Any, default: Any, log: bool) -> tuple[np.ndarray, np.ndarray]:
    spec = default if given is None else given
    if isinstance(spec, Mapping):
        spec = (spec["lo"], spec["hi"])
    try:
        lo, hi = spec
        lo = np.broadcast_to(np.asarray(lo, dtype=np.float64), shape).copy()
        hi = np.broadcast_to(np.asarray(hi, dtype=np.float64), shape).copy()
    except (TypeError, ValueError) as exc:
        raise ValueError(f"domain[{name!r}] must be (lo, hi) with scalars or arrays of shape {list(shape)}, "
                         f"got {given!r}") from exc
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)) and np.all(lo <= hi)):
        raise ValueError(f"domain[{name!r}] must be a finite box with lo ≤ hi, got {given!r}")
    if log:
        if np.any(lo <= 0):
            raise ValueError(f"domain[{name!r}] must be positive, got {given!r}")
        lo, hi = np.log(lo), np.log(hi)
    return lo, hi


def build(op: Any, world: World, given: Mapping[str, Any] | None = None) -> Space:
    """The certification domain of `op` in `world`: defaults, overridden by the operator's and then the call's.

    Each input's shape, default box, simplex and place in the metric come from its
    record; an input with no box (no default, none declared) raises `NoBox`.
    """
    scale = SCALES[op.scale]
    declared = dict(getattr(op, "domain", None) or {})
    declared.update(dict(given or {}))
    fn = op.fn
    if scale.composition:
        names: tuple[str, ...] = tuple(sorted({n for c in op.components for n in keyword_inputs(c.fn, c.scale)}))
    else:
        names = keyword_inputs(fn, op.scale)
    args = {a.name: a for a in scale.args}
    positional = list(scale.inputs)
    if scale.composition:  # only what some component reads is certified (the rest is not an input of w)
        read = {n for c in op.components for n in SCALES[c.scale].inputs}
        positional = [n for n in positional if n in read]
    enumerated = [n for n in names if INPUTS[n].enumerated]
    inputs = positional + [n for n in names if n not in enumerated]
    simplex = {n for n, r in boxes.records().items() if r.simplex}
    unknown = sorted(set(declared) - set(inputs) - simplex)
    if unknown:
        raise ValueError(f"domain names inputs the operator does not take: {unknown} (it takes {inputs})")
    derived = "probs" if "teacher_logits" in names and "probs" in inputs else None
    coords: list[Coord] = []
    missing: list[str] = []
    start = 0
    for name in inputs:
        if name == derived:
            continue
        record = args[name] if name in args else INPUTS[name]
        shape = _shape(record.axes, world)
        if not record.simplex and record.box is None and declared.get(name) is None:
            missing.append(name)
            continue
        if record.simplex:
            if declared.get(name) not in (None, "simplex"):
                raise ValueError(f"domain[{name!r}] is the probability simplex; it takes no box")
            lo, hi = np.zeros(shape), np.ones(shape)
            coords.append(Coord(name, shape, lo, hi, start, simplex=True, axes=record.axes))
        else:
            log = boxes.logged(record)
            lo, hi = _box(name, shape, declared.get(name), record.box, log)
            held = name not in args and record.held
            coords.append(Coord(name, shape, lo, hi, start, log=log, in_metric=not held, axes=record.axes))
        start += coords[-1].size
    labels = [int(getattr(world, _field(INPUTS[n].enumerated))) for n in enumerated]
    space = Space(op.scale, tuple(coords), tuple(scale.inputs), tuple(n for n in names),
                  labels[0] if labels else None, world, derived)
    if missing:
        raise NoBox(missing, "; ".join(t for t in (space.text(), *(f"{n} unbounded" for n in missing)) if t))
    return space


# ----------------------------------------------------------------------------- boxes of u


def tighten(dom: Space, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes [B, n] narrowed by the simplex constraints; also whether each box meets the domain at all."""
    lo, hi = lo.copy(), hi.copy()
    ok = np.all(lo <= hi, axis=1)
    for g in dom.simplex_groups():
        slack = simplex_slack(len(g))
        for _ in range(2):
            slo, shi = lo[:, g].sum(axis=1, keepdims=True), hi[:, g].sum(axis=1, keepdims=True)
            new_hi = np.minimum(hi[:, g], np.nextafter(1.0 + slack - (slo - lo[:, g]), np.inf))
            new_lo = np.maximum(lo[:, g], np.nextafter(1.0 - slack - (shi - hi[:, g]), -np.inf))
            lo[:, g], hi[:, g] = np.maximum(new_lo, 0.0), np.minimum(new_hi, 1.0)
        ok &= (lo[:, g].sum(axis=1) <= 1.0 + slack) & (hi[:, g].sum(axis=1) >= 1.0 - slack)
        ok &= np.all(lo[:, g] <= hi[:, g], axis=1)
    return lo, hi, ok


def points(dom: Space, lo: np.ndarray, hi: np.ndarray, where: float = 0.5) -> np.ndarray:
    """A point of each box [B, n] inside the domain (the centre; on the simplex, scaled to sum to 1)."""
    u = lo + where * (hi - lo)
    for g in dom.simplex_groups():
        span = (hi[:, g] - lo[:, g]).sum(axis=1, keepdims=True)
        t = np.where(span > 0, (1.0 - lo[:, g].sum(axis=1, keepdims=True)) / np.where(span > 0, span, 1.0), 0.0)
        u[:, g] = lo[:, g] + np.clip(t, 0.0, 1.0) * (hi[:, g] - lo[:, g])
    return u


def arrays_at(dom: Space, u: np.ndarray) -> dict[str, np.ndarray]:
    """Concrete inputs (the engine's arrays, batch-first) at points u [B, n]."""
    out = {}
    for c in dom.coords:
        v = u[:, c.start:c.stop].reshape((u.shape[0],) + c.shape)
        out[c.name] = np.exp(v) if c.log else v
    if dom.derived == "probs":
        from .._softmax import softmax

        out["probs"] = softmax(out["teacher_logits"])
    return out
