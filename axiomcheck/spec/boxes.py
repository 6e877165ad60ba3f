"""Declared input domains of certified checks: one interval [lo, hi] per real-valued input.

A certificate holds on a stated domain.  An operator declares the part it knows
(`domain={"context": (-10, 10)}` on its decorator), a call or a suite may
declare more, and the certifier's documented default covers the rest.  Each
entry bounds every coordinate of one input: `context ∈ [-10, 10]^D`.

Which inputs take a box is read from their records (`records`): a scale's
positional inputs (`Arg`) and the keyword inputs (`KeywordInput`), the ones
added at run time included.  Only inputs that range over reals take one
(`box_inputs`): today `context`, `losses`, `sizes` (> 0: an input the metric
measures in logs is certified in logs), `features`, `history`, `teacher_logits`.
A distribution (`simplex` on its record: probs, student) is always the
probability simplex, and a discrete input (labels, enumerated; step, held as the
sampled checks hold it) takes none, so a box for them is refused.  This module
reads only the spec's records: the operator record validates with it when it is
built, without importing the certifier.

>>> declaration({"context": (-10, 10)})
(('context', (-10.0, 10.0)),)
>>> describe(merged((("context", (-10.0, 10.0)),), {"losses": [0, 5]}))
'context ∈ [-10, 10], losses ∈ [0, 5]'
>>> box_inputs()
('context', 'losses', 'sizes', 'features', 'history', 'teacher_logits')
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from typing import Any

from .inputs import INPUTS
from .scales import SCALES, Arg

Box = tuple[float, float]
Declared = tuple[tuple[str, Box], ...]


def records() -> dict[str, Any]:
    """Every input by name: the scales' positional inputs (`Arg`, registry order), then the keyword inputs.

    An input several scales take is one record (the first scale's); the table is
    read afresh each call, so an input or scale added at run time is in it.
    """
    out: dict[str, Any] = {}
    for scale in SCALES.values():
        for arg in scale.args:
            out.setdefault(arg.name, arg)
    for name, record in INPUTS.items():
        out.setdefault(name, record)
    return out


def refusal(record: Any) -> str | None:
    """Why the input of `record` takes no declared box, or None when it takes one."""
    name = record.name
    if record.simplex:
        return f"{name} is a distribution: its domain is always the probability simplex"
    if getattr(record, "enumerated", None):
        return f"{name} is discrete: it is enumerated or held as the sampled checks hold it"
    if getattr(record, "held", False):
        return f"{name} is discrete: it is held as the sampled checks hold it"
    return None


def box_inputs() -> tuple[str, ...]:
    """The inputs a box may be declared for, in the order they are shown: the positional ones in registry
    order, then the keyword ones by name."""
    recs = records()
    takes = [n for n, r in recs.items() if refusal(r) is None]
    return tuple([n for n in takes if isinstance(recs[n], Arg)] + sorted(n for n in takes if not isinstance(recs[n], Arg)))


def logged(record: Any) -> bool:
    """Whether its input is certified in logs (a positional input the metric measures in log): it is positive."""
    return getattr(record, "transform", "") == "log"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def box(name: str, value: Any) -> Box:
    """One input's interval `(lo, hi)`, checked; a `ValueError` says what is wrong."""
    record, takes = records().get(name), box_inputs()
    why = None if record is None else refusal(record)
    if why is not None:
        raise ValueError(f"domain: {why}; declare boxes for {', '.join(takes)}")
    if record is None:
        close = difflib.get_close_matches(str(name), takes, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"domain: unknown input {name!r}{hint}; boxes are declared for {', '.join(takes)}")
    pair = tuple(value) if isinstance(value, (list, tuple)) else None
    lo, hi = (_number(pair[0]), _number(pair[1])) if pair is not None and len(pair) == 2 else (None, None)
    if lo is None or hi is None:
        raise ValueError(f"domain[{name!r}] must be (lo, hi), two finite numbers, got {value!r}")
    if lo > hi:
        raise ValueError(f"domain[{name!r}] must have lo ≤ hi, got {value!r}")
    if logged(record) and lo <= 0:
        raise ValueError(f"domain[{name!r}] must have lo > 0 ({name} are measured in log {name}), got {value!r}")
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
    """A domain as `(input, (lo, hi))` pairs in `box_inputs()` order; None or empty gives `()`.

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
    return tuple((k, boxes[k]) for k in box_inputs() if k in boxes)


def merged(*layers: Any) -> dict[str, Box]:
    """The layers' boxes, a later layer's box replacing an earlier one's for the same input."""
    out: dict[str, Box] = {}
    for layer in layers:
        out.update(declaration(layer))
    return {k: out[k] for k in box_inputs() if k in out}


def union(declared: Iterable[Declared]) -> Declared:
    """The boxes of several components together; two different boxes for one input are a `ValueError`."""
    out: dict[str, Box] = {}
    for decl in declared:
        for name, b in decl:
            if name in out and out[name] != b:
                raise ValueError(f"the components declare different domains for {name!r}: {list(out[name])} "
                                 f"and {list(b)}")
            out[name] = b
    return tuple((k, out[k]) for k in box_inputs() if k in out)


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
