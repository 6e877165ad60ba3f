"""The weight guard in PyTorch: checks, inside a training step, the weights a KD loss receives.

`torch_guard(op, teachers=K)` returns a `TorchGuard` for the bounds and token
safety order `op` declares (`GuardSpec.from_operator`).  Each
`guard.update(weights, step, positions)` checks one step's weights `[K, N]` or
`[K, N, V]` with the rules of `axiomcheck.checks.rules` (the ones `verify()` and the JAX
guard use) and folds what it saw into a state of small tensors on the weights'
device.  `update` reads no value back to the host (no `.item()`, no `.cpu()`, no
Python branch on a tensor), so a training step that calls it runs without
synchronising and compiles with `torch.compile(fullgraph=True)`; the weights are
detached, so the guard adds nothing to the autograd graph.  `guard.results()`
brings the state to the host once, as the same `runtime.*` `Result`s as
`axiomcheck.guard.runtime`; `guard.report()` wraps them in a `Report`.

Unlike the JAX guard, which locates violations only when a step holds some
(`lax.cond`), this one counts and locates in every step: a branch would need the
host.  Eagerly, that is a few dozen operations on each piece of a few million
weights per teacher (so no temporary grows large); compiled, with the caller's
step or on its own (`compile=True`), one fused pass over the weights.

>>> import torch
>>> from axiomcheck.guard import GuardSpec
>>> g = TorchGuard(GuardSpec(teachers=2, bounds=(0.1, 0.9)))
>>> g.update(torch.tensor([[0.5, 0.95], [0.5, 0.05]]), step=3)
>>> [r.status for r in g.results()]
['pass', 'pass', 'fail', 'skipped']
>>> g.results()[2].counterexample
{'step': 3, 'position': 1, 'weights': [0.949999988079071, 0.05000000074505806]}
"""

from __future__ import annotations

import functools
import math
from typing import Any

import torch

from ..checks import rules
from ..report.results import Report, Result
from .runtime import guard_report, guard_results
from .spec import GuardSpec
from .state import GuardState, empty

__all__ = ["TorchGuard", "torch_guard"]

_DTYPES = {"int32": torch.int64, "float32": torch.float32}  # counts and indices in int64, torch's index type
_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
#: weights per teacher in one piece of an eager update (16 MiB of float32)
_PIECE = 1 << 22


