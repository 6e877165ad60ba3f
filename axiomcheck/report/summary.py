"""Counterexamples too large to print: a readable summary of each distribution, the arrays kept aside.

A counterexample at V = 128 256 holds a million probabilities per sample; as a
list in a message or a JSON report it is unreadable and huge.  When one
sample's arrays hold more than `LIMIT` numbers, the counterexample shows, for
each distribution (each teacher's row of `probs`, the `student`), its largest
entries with their token ids, its entropy, its support and the entries of the
safety-critical tokens S; identical rows (tied teachers) are shown once.  The
full arrays travel beside it (`ARRAYS`, popped into `Result.arrays` when the
result is assembled) and are written as `.npz` with the reports, from which
`axiomcheck verify NAME --replay FILE.npz` replays the check
(`axiomcheck.report.replay_case`).

>>> import numpy as np
>>> p = np.zeros(1000); p[[5, 17, 900]] = [0.5, 0.3, 0.2]
>>> describe(p, (17, 3))
'top 5=0.5, 17=0.3, 900=0.2; H = 1.03 nats; support 3 of 1000; S: 17=0.3, 3=0'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: A sample whose arrays hold more numbers than this is summarized, its arrays saved as .npz.
LIMIT = 4096
#: Largest entries shown per distribution.
TOP = 5
#: The key of a counterexample dict under which its full arrays travel (never written as JSON).
ARRAYS = "_arrays"
#: Inputs that are distributions over the vocabulary (a row per teacher, or one row).
DISTRIBUTIONS = ("probs", "student")


def large(arrays: Sequence[np.ndarray]) -> bool:
    """Whether one sample's arrays are too large to show as lists."""
    return sum(int(np.asarray(a).size) for a in arrays) > LIMIT


def _g(x: float) -> str:
    return f"{x:.4g}"


