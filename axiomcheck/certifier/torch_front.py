"""The torch front end: an unmodified PyTorch operator runs on interval arrays through `__torch_function__`.

The operator receives `TorchInterval`s: objects that torch hands every call
made on them (`torch.exp(x)`, `x.sum(dim=1)`, `F.softmax(x, dim=-1)` — one call,
enclosed by the softmax rule — `x @ w`, `x[:, 0]`).  Each call is mapped by
name to the interval core with torch's argument conventions (`dim`,
`keepdim`); a call without a rule raises `Unenclosable` naming it.  torch is
imported only when a torch operator is certified.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import logic, ops, reduce, structure
from .core import Interval, Unenclosable


def _np_dtype(dtype: Any) -> np.dtype:
    import torch

    table = {torch.float64: np.float64, torch.float32: np.float32, torch.float16: np.float16,
             torch.int64: np.int64, torch.int32: np.int32, torch.bool: np.bool_}
    if dtype not in table:
        raise Unenclosable(f"torch dtype {dtype}")
    return np.dtype(table[dtype])


def _torch_dtype(dtype: np.dtype) -> Any:
    import torch

    return {"float64": torch.float64, "float32": torch.float32, "float16": torch.float16, "int64": torch.int64,
            "int32": torch.int32, "bool": torch.bool}[np.dtype(dtype).name]


def _un(x: Any) -> Any:
    """TorchInterval → Interval, tensors → numpy, containers through."""
    import torch

    if isinstance(x, TorchInterval):
        return x.iv
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, _MinMax):
        return _MinMax(_un(x[0]), _un(x[1]))
    if isinstance(x, (list, tuple)):
        return type(x)(_un(v) for v in x)
    return x


def _wrap(x: Any) -> Any:
    if isinstance(x, Interval):
        return TorchInterval(x)
    if isinstance(x, _MinMax):
        return _MinMax(_wrap(x[0]), _wrap(x[1]))
    if isinstance(x, (list, tuple)):
        return type(x)(_wrap(v) for v in x)
    if isinstance(x, np.ndarray):
        import torch

        return torch.from_numpy(np.array(x))
    return x


def _dim(kw: dict, args: tuple, i: int, default: Any = None) -> Any:
    if "dim" in kw:
        return kw.pop("dim")
    return args[i] if len(args) > i else default


def _reduction(kind: str) -> Callable[..., Any]:
    def rule(x: Interval, *args: Any, **kw: Any) -> Any:
        dim = _dim(kw, args, 0)
        keep = kw.pop("keepdim", args[1] if len(args) > 1 else False)
        if kind == "sum":
            return reduce.sum_(x, dim, keep, kw.pop("dtype", None) and _np_dtype(kw["dtype"]))
        if kind == "mean":
            return reduce.mean(x, dim, keep)
        if kind in ("max", "min"):
            if args and not isinstance(args[0], (int, np.integer)) and args[0] is not None:
                return logic.extremum(kind, x, args[0])  # torch.max(a, b): elementwise
            if dim is None:
                return reduce.extreme(x, None, False, kind)
            vals = reduce.extreme(x, dim, keep, kind)
            idx = reduce.argext(x, dim, kind)
            return _MinMax(vals, idx if not keep else np.expand_dims(idx, dim))
        if kind in ("amax", "amin"):
            return reduce.extreme(x, dim, keep, kind[1:])
        raise Unenclosable(kind)
    return rule


class _MinMax(tuple):
    """torch's (values, indices) result."""

    def __new__(cls, values: Any, indices: Any) -> _MinMax:
        return super().__new__(cls, (values, indices))

    @property
    def values(self) -> Any:
        return self[0]

    @property
    def indices(self) -> Any:
        return self[1]


def _softmax(x: Interval, *args: Any, log: bool = False, **kw: Any) -> Interval:
    dim = _dim(kw, args, 0, -1)
    if kw.get("dtype") is not None:
        x = structure.astype(x, _np_dtype(kw["dtype"]))
    m = reduce.extreme(x, dim, True, "max")
    y = ops.subtract(x, m)
    e = ops.unary("exp", y)
    s = reduce.sum_(e, dim, True)
    if log:
        return ops.subtract(y, ops.unary("log", s))
    return ops.divide(e, s)


def _logsumexp(x: Interval, *args: Any, **kw: Any) -> Interval:
    dim = _dim(kw, args, 0)
    keep = kw.pop("keepdim", args[1] if len(args) > 1 else False)
    m = reduce.extreme(x, dim, True, "max")
    s = reduce.sum_(ops.unary("exp", ops.subtract(x, m)), dim, True)
    out = ops.add(ops.unary("log", s), m)
    return out if keep else structure.squeeze(out, dim)


