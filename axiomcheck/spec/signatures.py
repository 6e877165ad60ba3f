"""Whether a weight function can be called the way its scale calls it, read from its signature.

The engine calls an operator's function with the scale's positional inputs
(`fn(probs, context)` at token scale), then by keyword the inputs it names
(`labels`, `student`, ...; see `axiomcheck.spec.inputs`) and the reserved `teachers`
and `params`.  `problem(fn, scale)` reads the signature once, when the operator
is built, so a function that can never be called that way is refused there with
one clear message (and a "did you mean" for a misspelled input) instead of
raising on every call of every check.

Nothing is refused that might work: a signature that cannot be read (a builtin,
an opaque compiled function), `*args` where positional inputs go, and defaulted
parameters the engine never fills are all accepted.  `functools.partial`,
callable objects, `nn.Module`s (by their `forward`) and jitted JAX functions
show their real signatures through `inspect.signature`.

>>> import numpy as np
>>> problem(lambda probs, context: None, "token") is None
True
>>> print(problem(lambda probs: None, "token"))
takes 1 positional input (probs) but the token scale calls it with 2: fn(probs[B,K,V], context[B,D]) -> [B,K] or [B,K,V]
>>> print(problem(lambda probs, context, *, label: None, "token"))  # doctest: +ELLIPSIS
requires an argument 'label' that the token scale does not give (did you mean 'labels'?); ...
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from typing import Any

from .inputs import INPUTS, RESERVED
from .scales import SCALES

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def offered(scale: str) -> tuple[str, ...]:
    """The names the engine may give by keyword at `scale`: its keyword inputs, then `teachers` and `params`."""
    return tuple(n for n in INPUTS if n in SCALES[scale].keywords) + RESERVED


def _signature(fn: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin or an opaque compiled callable: nothing can be read
        return None


def _unknown(name: str, scale: str) -> str:
    """Why `name` is never given at `scale`, with the closest name that is."""
    names = offered(scale)
    elsewhere = INPUTS[name].scales if name in INPUTS else ()
    if elsewhere:
        why = (f"requires {name!r}, a keyword input of the {', '.join(elsewhere)} "
               f"scale{'s' if len(elsewhere) > 1 else ''}, not of {scale}")
    else:
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
        why = f"requires an argument {name!r} that the {scale} scale does not give"
        why += f" (did you mean {close[0]!r}?)" if close else " (give it a default, or bind it with functools.partial)"
    return (f"{why}; the {scale} scale calls {SCALES[scale].signature} and gives "
            f"by keyword only {', '.join(names)}")


def problem(fn: Callable[..., Any], scale: str) -> str | None:
    """Why `fn` cannot be called as an operator of `scale` (None: it can, or its signature cannot be read)."""
    sig = _signature(fn)
    if sig is None:
        return None
    params = list(sig.parameters.values())
    n = len(SCALES[scale].inputs)
    inputs = ", ".join(SCALES[scale].inputs)
    positional = [p for p in params if p.kind in _POSITIONAL]
    var_positional = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params)
    if len(positional) < n and not var_positional:
        got = ", ".join(p.name for p in positional) or "none"
        return (f"takes {len(positional)} positional input{'' if len(positional) == 1 else 's'} ({got}) but the "
                f"{scale} scale calls it with {n}: {SCALES[scale].signature}")
    keyword_names = offered(scale)
    for i, p in enumerate(positional[:n]):
        if p.name in keyword_names and p.name not in SCALES[scale].inputs:
            return (f"takes {p.name!r} as positional input {i + 1}, where the {scale} scale passes "
                    f"{SCALES[scale].inputs[i]!r} ({inputs}); name keyword inputs after the positional ones, "
                    f"e.g. fn({inputs}, *, {p.name})")
    for p in params:
        if p.default is not inspect.Parameter.empty or p.kind in (inspect.Parameter.VAR_POSITIONAL,
                                                                   inspect.Parameter.VAR_KEYWORD):
            continue
        if p.kind in _POSITIONAL and positional.index(p) < n:
            continue
        if p.kind is inspect.Parameter.POSITIONAL_ONLY:
            return (f"requires a positional-only argument {p.name!r} after the {n} inputs of the {scale} "
                    f"scale ({inputs}), which the engine never passes")
        if p.name not in keyword_names:
            return _unknown(p.name, scale)
    return None