class TorchGuard:
    """Checks the weights of every training step against a `GuardSpec`; state on the weights' device.

    Args:
        spec: what the weights must satisfy.
        operator: the operator's name, as `report()` names it.
        scale: the operator's scale, as `report()` names it.
        device: where the state starts (default: the CPU); the first `update` moves it to its
            weights' device (under `torch.compile`, pass the device here to spare a recompile).
        compile: run each update's tensor work as one `torch.compile`d function (fused: a few passes
            over the weights instead of one per operation), for an eager training loop with large
            per-token weights; it compiles once per weights' dtype and shape.  A step that is compiled
            as a whole compiles the guard with it, and needs no such flag.
    """

    def __init__(self, spec: GuardSpec, *, operator: str = "weights", scale: str = "unified",
                 device: Any = None, compile: bool = False) -> None:
        if not isinstance(spec, GuardSpec):
            raise TypeError(f"TorchGuard needs a GuardSpec, got {type(spec).__name__}")
        self.spec = spec
        self.operator = operator
        self.scale = scale
        # the host-side thresholds of every float dtype, computed here so that `update` only reads them
        self._limits = {dt: (spec.tol_for(dt), spec.limits(dt)) for dt in _FLOATS}
        self._state = self._empty(torch.device(device) if device is not None else torch.device("cpu"))
        self._compile = bool(compile)
        self._compiled: dict[tuple[Any, int, int], Any] = {}

    def _empty(self, device: Any) -> dict[str, torch.Tensor]:
        return {name: torch.full(shape, fill, dtype=_DTYPES[dt], device=device)
                for name, (shape, dt, fill) in zip(GuardState._fields, empty(self.spec.teachers), strict=True)}

    @property
    def device(self) -> torch.device:
        """Where the state lives."""
        return self._state["steps"].device

    def reset(self) -> None:
        """Forget every step seen (the state stays on its device)."""
        for name, value in self._empty(self.device).items():
            self._state[name].copy_(value)

    def _limits_for(self, dtype: torch.dtype) -> tuple[float, rules.Limits]:
        if dtype in self._limits:
            return self._limits[dtype]
        return self.spec.tol_for(dtype), self.spec.limits(dtype)

    def update(self, weights: torch.Tensor, step: Any = None, positions: Any = None) -> None:
        """Check one step's weights and fold them into the state (in place, on the device; no sync).

        Args:
            weights: what the loss receives this step, `[K, N]` or `[K, N, V]`, any float dtype
                (compared in float32 or wider); detached, so it may require grad.
            step: this step's number (an int or a 0-d integer tensor; under `torch.compile` a tensor,
                as a new int recompiles); default: the number of updates before this one.
            positions: `[N]` integers, the position (e.g. the sample index in the data set) of each
                column, as the first violation will report it; default 0..N−1.
        """
        if not isinstance(weights, torch.Tensor):
            raise TypeError(f"weights must be a torch.Tensor, got {type(weights).__name__}")
        n, v = self.spec.check_shape(tuple(weights.shape))
        if weights.device != self.device:
            self._state = {name: t.to(weights.device) for name, t in self._state.items()}
        s, dev = self._state, weights.device
        pos = (torch.arange(n, device=dev) if positions is None
               else torch.as_tensor(positions, device=dev).to(torch.int64).reshape(n))
        at = s["steps"].clone() if step is None else torch.as_tensor(step, device=dev).to(torch.int64).reshape(())
        tol, lim = self._limits_for(weights.dtype)
        w = weights.detach()
        state = tuple(s[name] for name in GuardState._fields)
        kernel = functools.partial(_update, self.spec, lim)
        if self._compile:
            key = (w.dtype, n, v)
            if key not in self._compiled:
                self._compiled[key] = torch.compile(kernel, fullgraph=True, dynamic=False)
            state = self._compiled[key](state, w, at, pos)
        elif torch.compiler.is_compiling():  # traced into the caller's graph: one piece, which it fuses
            state = kernel(state, w, at, pos)
        else:  # eagerly, in pieces of positions: every temporary stays small, and memory is reused
            per = max(1, _PIECE // v)
            for i in range(0, n, per):
                state = kernel(state, w[:, i:i + per], at, pos[i:i + per], count_step=i == 0)
        for name, value in zip(GuardState._fields, state, strict=True):
            s[name].copy_(value)
        s["tolerance"].fill_(tol)

    def state(self) -> GuardState:
        """The state on the host, as numpy arrays (what `guard_results` reads)."""
        return GuardState(*(self._state[name].detach().cpu().numpy() for name in GuardState._fields))

    def results(self, *, reproduce: str | None = None, seed: int | None = None) -> tuple[Result, ...]:
        """One `Result` per guarded property (`runtime.normalization`, `.positivity`, `.bounds`,
        `.safety`), as `axiomcheck.guard.runtime` gives them for the JAX guard."""
        return guard_results(self.state(), self.spec, reproduce=reproduce, seed=seed)

    def report(self, **kwargs: Any) -> Report:
        """A `Report` of the guarded properties of this run (`kwargs` go to `guard_results`)."""
        return guard_report(self.state(), self.spec, self.operator, self.scale, **kwargs)

    def __repr__(self) -> str:
        return f"TorchGuard({self.operator!r}, {self.spec!r}, device={str(self.device)!r})"


def _update(spec: GuardSpec, lim: rules.Limits, state: tuple[torch.Tensor, ...], weights: torch.Tensor,
            at: torch.Tensor, pos: torch.Tensor, count_step: bool = True) -> tuple[torch.Tensor, ...]:
    """The next state after one step's `weights` [K, N] or [K, N, V] at positions `pos` [N], or after a
    piece of a step's positions (`count_step` False but for the first piece): a pure function of
    tensors, run eagerly or compiled, that reads no value on the host."""
    s = GuardState(*state)
    k, dev = spec.teachers, weights.device
    n, v = weights.shape[1], weights.shape[2] if weights.dim() == 3 else 1
    x = weights.reshape(k, n, v)  # [K, B, R]: R = V, or 1 for token-independent weights
    flat = x.reshape(k, n * v)
    total, vmin, vmax = (f(flat, 0, torch) for f in (rules.teacher_sum, rules.teacher_min, rules.teacher_max))
    err = rules.sum_error(total)
    masks = [rules.normalization_ok(err, lim).logical_not_(), rules.positivity_ok(vmin, lim).logical_not_()]
    masks.append(rules.bounds_ok(vmin, vmax, lim).logical_not_() if spec.bounds is not None else None)
    fin = rules.finite_ok(vmin, vmax)
    nonfinite = _count(~fin)
    found = [_first(m, x, None, v, p, spec) for p, m in enumerate(masks)]
    checked = [n * v, n * v, n * v if spec.bounds is not None else 0, 0]

    low_margin = torch.full((), math.inf, device=dev)
    if spec.has_safety:
        toks = spec.safety_tokens if v > 1 else None
        xs = x if toks is None else x.index_select(2, torch.tensor(toks, device=dev))  # [K, B, |S|]
        margin = _fold_min([rules.order_margin(xs[a], xs[b], torch) for a, b in spec.safety_pairs])
        found.append(_first(rules.order_ok(margin, lim).logical_not_(), xs, toks, v, 3, spec))
        low_margin = torch.where(torch.isnan(margin), -math.inf, margin).amin().float()
        checked[3] = n * xs.shape[2]
    else:
        found.append(_first(None, x, None, v, 3, spec))

    counts, anys, rows, tokens, details, values, vectors = (torch.stack(c) for c in zip(*found, strict=True))
    new = anys & (s.first_step < 0)
    # the observed range keeps the vectors free of NaN and ±inf; compiled, one reduction per teacher over
    # the vectors, which the compiler fuses into its one pass over them
    if torch.compiler.is_compiling():
        w_min = torch.stack([torch.where(fin, xk, math.inf).amin() for xk in flat]).float()
        w_max = torch.stack([torch.where(fin, xk, -math.inf).amax() for xk in flat]).float()
    else:
        w_min = torch.where(fin, flat, math.inf).amin(1).float()
        w_max = torch.where(fin, flat, -math.inf).amax(1).float()
    worst = torch.where(nonfinite > 0, math.inf, err.amax().float())
    return GuardState(
        steps=s.steps + int(count_step), w_min=torch.minimum(s.w_min, w_min), w_max=torch.maximum(s.w_max, w_max),
        max_norm_error=torch.maximum(s.max_norm_error, worst),
        min_safety_margin=torch.minimum(s.min_safety_margin, low_margin), nonfinite=s.nonfinite + nonfinite,
        tolerance=s.tolerance, checked=s.checked + torch.tensor(checked, device=dev), violations=s.violations + counts,
        first_step=torch.where(new, at, s.first_step), first_position=torch.where(new, pos[rows], s.first_position),
        first_token=torch.where(new, tokens, s.first_token), first_detail=torch.where(new, details, s.first_detail),
        first_value=torch.where(new, values.float(), s.first_value),
        first_weights=torch.where(new[:, None], vectors.float(), s.first_weights))


def _fold_min(xs: list[torch.Tensor]) -> torch.Tensor:
    out = xs[0]
    for x in xs[1:]:
        out = torch.minimum(out, x)
    return out


def _first(mask: torch.Tensor | None, src: torch.Tensor, toks: tuple[int, ...] | None, v: int, prop: int,
           spec: GuardSpec) -> tuple[torch.Tensor, ...]:
    """(count, any, row, token or −1, detail, value, K weights) of the first True of `mask` [B·R'] in
    row-major order (position, then token), read from `src` [K, B, R']; nothing found for None."""
    k, b, r = src.shape
    dev, cdt = src.device, torch.promote_types(src.dtype, torch.float32)
    if mask is None:
        zero = torch.zeros((), dtype=torch.int64, device=dev)
        return (zero, zero > 0, zero, zero - 1, zero - 1, torch.full((), math.nan, dtype=cdt, device=dev),
                torch.full((k,), math.nan, dtype=cdt, device=dev))
    flat = mask.reshape(b * r)
    count = _count(flat)
    first = _first_index(flat)  # the first violating vector, position-major (0 if none)
    row, col = first // r, first % r
    # gather reads the K weights in place (index_select would first copy a non-contiguous src whole)
    w = src.reshape(k, b * r).gather(1, first.reshape(1, 1).expand(k, 1)).reshape(k).to(cdt)
    if toks is not None:
        token = _at(torch.tensor(toks, device=dev), col)
    else:
        token = col if v > 1 else torch.full((), -1, dtype=torch.int64, device=dev)
    detail, value = _detail(prop, w, spec)
    return count, count > 0, row, token, detail, value, w


def _count(mask: torch.Tensor) -> torch.Tensor:
    """The number of True in `mask`, as int64 (a compiler sums int32: twice the lanes)."""
    if torch.compiler.is_compiling():
        return mask.sum(dtype=torch.int32).to(torch.int64)
    return torch.count_nonzero(mask)


def _first_index(mask: torch.Tensor) -> torch.Tensor:
    """The index of the first True of the 1-d `mask`, 0 when there is none."""
    if torch.compiler.is_compiling():  # a smallest index, which the compiler fuses into its reduction
        size = mask.shape[0]  # (inductor 2.13 miscompiles an argmax over bytes: lanes past the end win ties)
        iota = torch.arange(size, device=mask.device, dtype=torch.int32 if size < 2 ** 31 else torch.int64)
        return torch.where(mask, iota, size).amin().clamp(max=size - 1).to(torch.int64)
    return mask.view(torch.uint8).argmax()  # eagerly: no index array, and argmax returns the first maximum


def _at(x: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
    """x[i] for a 0-d index tensor, as a gather (indexing with it would read i on the host)."""
    return x.index_select(0, i.reshape(1)).reshape(())


def _detail(prop: int, w: torch.Tensor, spec: GuardSpec) -> tuple[torch.Tensor, torch.Tensor]:
    """(the teacher or pair at fault, the offending value) of one violating vector `w` [K]."""
    if prop == 0:
        return torch.full((), -1, dtype=torch.int64, device=w.device), rules.sum_error(rules.teacher_sum(w, 0, torch))
    if prop == 1:
        detail = torch.where(torch.isnan(w), -math.inf, w).argmin()
        return detail, _at(w, detail)
    if prop == 2:
        lo, hi = spec.bounds if spec.bounds is not None else (0.0, 1.0)
        out = torch.maximum(lo - w, w - hi)
        detail = torch.where(torch.isnan(out), math.inf, out).argmax()
        return detail, _at(w, detail)
    gaps = torch.stack([rules.order_margin(w[a], w[b], torch) for a, b in spec.safety_pairs])
    detail = torch.where(torch.isnan(gaps), -math.inf, gaps).argmin()
    return detail, _at(gaps, detail)


def torch_guard(op: Any, teachers: int | None = None, *, tolerance: float | None = None, device: Any = None,
                operator: str | None = None, compile: bool = False) -> TorchGuard:
    """A `TorchGuard` for `op`: an `Operator` (its declared bounds, or a composition's derived ones,
    and its token safety order, as `GuardSpec.from_operator` reads them), a registered operator's
    name, or a `GuardSpec`."""
    if isinstance(op, GuardSpec):
        if teachers is not None and int(teachers) != op.teachers:
            raise ValueError(f"teachers={teachers} disagrees with the GuardSpec's K = {op.teachers}")
        if tolerance is not None:
            raise ValueError("give the tolerance in the GuardSpec (GuardSpec(tolerance=...))")
        return TorchGuard(op, operator=operator or "weights", device=device, compile=compile)
    if isinstance(op, str):
        from ..library.lookup import get

        op = get(op)
    if teachers is None:
        raise ValueError("torch_guard needs teachers=K, the number of teachers the weights hold")
    spec = GuardSpec.from_operator(op, int(teachers), tolerance=tolerance)
    return TorchGuard(spec, operator=operator or op.name, scale=op.scale, device=device, compile=compile)
