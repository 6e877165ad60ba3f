"""The interval array's Python operators and numpy-style methods, bound to the core's operations.

`interval.py` holds the data; importing this module installs on `Interval`
the arithmetic (`ops`), comparisons and logic (`logic`), reductions and
products (`reduce`) and indexing and reshaping (`structure`), so that the
operator's own code (`a + b`, `x[..., 0]`, `x.sum(-1)`, `x > 0`) runs on
intervals.  `core` imports it; the numpy protocols are installed by
`numpy_front`.
"""

from __future__ import annotations

from . import logic, ops, reduce, structure
from .interval import Interval


class _Methods:
    def __add__(self, o): return ops.add(self, o)
    def __radd__(self, o): return ops.add(o, self)
    def __sub__(self, o): return ops.subtract(self, o)
    def __rsub__(self, o): return ops.subtract(o, self)
    def __mul__(self, o): return ops.multiply(self, o)
    def __rmul__(self, o): return ops.multiply(o, self)
    def __truediv__(self, o): return ops.divide(self, o)
    def __rtruediv__(self, o): return ops.divide(o, self)
    def __pow__(self, o): return ops.power(self, o)
    def __rpow__(self, o): return ops.power(o, self)
    def __neg__(self): return ops.negative(self)
    def __pos__(self): return self
    def __abs__(self): return ops.absolute(self)
    def __gt__(self, o): return logic.compare("greater", self, o)
    def __ge__(self, o): return logic.compare("greater_equal", self, o)
    def __lt__(self, o): return logic.compare("less", self, o)
    def __le__(self, o): return logic.compare("less_equal", self, o)
    def __eq__(self, o): return logic.compare("equal", self, o)  # type: ignore[override]
    def __ne__(self, o): return logic.compare("not_equal", self, o)  # type: ignore[override]
    def __and__(self, o): return logic.logical("and", self, o)
    def __rand__(self, o): return logic.logical("and", o, self)
    def __or__(self, o): return logic.logical("or", self, o)
    def __ror__(self, o): return logic.logical("or", o, self)
    def __invert__(self): return logic.logical_not(self)
    def __matmul__(self, o): return reduce.matmul(self, o)
    def __rmatmul__(self, o): return reduce.matmul(o, self)

    def __iadd__(self, o): return _inplace(self, ops.add(self, o))
    def __isub__(self, o): return _inplace(self, ops.subtract(self, o))
    def __imul__(self, o): return _inplace(self, ops.multiply(self, o))
    def __itruediv__(self, o): return _inplace(self, ops.divide(self, o))

    def __getitem__(self, key): return structure.getitem(self, key)
    def __setitem__(self, key, value): structure.setitem(self, key, value)

    # ------------------------------------------------------------------ array methods

    def sum(self, axis=None, dtype=None, out=None, keepdims=False, **kw): return reduce.sum_(self, axis, keepdims, dtype, out, **kw)
    def mean(self, axis=None, dtype=None, out=None, keepdims=False, **kw): return reduce.mean(self, axis, keepdims, dtype, out, **kw)
    def max(self, axis=None, out=None, keepdims=False, **kw): return reduce.extreme(self, axis, keepdims, "max", out, **kw)
    def min(self, axis=None, out=None, keepdims=False, **kw): return reduce.extreme(self, axis, keepdims, "min", out, **kw)
    def argmax(self, axis=None, **kw): return reduce.argext(self, axis, "max", **kw)
    def argmin(self, axis=None, **kw): return reduce.argext(self, axis, "min", **kw)
    def reshape(self, *shape, **kw): return structure.reshape(self, shape[0] if len(shape) == 1 else shape, **kw)
    def transpose(self, *axes): return structure.transpose(self, axes[0] if len(axes) == 1 else (axes or None))
    def swapaxes(self, a, b): return structure.swapaxes(self, a, b)
    def squeeze(self, axis=None): return structure.squeeze(self, axis)
    def astype(self, dtype, **kw): return structure.astype(self, dtype)
    def copy(self, order="C"): return structure.copy(self)
    def clip(self, a_min=None, a_max=None, **kw): return logic.clip(self, a_min, a_max, **kw)
    def ravel(self, order="C"): return structure.reshape(self, (-1,))
    def flatten(self, order="C"): return structure.reshape(self, (-1,))
    def any(self, axis=None, keepdims=False, **kw): return reduce.any_all(self, axis, keepdims, "any")
    def all(self, axis=None, keepdims=False, **kw): return reduce.any_all(self, axis, keepdims, "all")
    def sort(self, axis=-1, **kw): _inplace(self, reduce.sort(self, axis))
    def dot(self, o): return reduce.matmul(self, o)

    @property
    def T(self):
        return structure.transpose(self, None)


def _inplace(target: Interval, value: Interval) -> Interval:
    structure.setitem(target, Ellipsis, value)
    return target


for _name, _value in vars(_Methods).items():
    if callable(_value) or isinstance(_value, property):
        setattr(Interval, _name, _value)
