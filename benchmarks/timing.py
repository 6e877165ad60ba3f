"""Timing two steps side by side, shared by the guard benchmarks (`weight_guard.py`, `torch_guard.py`).

`time_steps` runs each call after two warm-ups, every repeat in an order that alternates
(forward, then backward), so a slow drift of a shared machine affects each call alike;
`paired_ratio` is the median over repeats of the two calls' ratio; `columns` gives a
table row's timing columns for a plain and a guarded step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

Times = dict[str, dict[str, list[float]]]


def time_steps(calls: dict[str, tuple[Callable[..., Any], tuple]], repeats: int,
               wait: Callable[[Any], Any] = lambda out: out) -> Times:
    """Wall and CPU seconds (this process, all threads) of each call of each `(fn, args)`:
    `{name: {"wall": [...], "cpu": [...]}}`, one entry per repeat.  `wait(out)` blocks until a
    call's result is computed (`jax.block_until_ready` for JAX's asynchronous dispatch)."""
    for fn, args in calls.values():
        wait(fn(*args))
        wait(fn(*args))
    times: Times = {name: {"wall": [], "cpu": []} for name in calls}
    names = list(calls)
    for rep in range(repeats):
        for name in names if rep % 2 == 0 else names[::-1]:
            fn, args = calls[name]
            c0, t0 = time.process_time(), time.perf_counter()
            wait(fn(*args))
            times[name]["wall"].append(time.perf_counter() - t0)
            times[name]["cpu"].append(time.process_time() - c0)
    return times


def paired_ratio(a: list[float], b: list[float]) -> float:
    """Median over repeats of b_i / a_i: each repeat's two calls ran next to each other."""
    return float(np.median(np.asarray(b) / np.asarray(a)))


def columns(t: Times) -> dict[str, float]:
    """The timing columns of a row: median wall and CPU seconds of "plain" and "guarded", and their ratios."""
    return {"plain_s": float(np.median(t["plain"]["wall"])), "guarded_s": float(np.median(t["guarded"]["wall"])),
            "ratio": paired_ratio(t["plain"]["wall"], t["guarded"]["wall"]),
            "plain_cpu_s": float(np.median(t["plain"]["cpu"])),
            "guarded_cpu_s": float(np.median(t["guarded"]["cpu"])),
            "cpu_ratio": paired_ratio(t["plain"]["cpu"], t["guarded"]["cpu"])}


def ms(sec: float) -> str:
    """Seconds as milliseconds, three decimals below 10 ms."""
    value = sec * 1e3
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"
