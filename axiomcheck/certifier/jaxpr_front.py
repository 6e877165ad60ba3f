"""The JAX front end: trace the unmodified operator to a jaxpr, then interpret it on interval arrays.

JAX has no dispatch protocol for foreign arrays, but `jax.make_jaxpr` turns an
operator into a short program of primitives.  Each equation is run here by a
rule matched on the primitive's name (`RULES`); nested programs (`jit`,
`pjit`, `closed_call`, `custom_jvp_call`, `custom_vjp_call`, `remat`) are
interpreted recursively (a custom JVP's primal, which is what the operator
computes).  An equation whose inputs are all constants is evaluated by JAX
itself; data movement with constant indices (`gather`, `dynamic_slice`,
`rev`, ...) is found by running the primitive on an array of positions.  A
primitive without a rule raises `Unenclosable` naming it.  Every result is
rounded outwards to the dtype the jaxpr says it has (float32 unless
`jax_enable_x64`), which is where the operator's float32 arithmetic lives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import logic, ops, reduce, structure
from .core import Interval, Unenclosable, trace_of


def _lax_cmp(name: str) -> Callable[..., Any]:
    return lambda e, a, b: logic.compare(name, a, b)


def _unary(name: str) -> Callable[..., Any]:
    return lambda e, a: ops.unary(name, a)


def _broadcast_in_dim(e: Any, x: Any) -> Any:
    shape, dims = tuple(e.params["shape"]), tuple(e.params["broadcast_dimensions"])
    mid = [1] * len(shape)
    for i, d in enumerate(dims):
        mid[d] = x.shape[i]
    y = structure.reshape(x, tuple(mid)) if tuple(mid) != x.shape else x
    return structure.broadcast_to(y, shape) if y.shape != shape else y


def _dot_general(e: Any, a: Any, b: Any) -> Any:
    (lc, rc), (lb, rb) = e.params["dimension_numbers"]
    letters = iter("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    la = [next(letters) for _ in range(a.ndim)]
    lr: list[str | None] = [None] * b.ndim
    for i, j in zip(lb, rb):
        lr[j] = la[i]
    for i, j in zip(lc, rc):
        lr[j] = la[i]
    lr = [c if c is not None else next(letters) for c in lr]
    free_a = [la[i] for i in range(a.ndim) if i not in lb and i not in lc]
    free_b = [lr[j] for j in range(b.ndim) if j not in rb and j not in rc]
    out = "".join([la[i] for i in lb] + free_a + free_b)
    return reduce.einsum(f"{''.join(la)},{''.join(lr)}->{out}", a, b)


def _select_n(e: Any, pred: Any, *cases: Any) -> Any:
    if len(cases) != 2:
        raise Unenclosable(f"select_n with {len(cases)} cases")
    if not isinstance(pred, Interval) and np.asarray(pred).dtype != np.bool_:
        raise Unenclosable("select_n with an integer selector")
    return logic.where(pred, cases[1], cases[0], "select_n")


def _reduce(kind: str) -> Callable[..., Any]:
    def rule(e: Any, x: Any) -> Any:
        axes = tuple(e.params["axes"])
        if kind == "sum":
            return reduce.sum_(x, axes)
        if kind in ("max", "min"):
            return reduce.extreme(x, axes, False, kind)
        return reduce.any_all(x, axes, False, kind)
    return rule


def _arg(kind: str) -> Callable[..., Any]:
    def rule(e: Any, x: Any) -> Any:
        (ax,) = e.params["axes"]
        return np.asarray(reduce.argext(x, ax, kind), dtype=e.params["index_dtype"])
    return rule


def _convert(e: Any, x: Any) -> Any:
    return structure.astype(x, np.dtype(e.params["new_dtype"]))


def _moved(e: Any, *args: Any) -> Any:
    """A data-movement primitive with constant parameters: run it on positions, then index the interval."""
    import jax.numpy as jnp

    x = args[0]
    rest = args[1:]
    if any(isinstance(r, Interval) for r in rest):
        raise Unenclosable(f"{e.primitive.name} with interval indices")
    pos = np.arange(x.size, dtype=np.int32).reshape(x.shape)
    moved = np.asarray(e.primitive.bind(jnp.asarray(pos), *[jnp.asarray(r) for r in rest], **e.params))
    if moved.size and (moved.min() < 0 or moved.max() >= x.size):
        raise Unenclosable(f"{e.primitive.name} reading out of bounds")
    return structure.getitem(x, np.unravel_index(moved, x.shape))


def _concatenate(e: Any, *xs: Any) -> Any:
    return structure.concatenate(list(xs), e.params["dimension"])


def _clamp(e: Any, lo: Any, x: Any, hi: Any) -> Any:
    return logic.clip(x, lo, hi)


def _sort(e: Any, *xs: Any) -> Any:
    if len(xs) != 1:
        raise Unenclosable("sort of several operands together")
    return [reduce.sort(xs[0], e.params["dimension"])]


RULES: dict[str, Callable[..., Any]] = {
    "add": lambda e, a, b: ops.add(a, b), "sub": lambda e, a, b: ops.subtract(a, b),
    "mul": lambda e, a, b: ops.multiply(a, b), "div": lambda e, a, b: ops.divide(a, b),
    "neg": lambda e, a: ops.negative(a), "max": lambda e, a, b: logic.extremum("max", a, b),
    "min": lambda e, a, b: logic.extremum("min", a, b), "abs": lambda e, a: ops.absolute(a),
    "sign": lambda e, a: ops.step_function("sign", a), "floor": lambda e, a: ops.step_function("floor", a),
    "ceil": lambda e, a: ops.step_function("ceil", a), "round": lambda e, a: ops.step_function("rint", a),
    "integer_pow": lambda e, a: ops.integer_pow(a, int(e.params["y"])), "square": lambda e, a: ops.square(a),
    "pow": lambda e, a, b: ops.power(a, b), "rsqrt": lambda e, a: ops.divide(1.0, ops.unary("sqrt", a)),
    "exp2": lambda e, a: ops.unary("exp", ops.multiply(a, np.asarray(np.log(2.0), dtype=a.dtype))),
    "gt": _lax_cmp("greater"), "ge": _lax_cmp("greater_equal"), "lt": _lax_cmp("less"),
    "le": _lax_cmp("less_equal"), "eq": _lax_cmp("equal"), "ne": _lax_cmp("not_equal"),
    "and": lambda e, a, b: logic.logical("and", a, b), "or": lambda e, a, b: logic.logical("or", a, b),
    "xor": lambda e, a, b: logic.logical("xor", a, b), "not": lambda e, a: logic.logical_not(a),
    "is_finite": lambda e, a: logic.classify("isfinite", a),
    "select_n": _select_n, "clamp": _clamp,
    "reduce_sum": _reduce("sum"), "reduce_max": _reduce("max"), "reduce_min": _reduce("min"),
    "reduce_and": _reduce("all"), "reduce_or": _reduce("any"), "argmax": _arg("max"), "argmin": _arg("min"),
    "broadcast_in_dim": _broadcast_in_dim,
    "reshape": lambda e, a, *dyn: structure.reshape(a, tuple(e.params["new_sizes"])),
    "squeeze": lambda e, a: structure.squeeze(a, tuple(e.params["dimensions"])),
    "expand_dims": lambda e, a: structure.expand_dims(a, tuple(e.params["dimensions"])),
    "transpose": lambda e, a: structure.transpose(a, tuple(e.params["permutation"])),
    "convert_element_type": _convert, "dot_general": _dot_general, "concatenate": _concatenate,
    "stop_gradient": lambda e, a: a, "copy": lambda e, a: a, "copy_p": lambda e, a: a,
    "optimization_barrier": lambda e, *a: list(a), "sort": _sort,
    "gather": _moved, "dynamic_slice": _moved, "slice": _moved, "rev": _moved,
}
for _name in ("exp", "log", "log1p", "expm1", "tanh", "logistic", "sqrt"):
    RULES[_name] = _unary(_name)

#: Primitives holding a program to interpret, and the parameter that holds it.
NESTED = {"pjit": "jaxpr", "jit": "jaxpr", "closed_call": "call_jaxpr", "core_call": "call_jaxpr",
          "custom_jvp_call": "call_jaxpr", "custom_vjp_call": "call_jaxpr", "custom_vjp_call_jaxpr": "fun_jaxpr",
          "remat": "jaxpr", "checkpoint": "jaxpr", "remat2": "jaxpr"}


def _const(v: Any, aval: Any) -> np.ndarray:
    return np.asarray(v, dtype=np.dtype(aval.dtype))


def _as_aval(x: Any, aval: Any) -> Any:
    """A rule's result in the dtype the jaxpr says it has (outward rounding for intervals)."""
    dtype = np.dtype(aval.dtype)
    if isinstance(x, Interval):
        return x if x.dtype == dtype else structure.astype(x, dtype)
    return np.asarray(x, dtype=dtype)


