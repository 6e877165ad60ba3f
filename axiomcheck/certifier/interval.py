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
* `tags` — structure the rules of `patterns.py` recognize (an `exp` of what, a sum
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

    # ------------------------------------------------------------------ operators and array methods
    # `methods.py` installs them (and numpy_front the numpy protocols) when `core` is imported; until
    # then a comparison must not fall back to object identity
    __hash__ = None  # type: ignore[assignment]

    def __eq__(self, o):  # type: ignore[override]
        raise Unenclosable("internal: the interval core is not assembled (import axiomcheck.certifier.core)")

    __ne__ = __eq__


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
