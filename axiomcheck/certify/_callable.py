"""Calling the package certifies: `axiomcheck.certify(op, ...)` is `axiomcheck.engine.certify(op, ...)`.

The public call `ac.certify(op)` and this package share one name.  Importing
a submodule sets the package as an attribute of its parent, so a plain
function `axiomcheck.certify` would be replaced by this package the first time
any part of it is imported, and a function in its place would break every
import path through it (`import axiomcheck.certify.engine as e`).  The package
itself is made callable instead: one object is both the package and the call.
"""

from __future__ import annotations

import sys
import types
from typing import Any


class CallablePackage(types.ModuleType):
    """A package module that, called, runs `verify(op, certify=True, ...)` (see `axiomcheck.engine.certify`)."""

    def __call__(self, op_or_name: Any, /, **kwargs: Any) -> Any:
        from ..engine import certify

        return certify(op_or_name, **kwargs)


def make_callable(name: str) -> None:
    """Make the loaded package `name` callable (its module object stays the same one)."""
    sys.modules[name].__class__ = CallablePackage