def interpret(jaxpr: Any, consts: list[Any], args: list[Any]) -> list[Any]:
    """Run `jaxpr` on interval and plain arrays."""
    env: dict[Any, Any] = {}

    def read(v: Any) -> Any:
        if hasattr(v, "val"):  # a literal
            return _const(v.val, v.aval)
        return env[v]

    for v, c in zip(jaxpr.constvars, consts):
        env[v] = np.asarray(c)
    for v, a in zip(jaxpr.invars, args):
        env[v] = a
    for e in jaxpr.eqns:
        name = e.primitive.name
        ins = [read(v) for v in e.invars]
        if not any(isinstance(x, Interval) for x in ins):
            outs = e.primitive.bind(*ins, **e.params)
            outs = outs if e.primitive.multiple_results else [outs]
            outs = [np.asarray(o) for o in outs]
        elif name in NESTED:
            inner = e.params[NESTED[name]]
            closed_consts = list(getattr(inner, "consts", []))
            inner_jaxpr = getattr(inner, "jaxpr", inner)
            outs = interpret(inner_jaxpr, closed_consts, ins)
        elif name in RULES:
            res = RULES[name](e, *ins)
            outs = res if isinstance(res, list) else [res]
        else:
            raise Unenclosable(f"the JAX primitive {name!r} has no interval rule")
        for v, o in zip(e.outvars, outs):
            env[v] = _as_aval(o, v.aval)
    return [read(v) for v in jaxpr.outvars]