def _clamp(x: Interval, min: Any = None, max: Any = None) -> Interval:  # noqa: A002 - torch's names
    return logic.clip(x, min, max)


def _to(x: Interval, *args: Any, **kw: Any) -> Interval:
    dtype = kw.get("dtype")
    for a in args:
        if not isinstance(a, (str,)) and "dtype" in type(a).__name__.lower() or str(a).startswith("torch."):
            dtype = a
    return structure.astype(x, _np_dtype(dtype)) if dtype is not None else x


RULES: dict[str, Callable[..., Any]] = {
    "add": lambda a, b, alpha=1: ops.add(a, b if alpha == 1 else ops.multiply(b, alpha)),
    "__add__": ops.add, "__radd__": lambda a, b: ops.add(b, a), "sub": ops.subtract, "__sub__": ops.subtract,
    "__rsub__": lambda a, b: ops.subtract(b, a), "mul": ops.multiply, "__mul__": ops.multiply,
    "__rmul__": lambda a, b: ops.multiply(b, a), "div": ops.divide, "__truediv__": ops.divide,
    "true_divide": ops.divide, "__rtruediv__": lambda a, b: ops.divide(b, a), "neg": ops.negative,
    "__neg__": ops.negative, "pow": ops.power, "__pow__": ops.power, "__rpow__": lambda a, b: ops.power(b, a),
    "abs": ops.absolute, "__abs__": ops.absolute, "square": ops.square, "reciprocal": ops.reciprocal,
    "rsqrt": lambda a: ops.divide(1.0, ops.unary("sqrt", a)), "sign": lambda a: ops.step_function("sign", a),
    "sigmoid": lambda a: ops.unary("logistic", a), "relu": lambda a, inplace=False: logic.extremum("max", a, 0.0),
    "softplus": lambda a, beta=1.0, threshold=20.0: ops.logaddexp(a, 0.0) if beta == 1.0 else _no("softplus"),
    "maximum": lambda a, b: logic.extremum("max", a, b), "minimum": lambda a, b: logic.extremum("min", a, b),
    "clamp": _clamp, "clip": _clamp, "where": lambda c, a, b: logic.where(c, a, b, "torch.where"),
    "gt": lambda a, b: logic.compare("greater", a, b), "__gt__": lambda a, b: logic.compare("greater", a, b),
    "ge": lambda a, b: logic.compare("greater_equal", a, b),
    "__ge__": lambda a, b: logic.compare("greater_equal", a, b),
    "lt": lambda a, b: logic.compare("less", a, b), "__lt__": lambda a, b: logic.compare("less", a, b),
    "le": lambda a, b: logic.compare("less_equal", a, b), "__le__": lambda a, b: logic.compare("less_equal", a, b),
    "isfinite": lambda a: logic.classify("isfinite", a),
    "sum": _reduction("sum"), "mean": _reduction("mean"), "max": _reduction("max"), "min": _reduction("min"),
    "amax": _reduction("amax"), "amin": _reduction("amin"),
    "softmax": _softmax, "log_softmax": lambda x, *a, **kw: _softmax(x, *a, log=True, **kw),
    "logsumexp": _logsumexp,
    "matmul": reduce.matmul, "__matmul__": reduce.matmul, "__rmatmul__": lambda a, b: reduce.matmul(b, a),
    "mm": reduce.matmul, "bmm": reduce.matmul, "einsum": lambda spec, *xs: reduce.einsum(spec, *(
        xs[0] if len(xs) == 1 and isinstance(xs[0], (list, tuple)) else xs)),
    "linear": lambda x, w, b=None: ops.add(reduce.matmul(x, structure.transpose(w, None) if isinstance(w, Interval)
                                                        else np.asarray(w).T), b) if b is not None else
    reduce.matmul(x, np.asarray(w).T if not isinstance(w, Interval) else structure.transpose(w, None)),
    "reshape": lambda x, *shape: structure.reshape(x, shape[0] if len(shape) == 1 else shape),
    "view": lambda x, *shape: structure.reshape(x, shape[0] if len(shape) == 1 else shape),
    "unsqueeze": lambda x, dim: structure.expand_dims(x, dim),
    "squeeze": lambda x, dim=None: structure.squeeze(x, dim),
    "transpose": lambda x, a, b: structure.swapaxes(x, a, b), "permute": lambda x, *d: structure.transpose(
        x, d[0] if len(d) == 1 else d),
    "expand": lambda x, *shape: structure.broadcast_to(x, tuple(s if s != -1 else x.shape[i - (len(
        shape[0] if len(shape) == 1 else shape) - x.ndim)] for i, s in enumerate(shape[0] if len(shape) == 1
                                                                              else shape))),
    "cat": lambda xs, dim=0: structure.concatenate(list(xs), dim),
    "stack": lambda xs, dim=0: structure.stack(list(xs), dim),
    "sort": lambda x, dim=-1, descending=False: _no("sort") if descending else _MinMax(reduce.sort(x, dim), None),
    "__getitem__": structure.getitem, "to": _to, "double": lambda x: structure.astype(x, np.float64),
    "float": lambda x: structure.astype(x, np.float32), "clone": structure.copy, "contiguous": lambda x: x,
    "detach": lambda x: x, "type_as": lambda x, other: structure.astype(x, _un_dtype(other)),
    "as_tensor": lambda x, dtype=None, device=None: x if dtype is None else structure.astype(x, _np_dtype(dtype)),
    "gather": lambda x, dim, index: structure.take_along_axis(x, _un(index), dim),
    "take_along_dim": lambda x, index, dim=None: structure.take_along_axis(x, _un(index), dim),
}
for _n in ("exp", "log", "log1p", "expm1", "tanh", "sqrt"):
    RULES[_n] = (lambda name: (lambda a: ops.unary(name, a)))(_n)


