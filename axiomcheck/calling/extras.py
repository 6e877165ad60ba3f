"""Optional dependencies: import one, or raise `MissingExtraError` naming the extra that installs it.

The extras (`pyproject.toml`): `plots` (matplotlib), `data` (scikit-learn),
`dynamics` (optax, scikit-learn, matplotlib) and `completion` (argcomplete).
Every import of an optional package goes through `require`, so a missing one
is a usage error (exit 2) with the install line, never an internal error.

>>> require("math", extra="plots").sqrt(4.0)
2.0
>>> try:
...     require("no_such_module_here", extra="dynamics", purpose="the demo")
... except MissingExtraError as exc:
...     print(exc.install)
pip install 'axiomcheck[dynamics]'
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from types import ModuleType

from ..errors import MissingExtraError

__all__ = ["PACKAGES", "require", "require_all"]

#: The distribution that provides each optional top-level module (what `pip` calls it).
PACKAGES = {"optax": "optax", "sklearn": "scikit-learn", "matplotlib": "matplotlib", "argcomplete": "argcomplete"}


def require(module: str, *, extra: str, purpose: str = "") -> ModuleType:
    """`importlib.import_module(module)`, or a `MissingExtraError` with `pip install 'axiomcheck[extra]'`."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if isinstance(exc, MissingExtraError):
            raise
        top = module.split(".")[0]
        package = PACKAGES.get(top, top)
        what = f"{purpose} needs {package}" if purpose else f"{package} is needed"
        raise MissingExtraError(f"{what}, which cannot be imported ({exc})", extra=extra,
                                package=package) from exc


def require_all(modules: Iterable[str], *, extra: str, purpose: str) -> None:
    """Check up front that every module of `modules` imports (before minutes of work that need them)."""
    missing = []
    for m in modules:
        try:
            require(m, extra=extra)
        except MissingExtraError as exc:
            missing.append(exc.package)
    if missing:
        raise MissingExtraError(f"{purpose} needs {', '.join(missing)}, which "
                                f"{'is' if len(missing) == 1 else 'are'} not installed", extra=extra,
                                package=", ".join(missing))