def stats(p: np.ndarray, tokens: Sequence[int] = ()) -> dict[str, Any]:
    """Plain data describing one distribution `[V]`: top entries, entropy (nats), support, sum, S."""
    p = np.asarray(p, dtype=np.float64)
    v = p.size
    k = min(TOP, v)
    top = np.argpartition(-np.nan_to_num(p, nan=-np.inf), k - 1)[:k] if k < v else np.arange(v)
    top = top[np.argsort(-np.nan_to_num(p[top], nan=-np.inf), kind="stable")]
    top = top[p[top] != 0] if (p[top] != 0).any() else top[:1]  # zeros are the support's business
    pos = p[p > 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        h = float(-(pos * np.log(pos)).sum()) + 0.0
    return {"top": [[int(i), float(p[i])] for i in top], "entropy": h, "support": int((p > 0).sum()),
            "vocab": int(v), "sum": float(p.sum()), "nonfinite": int((~np.isfinite(p)).sum()),
            "safety": {str(t): float(p[t]) for t in tokens if 0 <= t < v}}


def text(s: dict[str, Any]) -> str:
    """One line for the stats of one distribution."""
    parts = ["top " + ", ".join(f"{i}={_g(x)}" for i, x in s["top"]),
             f"H = {s['entropy']:.3g} nats", f"support {s['support']} of {s['vocab']}"]
    if abs(s["sum"] - 1.0) > 1e-9:
        parts.append(f"Σ = {s['sum']:.9g}")
    if s["nonfinite"]:
        parts.append(f"{s['nonfinite']} NaN/inf")
    if s["safety"]:
        parts.append("S: " + ", ".join(f"{t}={_g(x)}" for t, x in s["safety"].items()))
    return "; ".join(parts)


def describe(p: np.ndarray, tokens: Sequence[int] = ()) -> str:
    """`text(stats(p, tokens))`: the one-line summary of a distribution."""
    return text(stats(p, tokens))


def _rows(a: np.ndarray) -> list[np.ndarray]:
    """The distributions of one sample's array (its last axis), one per teacher for `[K, V]`."""
    a = np.asarray(a)
    return [a] if a.ndim == 1 else list(a.reshape(-1, a.shape[-1]))


def _grouped(rows: list[np.ndarray]) -> list[tuple[list[int], np.ndarray]]:
    """Rows with their indices, identical rows (tied teachers) together."""
    out: list[tuple[list[int], np.ndarray]] = []
    for i, r in enumerate(rows):
        for idx, first in out:
            if np.array_equal(first, r, equal_nan=True):
                idx.append(i)
                break
        else:
            out.append(([i], r))
    return out


def _who(idx: list[int], many: bool) -> str:
    if not many:
        return ""
    if len(idx) == 1:
        return f"teacher {idx[0]}: "
    return f"teachers {', '.join(map(str, idx))} (identical): "


def input_summary(name: str, a: np.ndarray, tokens: Sequence[int]) -> Any:
    """What a counterexample shows for one input of one sample (`a` without its batch axis)."""
    a = np.asarray(a)
    if a.size <= TOP * 4:
        return a.tolist()
    if name in DISTRIBUTIONS:
        rows = _rows(a)
        return {"shape": list(a.shape), "dtype": str(a.dtype),
                "rows": [{"teachers" if len(rows) > 1 else "row": idx, **stats(r, tokens)}
                         for idx, r in _grouped(rows)]}
    finite = a[np.isfinite(a)]
    return {"shape": list(a.shape), "dtype": str(a.dtype), "min": float(finite.min()) if finite.size else None,
            "max": float(finite.max()) if finite.size else None, "-inf": int(np.isneginf(a).sum()),
            "nan": int(np.isnan(a).sum())}


def weights_summary(w: np.ndarray, tokens: Sequence[int]) -> dict[str, Any]:
    """A large returned weights array of one sample: its shape, range, and the weights on S when per token."""
    w = np.asarray(w)
    finite = w[np.isfinite(w)]
    out: dict[str, Any] = {"shape": list(w.shape), "dtype": str(w.dtype),
                           "min": float(finite.min()) if finite.size else None,
                           "max": float(finite.max()) if finite.size else None,
                           "nonfinite": int(w.size - finite.size)}
    if w.ndim >= 2 and tokens:
        out["on_safety_tokens"] = {str(t): w[..., t].tolist() for t in tokens if 0 <= t < w.shape[-1]}
    return out


def sample(names: Sequence[str], one: Sequence[np.ndarray], tokens: Sequence[int],
           prefix: str = "input") -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(the counterexample's summary of a one-sample batch, its arrays keyed "<prefix>/<name>")."""
    shown = {n: input_summary(n, a[0], tokens) for n, a in zip(names, one)}
    return shown, {f"{prefix}/{n}": np.asarray(a) for n, a in zip(names, one)}


def shown_text(name: str, s: Any) -> list[str]:
    """The text of one summarized input (as `input_summary` showed it): one line per distinct row of a
    distribution, one line for a range, the values themselves for a small array."""
    if isinstance(s, dict) and "rows" in s:
        many = len(s["shape"]) > 1
        return [_who(r.get("teachers", [0]), many) + text(r) for r in s["rows"]]
    if isinstance(s, dict):
        lo, hi = s.get("min"), s.get("max")
        line = f"shape {s.get('shape')}, range [{lo}, {hi}]"
        if s.get("-inf"):
            line += f", {s['-inf']} at −inf"
        if s.get("nan") or s.get("nonfinite"):
            line += f", {s.get('nan') or s.get('nonfinite')} non-finite"
        return [line]
    return [np.array2string(np.asarray(s), precision=4, separator=", ").replace("\n", "")]


def inline_from(shown: dict[str, Any]) -> str:
    """The message form of a summarized counterexample's inputs (as `sample` showed them)."""
    parts = []
    for name, s in shown.items():
        if isinstance(s, dict) and "rows" in s:
            parts.append(f"{name}: " + " | ".join(shown_text(name, s)))
        elif isinstance(s, dict):
            parts.append(f"{name}: shape {s['shape']}, range [{s['min']}, {s['max']}], {s['-inf']} at −inf")
        else:
            parts.append(f"{name}={shown_text(name, s)[0]}")
    return " (" + "; ".join(parts) + ")"
