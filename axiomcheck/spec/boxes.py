"""Declared input domains of certified checks: one interval [lo, hi] per real-valued input.

A certificate holds on a stated domain.  An operator declares the part it knows
(`domain={"context": (-10, 10)}` on its decorator), a call or a suite may
declare more, and the certifier's documented default covers the rest.  Each
entry bounds every coordinate of one input: `context ∈ [-10, 10]^D`.

Only inputs that range over reals take a box: `context`, `losses`, `sizes`
(> 0: their metric is in log sizes), `features`, `history`, `teacher_logits`.
`probs` and `student` are distributions (always the probability simplex), and
`labels` and `step` are discrete (enumerated or held as the sampled checks
hold them), so a box for them is refused.  This module is a leaf: the operator
record validates with it when it is built, without importing the certifier.

>>> declaration({"context": (-10, 10)})
(('context', (-10.0, 10.0)),)
>>> describe(merged((("context", (-10.0, 10.0)),), {"losses": [0, 5]}))
'context ∈ [-10, 10], losses ∈ [0, 5]'
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from typing import Any

Box = tuple[float, float]
Declared = tuple[tuple[str, Box], ...]

#: The inputs a box may be declared for, in the order they are shown.
BOX_INPUTS = ("context", "losses", "sizes", "features", "history", "teacher_logits")
#: Inputs that take no box, and why.
NOT_BOXES = {
    "probs": "probs is a distribution: its domain is always the probability simplex",
    "student": "student is a distribution: its domain is always the probability simplex",
    "labels": "labels is discrete: it is enumerated or held as the sampled checks hold it",
    "step": "step is discrete: it is held as the sampled checks hold it",
}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def box(name: str, value: Any) -> Box:
    """One input's interval `(lo, hi)`, checked; a `ValueError` says what is wrong."""
    if name in NOT_BOXES:
        raise ValueError(f"domain: {NOT_BOXES[name]}; declare boxes for {', '.join(BOX_INPUTS)}")
    if name not in BOX_INPUTS:
        close = difflib.get_close_matches(str(name), BOX_INPUTS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"domain: unknown input {name!r}{hint}; boxes are declared for {', '.join(BOX_INPUTS)}")
    pair = tuple(value) if isinstance(value, (list, tuple)) else None
    lo, hi = (_number(pair[0]), _number(pair[1])) if pair is not None and len(pair) == 2 else (None, None)
    if lo is None or hi is None:
        raise ValueError(f"domain[{name!r}] must be (lo, hi), two finite numbers, got {value!r}")
    if lo > hi:
        raise ValueError(f"domain[{name!r}] must have lo ≤ hi, got {value!r}")
    if name == "sizes" and lo <= 0:
        raise ValueError(f"domain['sizes'] must have lo > 0 (sizes are measured in log sizes), got {value!r}")
    return (lo, hi)


def checked(table: Any) -> tuple[dict[str, Box], list[str]]:
    """The valid boxes of a table (a suite's `domain = {...}`) and one message per problem, each
    starting with "domain"."""
    if not isinstance(table, Mapping):
        return {}, [f"domain: must be a table like {{ context = [-10, 10] }}, got {table!r}"]
    out, errors = {}, []
    for name, value in table.items():
        try:
            out[str(name)] = box(str(name), value)
        except ValueError as exc:
            errors.append(str(exc))
    return out, errors


def declaration(domain: Any) -> Declared:
    """A domain as `(input, (lo, hi))` pairs in `BOX_INPUTS` order; None or empty gives `()`.

    Takes a mapping or the pairs themselves (what an `Operator` keeps), so a
    declaration can be checked again.
    """
    if domain is None:
        return ()
    if isinstance(domain, Mapping):
        items = list(domain.items())
    elif isinstance(domain, (list, tuple)) and all(isinstance(p, (list, tuple)) and len(p) == 2 for p in domain):
        items = [(k, v) for k, v in domain]
    else:
        raise ValueError(f"domain must be a mapping like {{'context': (-10, 10)}}, got {domain!r}")
    names = [k for k, _ in items]
    if len(set(names)) != len(names):
        raise ValueError(f"domain names an input twice: {names}")
    boxes = {str(k): box(str(k), v) for k, v in items}
    return tuple((k, boxes[k]) for k in BOX_INPUTS if k in boxes)


def merged(*layers: Any) -> dict[str, Box]:
    """The layers' boxes, a later layer's box replacing an earlier one's for the same input."""
    out: dict[str, Box] = {}
    for layer in layers:
        out.update(declaration(layer))
    return {k: out[k] for k in BOX_INPUTS if k in out}


def union(declared: Iterable[Declared]) -> Declared:
    """The boxes of several components together; two different boxes for one input are a `ValueError`."""
    out: dict[str, Box] = {}
    for decl in declared:
        for name, b in decl:
            if name in out and out[name] != b:
                raise ValueError(f"the components declare different domains for {name!r}: {list(out[name])} "
                                 f"and {list(b)}")
            out[name] = b
    return tuple((k, out[k]) for k in BOX_INPUTS if k in out)


def unused(domain: Mapping[str, Box] | Declared, takes: Iterable[str]) -> list[str]:
    """The inputs `domain` bounds that an operator taking `takes` does not take."""
    names = [k for k, _ in (domain.items() if isinstance(domain, Mapping) else domain)]
    have = set(takes)
    return [k for k in names if k not in have]


def _num(x: float) -> str:
    return f"{x:g}"


def describe(domain: Mapping[str, Box] | Declared) -> str:
    """`context ∈ [-10, 10], losses ∈ [0, 5]`: a domain as text ("" when empty)."""
    pairs = domain.items() if isinstance(domain, Mapping) else domain
    return ", ".join(f"{k} ∈ [{_num(lo)}, {_num(hi)}]" for k, (lo, hi) in pairs)


def parse(text: str) -> tuple[str, Box]:
    """`INPUT=LO,HI` (the command line's `--domain`) as `(input, (lo, hi))`; a `ValueError` says what is wrong.

    >>> parse("context=-10,10")
    ('context', (-10.0, 10.0))
    """
    name, sep, rest = str(text).partition("=")
    parts = rest.split(",")
    if not sep or len(parts) != 2:
        raise ValueError(f"must be INPUT=LO,HI (for example context=-10,10), got {text!r}")
    try:
        lo, hi = float(parts[0]), float(parts[1])
    except ValueError:
        raise ValueError(f"must be INPUT=LO,HI with two numbers, got {text!r}") from None
    name = name.strip()
    return name, box(name, (lo, hi))
