"""Built-in operators: conforming reference families, axiom counterexamples, misbehaving examples.

The package itself is light: importing it (or `axiomcheck.library.lookup`, the
lookup by name) registers nothing.  The built-in operators are registered the
first time an operator is looked up by name, or when one of the names below is
first read (PEP 562): they live in `shipped`, whose import registers

* the conforming families of paper §V (`CONFORMING`): token `entropy_exp`,
  `hybrid_safety`, `inverse_variance`, `uniform_token`; task `inverse_loss`,
  `softmax_performance`, `size_tempered`, `uniform_task`; context
  `ordinal_safety`, `divergence_shift`, `uniform_context`;
* one counterexample per axiom (`INDEPENDENCE`, names `indep_<scale>_<axiom>`);
* the published weighting schemes and their repaired variants (`published.PORTS`).

The operators of `misbehaving` (`MISBEHAVING`, names `bad_*`) are *not*
registered; `misbehaving.register_all()` adds them.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "CONFORMING",
    "EXPECTED_FAILURES",
    "EXPECTED_MISBEHAVIOR",
    "INDEPENDENCE",
    "MISBEHAVING",
    "SCALE_CHECKS",
    "context",
    "divergence_shift",
    "entropy_exp",
    "hybrid_safety",
    "independence",
    "inverse_loss",
    "inverse_variance",
    "misbehaving",
    "published",
    "ordinal_safety",
    "size_tempered",
    "softmax_performance",
    "task",
    "token",
    "uniform_context",
    "uniform_task",
    "uniform_token",
]


#: The submodules among `__all__` (imported alone when read; the others come from `shipped`).
_SUBMODULES = ("context", "independence", "misbehaving", "published", "task", "token")


def __getattr__(name: str) -> Any:
    """A name of `__all__`: a submodule, or a name of `shipped` (whose first import registers the built-ins)."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if name in _SUBMODULES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        value = getattr(importlib.import_module(f"{__name__}.shipped"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
