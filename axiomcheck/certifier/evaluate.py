"""Running an operator on boxes (interval arrays, one box per batch row) and on points (plain arrays).

`on_boxes` builds the interval inputs of a batch of boxes of u (identity
Jacobians, the simplex tagged, log sizes exponentiated, probs made from
teacher logits as the sampled engine makes them), calls the operator through
the front end of its framework, and returns its weights in the canonical
layout `W[B, R, K]` with the evaluation's `Trace`.  `at_points` calls the real
operator on concrete inputs, for counterexamples.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..calling.frameworks import adapt
from ..calling.sandbox import accepts_teachers
from ..sampling.domains import DOMAINS
from ..spec.scales import SCALES
from . import numpy_front, ops, reduce, structure
from . import rounding as R
from .core import Interval, Trace, Unenclosable, constant
from .hessian import MAX_N
from .space import Space, arrays_at, simplex_slack

NO_PARAMS: Any = object()


@dataclasses.dataclass
class Enclosed:
    """The weights of a batch of boxes: `W[B, R, K]`, and what the evaluation found per row."""

    W: Interval
    trace: Trace


def input_dtype(op: Any) -> np.dtype:
    """The float dtype the operator receives its inputs in (JAX: its default float, float32 unless x64)."""
    if op.framework == "jax":
        import jax.numpy as jnp

        return np.dtype(jnp.asarray(np.zeros(1)).dtype)
    return np.dtype(np.float64)


def interval_inputs(dom: Space, lo: np.ndarray, hi: np.ndarray, tr: Trace, dtype: np.dtype) -> dict[str, Interval]:
    """One interval array per certified input for the boxes [B, n] (rows = boxes)."""
    N, n = lo.shape
    out: dict[str, Interval] = {}
    for c in dom.coords:
        clo = lo[:, c.start:c.stop].reshape((N,) + c.shape)
        chi = hi[:, c.start:c.stop].reshape((N,) + c.shape)
        J = np.zeros((N, c.size, n))
        J[:, np.arange(c.size), c.start + np.arange(c.size)] = 1.0
        J = J.reshape((N,) + c.shape + (n,))
        in_dtype = np.dtype(np.float64) if c.log or dom.derived == "probs" and c.name == "teacher_logits" else dtype
        vlo, vhi = R.to_dtype(clo, chi, in_dtype)
        x = Interval(vlo, vhi, J, J, dtype=in_dtype, trace=tr, rowdep=True)
        if tr.second:
            x.hlo = x.hhi = np.zeros((N,) + c.shape + (n, n))
        if c.log:
            x = ops.unary("exp", x)
            if dtype != x.dtype:
                x = structure.astype(x, dtype)
        if c.simplex:
            ax = len(c.shape)
            x.tags["simplex"] = {"ax": ax, "slack": simplex_slack(c.shape[-1])}
            x.tags["sep"] = {"src": x, "ax": ax, "fn": lambda q: q}
        out[c.name] = x
    if dom.derived == "probs":
        z = out["teacher_logits"]
        top = reduce.extreme(z, -1, True, "max")
        e = ops.unary("exp", ops.subtract(z, top))
        p = ops.divide(e, reduce.sum_(e, -1, True))
        out["probs"] = structure.astype(p, dtype) if dtype != p.dtype else p
        if dtype != z.dtype:
            out["teacher_logits"] = structure.astype(z, dtype)
    return out


def call_front(op: Any, fn: Any, args: list[Any], kwargs: dict[str, Any], framework: str | None) -> Any:
    """fn(*args, **kwargs) on interval arrays, through the front end of `framework`."""
    if framework == "jax":
        from . import jaxpr_front

        return jaxpr_front.call(fn, args, kwargs)
    if framework == "torch":
        from . import torch_front

        return torch_front.call(fn, args, kwargs)
    with numpy_front.patched_conversions(), np.errstate(all="ignore"):
        return fn(*args, **kwargs)


def _keywords(fn: Any, names: tuple[str, ...], inputs: dict[str, Any], labels: Any, world: Any,
              params: Any) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    for name in names:
        kw[name] = labels if name == "labels" else inputs[name]
    if accepts_teachers(fn):
        kw["teachers"] = world.teachers
    if params is not NO_PARAMS:
        kw["params"] = params
    return kw


def _unified(op: Any, dom: Space, inputs: dict[str, Any], labels: Any) -> Any:
    """The composition of `compose()` on intervals: each component in its own framework, then
    product-then-normalize in log space exactly as `compose._Unified.__call__` computes it."""
    from ..spec.compose import _to_joint
    from ..spec.inputs import keyword_inputs
    w = dom.world
    B = next(iter(inputs.values())).shape[0]
    K, V, M = w.teachers, w.vocab, w.tasks
    unread = {"probs": np.full((B, K, V), 1.0 / V), "context": np.zeros((B, w.context_dim)),
              "losses": np.zeros((B, M, K)), "sizes": np.ones((B, M))}  # inputs no component reads
    inputs = {**unread, **inputs}
    logs = []
    for comp in op.components:
        scale = SCALES[comp.scale]
        names = keyword_inputs(comp.fn, comp.scale)
        kw = _keywords(comp.fn, names, inputs, labels, dom.world, NO_PARAMS)
        w = call_front(comp, comp.fn, [inputs[n] for n in scale.inputs], kw, comp.framework)
        with numpy_front.patched_conversions(), np.errstate(all="ignore"):
            w = structure.astype(w, np.float64) if isinstance(w, Interval) else np.asarray(w, dtype=np.float64)
            lw = ops.unary("log", w) if isinstance(w, Interval) else np.log(w)
            logs.append(np.broadcast_to(_to_joint(lw, scale.axes), (B, M, K, V)))
    with numpy_front.patched_conversions(), np.errstate(all="ignore"):
        total = sum(logs)
        top = np.max(total, axis=2, keepdims=True)
        top = np.where(np.isfinite(top), top, 0.0)
        e = np.exp(total - top)
        return e / e.sum(axis=2, keepdims=True)


def on_boxes(op: Any, dom: Space, lo: np.ndarray, hi: np.ndarray, labels: np.ndarray | None = None,
             params: Any = NO_PARAMS, force: dict[int, np.ndarray] | None = None, order: bool = True,
             second: bool = False) -> Enclosed:
    """The operator's weights on the boxes [B, n] (labels [B] when enumerated), canonical `W[B, R, K]`.

    `force` makes the open continuous choices (kinks) as given instead of taking hulls (`Trace.choice`).
    """
    N = lo.shape[0]
    tr = Trace(N, dom.n)
    tr.force = force
    tr.want_order = order
    tr.second = second and dom.n <= MAX_N
    inputs = interval_inputs(dom, lo, hi, tr, input_dtype(op))
    if SCALES[op.scale].composition:
        w = _unified(op, dom, inputs, labels)
    else:
        kw = _keywords(op.fn, dom.keywords, inputs, labels, dom.world, params)
        w = call_front(op, op.fn, [inputs[n] for n in dom.positional], kw, op.framework)
    tr.settle()  # jumps that structured rules proved harmless, if nothing else used them
    if not isinstance(w, Interval):
        try:
            w = constant(np.asarray(w), tr)
        except Exception as exc:  # noqa: BLE001 - an output the core cannot read is unknown, not a crash
            raise Unenclosable(f"the operator returned {type(w).__name__}, not an array") from exc
    expected = [s for s in DOMAINS[op.scale].expected_shape(dom.world, N)]
    if w.shape not in expected:
        raise Unenclosable(f"the operator returned shape {w.shape} on interval inputs, expected "
                           f"{' or '.join(str(s) for s in expected)}")
    with numpy_front.patched_conversions():
        W = DOMAINS[op.scale].canonical(w)
    if not W.has_jac:
        z = np.zeros(W.shape + (dom.n,))
        W = Interval(W.lo, W.hi, z, z, dtype=W.dtype, trace=tr, nan=W.nan, rowdep=True, tags=W.tags)
    return Enclosed(W, tr)


def at_points(op: Any, dom: Space, u: np.ndarray, labels: np.ndarray | None = None,
              params: Any = NO_PARAMS) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The real operator at points u [B, n]: (the inputs by name, the weights `W[B, R, K]`)."""
    arrays = arrays_at(dom, u)
    if labels is not None:
        arrays["labels"] = np.asarray(labels, dtype=np.int64)
    fn = adapt(op.fn, op.framework)
    kw = _keywords(op.fn, dom.keywords, arrays, arrays.get("labels"), dom.world, params)
    with np.errstate(all="ignore"):
        w = np.asarray(fn(*[arrays[n] for n in dom.positional], **kw))
    return arrays, DOMAINS[op.scale].canonical(w)
