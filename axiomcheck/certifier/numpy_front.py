"""The numpy front end: an unmodified numpy operator runs on interval arrays (NEP 13 and NEP 18).

numpy hands every ufunc call (`np.exp(x)`, `x + y`, `np.maximum`) to
`Interval.__array_ufunc__` and every array function (`np.sum`, `np.where`,
`np.einsum`, ...) to `Interval.__array_function__`; both land here and are
mapped to the interval core.  Anything without a rule raises `Unenclosable`
naming the call, so the check becomes "unknown", never "proved".

`np.asarray` and `np.array` are not overridable: they would call `__array__`
(which refuses).  Operators routinely start with `x = np.asarray(x, dtype=np.float64)`,
so while an operator runs under `patched_conversions()` those module
attributes pass interval arrays through (cast when a dtype is asked for); a
conversion bound by name elsewhere (`from numpy import asarray`) still refuses.
The patch is process-wide for the duration of the call (a lock keeps two
certifications from interleaving).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from . import logic, ops, reduce, structure
from .interval import Interval, Unenclosable, lift, trace_of

_BINARY = {"add": ops.add, "subtract": ops.subtract, "multiply": ops.multiply, "divide": ops.divide,
           "true_divide": ops.divide, "power": ops.power, "float_power": ops.power,
           "maximum": lambda a, b: logic.extremum("max", a, b), "minimum": lambda a, b: logic.extremum("min", a, b),
           "fmax": lambda a, b: logic.extremum("max", a, b, ignore_nan=True),
           "fmin": lambda a, b: logic.extremum("min", a, b, ignore_nan=True),
           "logical_and": lambda a, b: logic.logical("and", a, b), "logical_or": lambda a, b: logic.logical("or", a, b),
           "logical_xor": lambda a, b: logic.logical("xor", a, b), "logaddexp": lambda a, b: ops.logaddexp(a, b),
           "matmul": reduce.matmul}
for _c in ("greater", "greater_equal", "less", "less_equal", "equal", "not_equal"):
    _BINARY[_c] = (lambda name: (lambda a, b: logic.compare(name, a, b)))(_c)

_UNARY = {"negative": ops.negative, "positive": lambda a: a, "absolute": ops.absolute, "fabs": ops.absolute,
          "square": ops.square, "reciprocal": ops.reciprocal, "logical_not": logic.logical_not,
          "isfinite": lambda a: logic.classify("isfinite", a), "isnan": lambda a: logic.classify("isnan", a),
          "isinf": lambda a: logic.classify("isinf", a),
          "exp2": lambda a: ops.unary("exp", ops.multiply(a, np.log(2.0))),
          "log2": lambda a: ops.multiply(ops.unary("log", a), 1.0 / np.log(2.0)),
          "log10": lambda a: ops.multiply(ops.unary("log", a), 1.0 / np.log(10.0))}
for _m in ops.MONOTONE:
    _UNARY[_m] = (lambda name: (lambda a: ops.unary(name, a)))(_m)
for _s in ("sign", "floor", "ceil", "trunc", "rint"):
    _UNARY[_s] = (lambda name: (lambda a: ops.step_function(name, a)))(_s)

_REDUCE = {"add": lambda x, axis, keepdims: reduce.sum_(x, axis, keepdims),
           "maximum": lambda x, axis, keepdims: reduce.extreme(x, axis, keepdims, "max"),
           "minimum": lambda x, axis, keepdims: reduce.extreme(x, axis, keepdims, "min"),
           "logical_and": lambda x, axis, keepdims: reduce.any_all(x, axis, keepdims, "all"),
           "logical_or": lambda x, axis, keepdims: reduce.any_all(x, axis, keepdims, "any"),
           "multiply": lambda x, axis, keepdims: reduce.prod(x, axis, keepdims)}


def _store(out: Any, value: Interval) -> Interval:
    target = out[0] if isinstance(out, tuple) else out
    if not isinstance(target, Interval):
        raise Unenclosable("a numpy call writing interval values into a plain array (out=)")
    structure.setitem(target, Ellipsis, value)
    return target


def array_ufunc(ufunc: Any, method: str, inputs: tuple, kwargs: dict) -> Any:
    name = ufunc.__name__
    out = kwargs.pop("out", None)
    if kwargs.pop("where", True) is not True:
        raise Unenclosable(f"np.{name}(..., where=...)")
    dtype = kwargs.pop("dtype", None)
    kwargs.pop("casting", None)
    kwargs.pop("order", None)
    if method == "__call__":
        if dtype is not None:
            inputs = tuple(structure.astype(x, dtype) if isinstance(x, Interval) else np.asarray(x, dtype)
                           for x in inputs)
        if name in _BINARY and len(inputs) == 2:
            value = _BINARY[name](*inputs)
        elif name in _UNARY and len(inputs) == 1:
            value = _UNARY[name](*inputs)
        elif name == "clip" and len(inputs) == 3:
            value = logic.clip(*inputs)
        else:
            raise Unenclosable(f"numpy ufunc np.{name} has no interval rule")
    elif method == "reduce" and name in _REDUCE:
        x = inputs[0]
        axis = kwargs.pop("axis", 0)
        value = _REDUCE[name](x, axis, kwargs.pop("keepdims", False))
    else:
        raise Unenclosable(f"numpy ufunc method np.{name}.{method} has no interval rule")
    if kwargs:
        raise Unenclosable(f"np.{name} with {sorted(kwargs)}")
    return _store(out, value) if out is not None else value


# ----------------------------------------------------------------------------- array functions


def _like(kind: str) -> Any:
    def make(a: Any, dtype: Any = None, order: Any = "K", subok: bool = True, shape: Any = None,
             fill_value: Any = None, **kw: Any) -> Interval:
        tr = trace_of(a)
        shp = a.shape if shape is None else tuple(np.atleast_1d(shape))
        dt = np.dtype(dtype) if dtype is not None else a.dtype
        value = {"zeros": 0.0, "ones": 1.0, "empty": 0.0, "full": fill_value}[kind]
        arr = np.full(shp, value, dtype=dt)
        return lift(arr, tr)
    return make


def _full_like(a: Any, fill_value: Any, dtype: Any = None, **kw: Any) -> Interval:
    return _like("full")(a, dtype=dtype, fill_value=fill_value, **kw)


def _where(cond: Any, x: Any = None, y: Any = None) -> Interval:
    if x is None or y is None:
        raise Unenclosable("np.where(condition) with one argument (positions that depend on the values)")
    return logic.where(cond, x, y, "np.where")


def _select(condlist: Any, choicelist: Any, default: Any = 0) -> Interval:
    out: Any = default
    for c, v in reversed(list(zip(condlist, choicelist))):
        out = logic.where(c, v, out, "np.select")
    return out


def _var(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: int = 0, keepdims: bool = False,
         **kw: Any) -> Interval:
    m = reduce.mean(a, axis, True)
    d = ops.subtract(a, m)
    x = lift(a, trace_of(a))
    axes = reduce._axes(x, axis)
    n = int(np.prod([x.shape[i] for i in axes]))
    s = reduce.sum_(ops.square(d), axis, keepdims)
    return ops.divide(s, float(n - ddof))


def _nan_to_num(x: Any, copy: bool = True, nan: float = 0.0, posinf: Any = None, neginf: Any = None) -> Any:
    X = lift(x, trace_of(x))
    big = np.finfo(X.dtype).max if X.dtype.kind == "f" else np.finfo(np.float64).max
    posinf = big if posinf is None else posinf
    neginf = -big if neginf is None else neginf
    if X.nan is None and np.all(np.isfinite(X.lo)) and np.all(np.isfinite(X.hi)):
        return X
    finite = logic.classify("isfinite", X)
    repl = logic.where(logic.classify("isnan", X), nan, logic.where(logic.compare("greater", X, 0.0), posinf, neginf))
    return logic.where(finite, X, repl, "np.nan_to_num")


def _hstack(tup: Any, **kw: Any) -> Interval:
    tr = trace_of(*tup)
    xs = [lift(t, tr) for t in tup]
    return structure.concatenate(xs, axis=0 if xs[0].ndim == 1 else 1)


def _broadcast_arrays(*args: Any, **kw: Any) -> list[Any]:
    shape = np.broadcast_shapes(*(np.shape(a) for a in args))
    return [structure.broadcast_to(a, shape) if isinstance(a, Interval) else np.broadcast_to(a, shape)
            for a in args]


_FUNCTIONS: dict[str, Any] = {
    "sum": reduce.sum_, "mean": reduce.mean, "amax": lambda a, axis=None, out=None, keepdims=False, **kw:
    reduce.extreme(a, axis, keepdims, "max", out, **kw), "max": lambda a, axis=None, out=None, keepdims=False, **kw:
    reduce.extreme(a, axis, keepdims, "max", out, **kw), "amin": lambda a, axis=None, out=None, keepdims=False, **kw:
    reduce.extreme(a, axis, keepdims, "min", out, **kw), "min": lambda a, axis=None, out=None, keepdims=False, **kw:
    reduce.extreme(a, axis, keepdims, "min", out, **kw),
    "argmax": lambda a, axis=None, **kw: reduce.argext(a, axis, "max", **kw),
    "argmin": lambda a, axis=None, **kw: reduce.argext(a, axis, "min", **kw),
    "prod": reduce.prod, "any": lambda a, axis=None, out=None, keepdims=False, **kw:
    reduce.any_all(a, axis, keepdims, "any"), "all": lambda a, axis=None, out=None, keepdims=False, **kw:
    reduce.any_all(a, axis, keepdims, "all"),
    "var": _var, "std": lambda *a, **kw: ops.unary("sqrt", _var(*a, **kw)),
    "clip": lambda a, a_min=None, a_max=None, out=None, **kw: logic.clip(a, a_min, a_max, out=out),
    "where": _where, "select": _select, "nan_to_num": _nan_to_num,
    "reshape": lambda a, shape=None, order="C", **kw: structure.reshape(a, shape if shape is not None
                                                                        else kw["newshape"], order),
    "transpose": lambda a, axes=None: structure.transpose(a, axes),
    "swapaxes": structure.swapaxes, "moveaxis": structure.moveaxis,
    "squeeze": lambda a, axis=None: structure.squeeze(a, axis),
    "expand_dims": structure.expand_dims, "broadcast_to": lambda a, shape, subok=False: structure.broadcast_to(a, shape),
    "broadcast_arrays": _broadcast_arrays,
    "concatenate": lambda arrays, axis=0, out=None, dtype=None, **kw: structure.concatenate(arrays, axis, dtype),
    "stack": lambda arrays, axis=0, out=None, **kw: structure.stack(arrays, axis), "hstack": _hstack,
    "repeat": lambda a, repeats, axis=None: structure.repeat(a, repeats, axis),
    "tile": structure.tile, "take_along_axis": structure.take_along_axis,
    "take": lambda a, indices, axis=None, out=None, mode="raise": structure.take(a, indices, axis),
    "flip": lambda m, axis=None: structure.flip(m, axis),
    "sort": lambda a, axis=-1, kind=None, order=None, **kw: reduce.sort(a, axis),
    "copy": lambda a, order="K", subok=False: structure.copy(a),
    "einsum": reduce.einsum, "dot": reduce.dot, "tensordot": reduce.tensordot,
    "matmul": reduce.matmul,
    "zeros_like": _like("zeros"), "ones_like": _like("ones"), "empty_like": _like("empty"),
    "full_like": _full_like,
    "shape": lambda a: a.shape, "ndim": lambda a: a.ndim, "size": lambda a, axis=None: a.size if axis is None
    else a.shape[axis],
    "result_type": lambda *xs: np.result_type(*[x.dtype if isinstance(x, Interval) else x for x in xs]),
    "round": lambda a, decimals=0, out=None: ops.step_function("rint", a) if decimals == 0 else _no("round"),
    "around": lambda a, decimals=0, out=None: ops.step_function("rint", a) if decimals == 0 else _no("around"),
    "atleast_1d": lambda *a: a[0] if len(a) == 1 else list(a),
    "ravel": lambda a, order="C": structure.reshape(a, (-1,)),
}


def _no(name: str) -> Any:
    raise Unenclosable(f"numpy function np.{name} with these arguments has no interval rule")


def array_function(func: Any, types: Any, args: tuple, kwargs: dict) -> Any:
    name = getattr(func, "__name__", str(func))
    module = getattr(func, "__module__", "") or ""
    if name in _FUNCTIONS and (module.startswith("numpy") or module == ""):
        return _FUNCTIONS[name](*args, **kwargs)
    raise Unenclosable(f"numpy function {module}.{name} has no interval rule")


# ----------------------------------------------------------------------------- conversions


_LOCK = threading.RLock()
_ORIGINAL = {name: getattr(np, name) for name in ("asarray", "array", "asanyarray", "ascontiguousarray")}


def _holds_interval(a: Any) -> bool:
    if isinstance(a, Interval):
        return True
    if isinstance(a, (list, tuple)):
        return any(_holds_interval(x) for x in a)
    return False


def _converter(name: str) -> Any:
    original = _ORIGINAL[name]

    def convert(a: Any, dtype: Any = None, *args: Any, **kwargs: Any) -> Any:
        if isinstance(a, Interval):
            if dtype is not None and np.dtype(dtype) != a.dtype:
                return structure.astype(a, dtype)
            if name == "array" and kwargs.get("copy", True) is not False:
                return structure.copy(a)
            return a
        if _holds_interval(a):
            raise Unenclosable(f"np.{name} of a list holding interval arrays")
        return original(a, dtype, *args, **kwargs)

    convert.__name__ = name
    return convert


@contextlib.contextmanager
def patched_conversions() -> Iterator[None]:
    """While a numpy operator runs on intervals: `np.asarray(interval)` passes it through."""
    with _LOCK:
        saved = {name: getattr(np, name) for name in _ORIGINAL}
        try:
            for name in _ORIGINAL:
                setattr(np, name, _converter(name))
            yield
        finally:
            for name, fn in saved.items():
                setattr(np, name, fn)


def _ufunc_protocol(self: Interval, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
    return array_ufunc(ufunc, method, inputs, kwargs)


def _function_protocol(self: Interval, func: Any, types: Any, args: tuple, kwargs: dict) -> Any:
    return array_function(func, types, args, kwargs)


# NEP 13 / NEP 18: numpy hands interval arrays' calls to this module
Interval.__array_ufunc__ = _ufunc_protocol  # type: ignore[attr-defined]
Interval.__array_function__ = _function_protocol  # type: ignore[attr-defined]