def call(fn: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """fn(*args, **kwargs) for a JAX operator, with interval arrays among the arguments."""
    import jax
    import jax.numpy as jnp

    tr = trace_of(*args, *kwargs.values())
    names = [("arg", i) for i, a in enumerate(args) if isinstance(a, Interval)]
    names += [("kw", k) for k, a in kwargs.items() if isinstance(a, Interval)]
    intervals = [args[i] if kind == "arg" else kwargs[i] for kind, i in names]
    fixed_args = [a if isinstance(a, Interval) else _static(a, jnp) for a in args]
    fixed_kw = {k: (a if isinstance(a, Interval) else _static(a, jnp)) for k, a in kwargs.items()}

    def traced(*xs: Any) -> Any:
        a, kw = list(fixed_args), dict(fixed_kw)
        for (kind, i), x in zip(names, xs):
            if kind == "arg":
                a[i] = x
            else:
                kw[i] = x
        return fn(*a, **kw)

    specs = [jax.ShapeDtypeStruct(x.shape, x.dtype) for x in intervals]
    # the function itself (not its id) is in the key: a cached program never outlives its function
    key = (fn, tuple((s.shape, str(s.dtype)) for s in specs), tuple(names), _key(args), _key(kwargs))
    closed = _CACHE.get(key)
    if closed is None:
        try:
            closed = jax.make_jaxpr(traced)(*specs)
        except Unenclosable:
            raise
        except Exception as exc:  # noqa: BLE001 - an operator JAX cannot trace (a Python branch on values)
            raise Unenclosable(f"jax.make_jaxpr of the operator failed ({type(exc).__name__}: {exc})") from exc
        if len(_CACHE) >= 32:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = closed
    outs = interpret(closed.jaxpr, list(closed.consts), intervals)
    if len(outs) != 1:
        raise Unenclosable(f"the operator returned {len(outs)} arrays")
    out = outs[0]
    return out if isinstance(out, Interval) else structure.copy(Interval(
        np.asarray(out, np.float64), np.asarray(out, np.float64), dtype=np.asarray(out).dtype, trace=tr))


_CACHE: dict[Any, Any] = {}  # traced programs by function, shapes and the constant arguments


class _ById:
    """An unhashable argument in a cache key: compared by identity and kept alive with the key (so its id
    cannot be reused by another object while the entry exists)."""

    def __init__(self, x: Any):
        self.x = x

    def __hash__(self) -> int:
        return id(self.x)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _ById) and other.x is self.x


def _key(x: Any) -> Any:
    """A hashable stand-in for the non-interval arguments (arrays by content)."""
    if isinstance(x, Interval):
        return "interval"
    if isinstance(x, np.ndarray):
        return (x.shape, str(x.dtype), x.tobytes())
    if isinstance(x, dict):
        return tuple((k, _key(v)) for k, v in sorted(x.items(), key=lambda kv: str(kv[0])))
    if isinstance(x, (list, tuple)):
        return tuple(_key(v) for v in x)
    try:
        hash(x)
        return x
    except TypeError:
        return _ById(x)


def _static(a: Any, jnp: Any) -> Any:
    """A non-interval argument as JAX sees it from the engine: arrays as jax arrays, the rest as is."""
    if isinstance(a, np.ndarray):
        return jnp.asarray(a)
    if isinstance(a, dict):
        return {k: _static(v, jnp) for k, v in a.items()}
    if isinstance(a, (list, tuple)):
        return type(a)(_static(v, jnp) for v in a)
    return a
