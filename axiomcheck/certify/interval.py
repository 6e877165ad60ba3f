"""The interval array: a value enclosure and a Jacobian enclosure for every entry, one box per batch row.

An operator is evaluated once for many boxes at a time: row b of every input
is the box b of the domain, so every numpy call of the operator processes all
boxes.  An `Interval` holds, for an array the operator computes,

* `lo`, `hi` — float64 endpoints enclosing both the exact value and the float
  value the operator computes (see `rounding`), ±inf where it may overflow;
* `jlo`, `jhi` — `shape + (n,)` endpoints enclosing its Jacobian with respect
  to the n certified coordinates of its row's box (None: no dependence);
* `nan` — where the value may be NaN (None: nowhere);
* `dtype` — the dtype the operator really computes it in;
* `tags` — structure the rules of `rules.py` recognize (an `exp` of what, a sum
  of what along which axis, pairwise order relations, a proven sum along an axis).

Every entry of a row-dependent array depends on its own row only; an operation
that would mix or move the batch axis (axis 0) fails closed.  So does anything
the core cannot enclose: `bool()` of an interval (a Python branch),
`float()`, `np.asarray` of an interval outside the numpy front end (it raises
instead of making an object array): each raises `Unenclosable` with the call
named, and the check that needed it becomes "unknown".

Per row, the `Trace` keeps what the evaluation could not keep sound locally: a
row whose function may jump (a `where` whose condition is undecided on the
box) has no finite Lipschitz bound; a row poisoned by an undecided `argmax`
has no enclosure at all.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from . import rounding as R
from .trace import Trace, Unenclosable, row_any  # noqa: F401 - re-exported: the core's vocabulary

_UIDS = itertools.count(1)


class Interval:
    """An array of intervals (with Jacobian enclosures) that numpy, JAX and torch operators can run on."""

    __array_priority__ = 10_000
    __slots__ = ("lo", "hi", "jlo", "jhi", "hlo", "hhi", "nan", "dtype", "trace", "rowdep", "tags", "uid", "_views",
                 "stale", "is_view", "uses", "__weakref__")

    def __init__(self, lo: Any, hi: Any, jlo: Any = None, jhi: Any = None, *, dtype: Any, trace: Trace,
                 nan: Any = None, rowdep: bool | None = None, tags: dict | None = None, hlo: Any = None,
                 hhi: Any = None):
        self.lo = np.asarray(lo, dtype=np.float64)
        self.hi = np.asarray(hi, dtype=np.float64)
        if self.lo.shape != self.hi.shape:
            self.lo, self.hi = np.broadcast_arrays(self.lo, self.hi)
        self.jlo = None if jlo is None else np.asarray(jlo, dtype=np.float64)
        self.jhi = None if jhi is None else np.asarray(jhi, dtype=np.float64)
        self.hlo = hlo  # the Hessian enclosure, shape + (n, n), when the evaluation carries one (hessian.py)
        self.hhi = hhi
        self.nan = None if nan is None or not np.any(nan) else np.broadcast_to(np.asarray(nan, bool), self.lo.shape)
        self.dtype = np.dtype(dtype)
        self.trace = trace
        self.rowdep = bool(rowdep) if rowdep is not None else self.jlo is not None
        self.tags = tags if tags is not None else {}
        self.uid = next(_UIDS)
        self._views: list[Any] = []
        self.stale = False
        self.is_view = False
        self.uses = 0  # how many operations read this array (see Trace.settle)

    # ------------------------------------------------------------------ numpy-like surface

    @property
    def shape(self) -> tuple[int, ...]:
        return self.lo.shape

    @property
    def ndim(self) -> int:
        return self.lo.ndim

    @property
    def size(self) -> int:
        return int(self.lo.size)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d interval array")
        return self.shape[0]

    @property
    def has_jac(self) -> bool:
        return self.jlo is not None

    def mag(self) -> np.ndarray:
        """max |x| over the enclosure."""
        return np.maximum(np.abs(self.lo), np.abs(self.hi))

    def may_nan(self) -> np.ndarray:
        return np.zeros(self.shape, bool) if self.nan is None else np.asarray(self.nan)

    def jac_or_zero(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if self.jlo is not None:
            return self.jlo, self.jhi
        z = np.zeros(self.shape + (n,))
        return z, z

    def __repr__(self) -> str:
        return (f"Interval(shape={self.shape}, dtype={self.dtype}, lo={np.array2string(self.lo, threshold=8)}, "
                f"hi={np.array2string(self.hi, threshold=8)})")

    # ------------------------------------------------------------------ what cannot be enclosed

    def __bool__(self) -> bool:
        raise Unenclosable("a Python branch on an interval array (bool() of a comparison or of values: "
                           "an `if`, `while`, `and`/`or` on array values)")

    def __float__(self) -> float:
        raise Unenclosable("float() of an interval array (the operator turned an array into a Python number)")

    def __int__(self) -> int:
        raise Unenclosable("int() of an interval array")

    def __index__(self) -> int:
        raise Unenclosable("an interval array used as an index")

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise Unenclosable("np.asarray/np.array of an interval array outside the calls the certifier "
                           "intercepts (a conversion to a plain array)")

    def __iter__(self) -> Any:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d interval array")
        return (self[i] for i in range(self.shape[0]))

    def tolist(self) -> Any:
        raise Unenclosable("tolist() of an interval array")

    def item(self, *args: Any) -> Any:
        raise Unenclosable("item() of an interval array")

    # ------------------------------------------------------------------ operators (ops.py does the work)

    def __add__(self, o): return _ops().add(self, o)
    def __radd__(self, o): return _ops().add(o, self)
    def __sub__(self, o): return _ops().subtract(self, o)
    def __rsub__(self, o): return _ops().subtract(o, self)
    def __mul__(self, o): return _ops().multiply(self, o)
    def __rmul__(self, o): return _ops().multiply(o, self)
    def __truediv__(self, o): return _ops().divide(self, o)
    def __rtruediv__(self, o): return _ops().divide(o, self)
    def __pow__(self, o): return _ops().power(self, o)
    def __rpow__(self, o): return _ops().power(o, self)
    def __neg__(self): return _ops().negative(self)
    def __pos__(self): return self
    def __abs__(self): return _ops().absolute(self)
    def __gt__(self, o): return _logic().compare("greater", self, o)
    def __ge__(self, o): return _logic().compare("greater_equal", self, o)
    def __lt__(self, o): return _logic().compare("less", self, o)
    def __le__(self, o): return _logic().compare("less_equal", self, o)
    def __eq__(self, o): return _logic().compare("equal", self, o)  # type: ignore[override]
    def __ne__(self, o): return _logic().compare("not_equal", self, o)  # type: ignore[override]
    def __and__(self, o): return _logic().logical("and", self, o)
    def __rand__(self, o): return _logic().logical("and", o, self)
    def __or__(self, o): return _logic().logical("or", self, o)
    def __ror__(self, o): return _logic().logical("or", o, self)
    def __invert__(self): return _logic().logical_not(self)
    def __matmul__(self, o): return _reduce().matmul(self, o)
    def __rmatmul__(self, o): return _reduce().matmul(o, self)
    __hash__ = None  # type: ignore[assignment]

    def __iadd__(self, o): return _inplace(self, _ops().add(self, o))
    def __isub__(self, o): return _inplace(self, _ops().subtract(self, o))
    def __imul__(self, o): return _inplace(self, _ops().multiply(self, o))
    def __itruediv__(self, o): return _inplace(self, _ops().divide(self, o))

    def __getitem__(self, key): return _struct().getitem(self, key)
    def __setitem__(self, key, value): _struct().setitem(self, key, value)

    # ------------------------------------------------------------------ array methods

    def sum(self, axis=None, dtype=None, out=None, keepdims=False, **kw): return _reduce().sum_(self, axis, keepdims, dtype, out, **kw)
    def mean(self, axis=None, dtype=None, out=None, keepdims=False, **kw): return _reduce().mean(self, axis, keepdims, dtype, out, **kw)
    def max(self, axis=None, out=None, keepdims=False, **kw): return _reduce().extreme(self, axis, keepdims, "max", out, **kw)
    def min(self, axis=None, out=None, keepdims=False, **kw): return _reduce().extreme(self, axis, keepdims, "min", out, **kw)
    def argmax(self, axis=None, **kw): return _reduce().argext(self, axis, "max", **kw)
    def argmin(self, axis=None, **kw): return _reduce().argext(self, axis, "min", **kw)
    def reshape(self, *shape, **kw): return _struct().reshape(self, shape[0] if len(shape) == 1 else shape, **kw)
    def transpose(self, *axes): return _struct().transpose(self, axes[0] if len(axes) == 1 else (axes or None))
    def swapaxes(self, a, b): return _struct().swapaxes(self, a, b)
    def squeeze(self, axis=None): return _struct().squeeze(self, axis)
    def astype(self, dtype, **kw): return _struct().astype(self, dtype)
    def copy(self, order="C"): return _struct().copy(self)
    def clip(self, a_min=None, a_max=None, **kw): return _logic().clip(self, a_min, a_max, **kw)
    def ravel(self, order="C"): return _struct().reshape(self, (-1,))
    def flatten(self, order="C"): return _struct().reshape(self, (-1,))
    def any(self, axis=None, keepdims=False, **kw): return _reduce().any_all(self, axis, keepdims, "any")
    def all(self, axis=None, keepdims=False, **kw): return _reduce().any_all(self, axis, keepdims, "all")
    def sort(self, axis=-1, **kw): _inplace(self, _reduce().sort(self, axis))
    def dot(self, o): return _reduce().matmul(self, o)

    @property
    def T(self) -> Interval:
        return _struct().transpose(self, None)

    # numpy protocols: installed by numpy_front (NEP 13 / NEP 18)
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from .numpy_front import array_ufunc

        return array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        from .numpy_front import array_function

        return array_function(func, types, args, kwargs)


def _inplace(target: Interval, value: Interval) -> Interval:
    _struct().setitem(target, Ellipsis, value)
    return target


def _ops():
    from . import ops

    return ops


def _logic():
    from . import logic

    return logic


def _reduce():
    from . import reduce

    return reduce


def _struct():
    from . import structure

    return structure


# ----------------------------------------------------------------------------- building and reading


def constant(x: Any, trace: Trace) -> Interval:
    """A plain value (numpy array, scalar, bool) as an exact interval without Jacobian."""
    a = np.asarray(x)
    if a.dtype == object:
        raise Unenclosable(f"a value of type {type(x).__name__} mixed with interval arrays")
    dtype = a.dtype
    v = a.astype(np.float64)
    lo = hi = v
    if dtype.kind in "iu" and v.size and np.abs(v).max(initial=0) > 2.0 ** 53:
        lo, hi = R.outward(v, v)
    return Interval(lo, hi, dtype=dtype, trace=trace, rowdep=False)


def lift(x: Any, trace: Trace) -> Interval:
    """An `Interval` for `x` (itself when it already is one)."""
    if isinstance(x, Interval):
        if x.stale:
            raise Unenclosable("an interval array read after the array it was sliced from was written to")
        x.uses += 1
        return x
    return constant(x, trace)


def trace_of(*xs: Any) -> Trace:
    for x in xs:
        if isinstance(x, Interval):
            return x.trace
        if isinstance(x, (list, tuple)):
            for y in x:
                if isinstance(y, Interval):
                    return y.trace
    raise Unenclosable("no interval array among the arguments")


def result_dtype(*xs: Any) -> np.dtype:
    """The dtype numpy gives an operation on `xs` (Python scalars are weak, NEP 50)."""
    parts = [x.dtype if isinstance(x, Interval) else x for x in xs]
    try:
        return np.result_type(*parts)
    except TypeError as exc:
        raise Unenclosable(f"no common dtype for {parts}: {exc}") from None


def finish(lo: np.ndarray, hi: np.ndarray, dtype: np.dtype, nan: np.ndarray | None = None
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """NaN endpoints made infinite (and the entry marked as possibly NaN)."""
    bad = np.isnan(lo) | np.isnan(hi)
    if bad.any():
        lo = np.where(np.isnan(lo), -np.inf, lo)
        hi = np.where(np.isnan(hi), np.inf, hi)
        nan = bad if nan is None else (np.asarray(nan) | bad)
    return lo, hi, nan


def clean_jac(jlo: np.ndarray, jhi: np.ndarray, trace: Trace, what: str) -> tuple[np.ndarray, np.ndarray]:
    """NaN Jacobian endpoints made infinite; an infinite one noted with the operation that made it."""
    if np.isnan(jlo).any() or np.isnan(jhi).any():
        jlo = np.where(np.isnan(jlo), -np.inf, jlo)
        jhi = np.where(np.isnan(jhi), np.inf, jhi)
    if not (np.isfinite(jlo).all() and np.isfinite(jhi).all()):
        trace.note("jac", what)
    return jlo, jhi
