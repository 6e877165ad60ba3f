"""A counterexample as a few lines of text: the input (and a segment's other end), the weights.

A failing check's message says "at <input>" or "between the two inputs in the
counterexample"; the JSON report holds that counterexample in full.  A terminal
run prints it with `lines`, so a violation can be acted on without opening a
file: small arrays as they are (four significant digits, numpy's own
summarization past `THRESHOLD` numbers), a distribution too large to print as
`axiomcheck.report.summary` summarized it (top entries, entropy, support, the
safety-critical tokens), every line within `width` columns.

>>> for line in lines({"input": {"context": [0.0, 1e-12, 2.5]}, "weights": [0.5, 0.5], "where": "sweep"}):
...     print(line)
counterexample (sweep):
  context = [0, 1e-12, 2.5]
  weights = [0.5, 0.5]
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..report import summary

#: Arrays with more numbers than this are shown by numpy's summarization (first and last entries).
THRESHOLD = 64
#: The arrays of a counterexample besides its inputs, in the order shown.
WEIGHT_FIELDS = (("weights", "weights"), ("other_weights", "other weights"))
_NONFINITE = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}


def _numbers(value: Any) -> Any:
    """Plain data back to numbers: the strings "nan", "inf" and "-inf" of a JSON-safe list become floats."""
    if isinstance(value, str):
        return _NONFINITE.get(value, value)
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return value


def _array_text(value: Any, width: int) -> list[str]:
    try:
        a = np.asarray(_numbers(value))
    except ValueError:  # ragged: not an array
        a = None
    if a is None or a.dtype.kind not in "biuf":
        return [str(value)]
    text = np.array2string(a, separator=", ", threshold=THRESHOLD, edgeitems=3, max_line_width=max(width, 40),
                           formatter={"float_kind": lambda x: f"{x:.4g}"})
    return text.splitlines()


def _value_text(name: str, value: Any, width: int) -> list[str]:
    if isinstance(value, dict):
        return summary.shown_text(name, value)
    return _array_text(value, width)


def _wrapped(prefix: str, texts: list[str], width: int) -> list[str]:
    """`prefix` before the first line, the others indented under it; long lines folded within `width`."""
    pad = " " * len(prefix)
    out: list[str] = []
    for n, t in enumerate(texts):
        head = prefix if n == 0 else pad
        if len(head) + len(t) <= width:
            out.append(head + t)
        else:
            out += textwrap.wrap(t, width=width, initial_indent=head, subsequent_indent=pad + "  ",
                                 break_on_hyphens=False) or [head]
    return out


def _entry(prefix: str, name: str, value: Any, width: int) -> list[str]:
    """`prefix + name = value`, the value's later lines aligned under its first."""
    head = f"{prefix}{name} = "
    return _wrapped(head, _value_text(name, value, width - len(head)), width)


def lines(ce: Mapping[str, Any], width: int = 100) -> list[str]:
    """The counterexample `ce` (a `Result.counterexample`) as lines of at most `width` columns (40 at least)."""
    width = max(width, 40)
    where = [str(ce[k]) for k in ("where", "row", "params") if ce.get(k) not in (None, "")]
    out = ["counterexample" + (f" ({', '.join(where)})" if where else "") + ":"]
    two = isinstance(ce.get("other_input"), dict)  # a segment: both ends, each under its label
    for key, label in (("input", "input"), ("other_input", "other input")):
        value = ce.get(key)
        if isinstance(value, dict):
            if two:
                out.append(f"  {label}:")
            for name, v in value.items():
                out += _entry("    " if two else "  ", name, v, width)
    for key, label in WEIGHT_FIELDS:
        if ce.get(key) is not None:
            out += _entry("  ", label, ce[key], width)
    radius = ce.get("radius")
    if isinstance(radius, (int, float)):
        out.append(f"  radius = {radius:.6g}")
    return out
