"""Plain data: what report files hold, and the base of the typed estimates.

`plain` turns numpy values, tuples and non-finite floats into JSON-safe data;
`Estimate` is a frozen record that also reads as the dict it stands for.

>>> plain({"x": (1, float("inf"))})
{'x': [1, 'inf']}
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping
from typing import Any


def plain(value: Any) -> Any:
    """Convert numpy scalars/arrays, tuples and non-finite floats into JSON-safe plain data."""
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is a hard dependency
        np = None
    if np is not None:
        if isinstance(value, np.ndarray):
            return plain(value.tolist())
        if isinstance(value, np.generic):
            return plain(value.item())
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, Estimate):
        return value.to_dict()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return repr(value)


class Estimate(Mapping):
    """Base of the typed estimates: a frozen record that also reads like the dict it replaced.

    Built from a dict that has only some of the fields (a hand-made `Result`, an
    older report), the others read as None and the mapping holds the given
    keys only, in their order, so `to_dict()` returns what was given.
    """

    def _names(self) -> tuple[str, ...]:
        return self.__dict__.get("_given") or tuple(f.name for f in dataclasses.fields(self))  # type: ignore[arg-type]

    def __getitem__(self, key: str) -> Any:
        if key not in self._names():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={getattr(self, k)!r}' for k in self._names())})"

    def to_dict(self) -> dict[str, Any]:
        return {k: plain(getattr(self, k)) for k in self._names()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Estimate:
        """The estimate of `data`, whose keys must be some of the fields."""
        obj = cls(**data)
        if tuple(data) != tuple(f.name for f in dataclasses.fields(cls)):  # type: ignore[arg-type]
            object.__setattr__(obj, "_given", tuple(data))
        return obj
