"""Every public name documents itself, parameters included (the API reference is built from these)."""

from __future__ import annotations

import inspect

import pytest

import axiomcheck as ac

#: names whose parameters are documented on the record they build (the decorators) or elsewhere
DOCUMENTED_ELSEWHERE = {"Operator", "token_operator", "task_operator", "context_operator", "SpecError"}


def _public() -> list[str]:
    return [n for n in ac.__all__ if inspect.isfunction(getattr(ac, n)) or inspect.isclass(getattr(ac, n))]


@pytest.mark.parametrize("name", _public())
def test_public_name_has_a_docstring_naming_its_parameters(name):
    obj = getattr(ac, name)
    doc = inspect.getdoc(obj) or ""
    assert doc.strip(), f"axiomcheck.{name} has no docstring"
    if name in DOCUMENTED_ELSEWHERE:
        return
    try:
        params = [p for p, v in inspect.signature(obj).parameters.items()
                  if v.kind not in (v.VAR_POSITIONAL, v.VAR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    missing = [p for p in params if p not in doc]
    assert not missing, f"axiomcheck.{name}: parameters not described in its docstring: {missing}"
