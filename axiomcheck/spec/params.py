"""The parameter sets of a learned operator: declared checkpoints, or draws from a callable.

A learned operator (a meta-weight network, a policy) declares `params=` on its
decorator: a list of checkpoints (arrays or pytrees), or a callable
`params(rng) -> params` drawn `params_draws` times.  `verify()` checks the
operator once per set, and a failure names the set by its label — the index of
a checkpoint or the seed of a draw — so it can be found again.

>>> import numpy as np
>>> from axiomcheck.spec.decorators import context_operator
>>> op = context_operator(lambda c, *, params: np.tile(params, (len(c), 1)), name="learned",
...                       params=[np.array([0.5, 0.5]), np.array([1.0, 0.0])], register=False)
>>> [label for label, _ in param_sets(op, seed=0)]
['params[0]', 'params[1]']
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..calling.sandbox import describe_exception
from ..errors import SpecError


def param_sets(op: Any, seed: int) -> list[tuple[str, Any]]:
    """`[(label, parameter set), ...]` for `op` (empty when it declares none).

    A callable is drawn with `np.random.default_rng(seed + i)` for i < params_draws,
    so the same seed gives the same draws; a draw that raises is a `SpecError`
    naming its seed.
    """
    p = getattr(op, "params", None)
    if p is None:
        return []
    if not callable(p):
        return [(f"params[{i}]", value) for i, value in enumerate(p)]
    out = []
    for i in range(op.params_draws):
        s = seed + i
        try:
            out.append((f"params draw seed={s}", p(np.random.default_rng(s))))
        except Exception as exc:  # noqa: BLE001 - the user's sampler; said plainly, never a crash
            raise SpecError(f"operator {op.name!r}: params(rng) raised {describe_exception(exc)} "
                            f"(draw seed={s})") from exc
    return out


def describe(op: Any) -> str | None:
    """How the report's spec shows the declared parameters (None when there are none)."""
    p = getattr(op, "params", None)
    if p is None:
        return None
    if callable(p):
        return f"drawn by {getattr(p, '__name__', 'a callable')}(rng), {op.params_draws} draws"
    return f"{len(p)} parameter set(s)"