def _un_dtype(other: Any) -> np.dtype:
    return other.iv.dtype if isinstance(other, TorchInterval) else _np_dtype(other.dtype)


def _no(name: str) -> Any:
    raise Unenclosable(f"torch.{name} with these arguments has no interval rule")


class TorchInterval:
    """An `Interval` as torch sees it: every torch call on it comes back here."""

    def __init__(self, iv: Interval):
        self.iv = iv

    @classmethod
    def __torch_function__(cls, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        name = getattr(func, "__name__", str(func))
        rule = RULES.get(name)
        if rule is None:
            raise Unenclosable(f"the torch function {name!r} has no interval rule")
        res = rule(*_un(tuple(args)), **{k: _un(v) for k, v in (kwargs or {}).items()})
        return _wrap(res)

    # the attributes code reads on tensors
    @property
    def shape(self) -> Any:
        import torch

        return torch.Size(self.iv.shape)

    @property
    def dtype(self) -> Any:
        return _torch_dtype(self.iv.dtype)

    @property
    def ndim(self) -> int:
        return self.iv.ndim

    @property
    def device(self) -> Any:
        import torch

        return torch.device("cpu")

    def size(self, dim: int | None = None) -> Any:
        return self.shape if dim is None else self.iv.shape[dim]

    def dim(self) -> int:
        return self.iv.ndim

    def __len__(self) -> int:
        return len(self.iv)

    def __getattr__(self, name: str) -> Any:
        import torch

        method = getattr(torch.Tensor, name, None)
        if method is None or name.startswith("_"):
            raise AttributeError(name)
        return lambda *a, **kw: TorchInterval.__torch_function__(method, (TorchInterval,), (self,) + a, kw)

    def _dispatch(self, name: str, *args: Any) -> Any:
        import torch

        return TorchInterval.__torch_function__(getattr(torch.Tensor, name), (TorchInterval,), (self,) + args, {})

    def __add__(self, o): return self._dispatch("__add__", o)
    def __radd__(self, o): return self._dispatch("__radd__", o)
    def __sub__(self, o): return self._dispatch("__sub__", o)
    def __rsub__(self, o): return self._dispatch("__rsub__", o)
    def __mul__(self, o): return self._dispatch("__mul__", o)
    def __rmul__(self, o): return self._dispatch("__rmul__", o)
    def __truediv__(self, o): return self._dispatch("__truediv__", o)
    def __rtruediv__(self, o): return self._dispatch("__rtruediv__", o)
    def __pow__(self, o): return self._dispatch("__pow__", o)
    def __matmul__(self, o): return self._dispatch("__matmul__", o)
    def __neg__(self): return self._dispatch("__neg__")
    def __abs__(self): return self._dispatch("__abs__")
    def __gt__(self, o): return self._dispatch("__gt__", o)
    def __ge__(self, o): return self._dispatch("__ge__", o)
    def __lt__(self, o): return self._dispatch("__lt__", o)
    def __le__(self, o): return self._dispatch("__le__", o)
    def __getitem__(self, k): return self._dispatch("__getitem__", k)

    def __bool__(self) -> bool:
        return bool(self.iv)


def call(fn: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """fn(*args, **kwargs) for a torch operator, with interval arrays among the arguments."""
    import torch

    a = [TorchInterval(x) if isinstance(x, Interval) else _wrap(x) for x in args]
    kw = {k: (TorchInterval(v) if isinstance(v, Interval) else _wrap(v)) for k, v in kwargs.items()}
    with torch.inference_mode():
        out = fn(*a, **kw)
    out = _un(out)
    if isinstance(out, Interval):
        return out
    return np.asarray(out)
