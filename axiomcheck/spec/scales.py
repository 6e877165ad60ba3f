"""One `Scale` record per scale: what the function takes, how it is measured, where safety applies.

Everything the engine needs to treat a scale differently lives here, so adding a
scale is one `Scale` plus one `Domain` (in `axiomcheck.sampling.domains`), not a hunt for
`if scale == ...` branches.

>>> SCALES["context"].inputs, SCALES["context"].safety_set
(('context',), 'contexts')
>>> SCALES["token"].metric
'max(‖Δprobs‖∞, ‖Δcontext‖∞)'
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Scale:
    """How one scale's operators are called, sampled, measured and judged.

    `inputs` are the positional arguments in order; `metric` is the input metric
    of the regularity estimate; `safety_set` is the `Safety` field that selects
    the safety-critical inputs ("tokens", "contexts", "components" for a
    composition, or None where the paper states no safety axiom); `single_teacher`
    says when the K = 1 well-posedness family applies: "input" (K is read from
    the input), "keyword" (only when the function takes a `teachers` keyword,
    because its input has no teacher axis) or "never"; `axes` names the axes of
    the returned weights, for messages and the composition.
    """

    name: str
    signature: str
    inputs: tuple[str, ...]
    metric: str
    safety_set: str | None
    single_teacher: str
    axes: tuple[str, ...]
    sums_over: str = "teachers"


SCALES: dict[str, Scale] = {
    s.name: s
    for s in (
        Scale("token", "fn(probs[B,K,V], context[B,D]) -> [B,K] or [B,K,V]", ("probs", "context"),
              "max(‖Δprobs‖∞, ‖Δcontext‖∞)", "tokens", "input", ("K", "V")),
        Scale("task", "fn(losses[B,M,K], sizes[B,M]) -> [B,M,K]", ("losses", "sizes"),
              "max(‖Δlosses‖∞, ‖Δlog sizes‖∞)", None, "input", ("M", "K")),
        Scale("context", "fn(context[B,D]) -> [B,K]", ("context",), "‖Δcontext‖∞", "contexts", "keyword", ("K",)),
        Scale("unified", "fn(probs[B,K,V], context[B,D], losses[B,M,K], sizes[B,M]) -> [B,M,K,V]",
              ("probs", "context", "losses", "sizes"),
              "max(‖Δprobs‖∞, ‖Δcontext‖∞, ‖Δlosses‖∞, ‖Δlog sizes‖∞)", "components", "never", ("M", "K", "V")),
        Scale("importance", "fn(losses[B,M,K], sizes[B,M]) -> λ[B,M]", ("losses", "sizes"),
              "max(‖Δlosses‖∞, ‖Δlog sizes‖∞)", None, "never", ("M",), sums_over="tasks"),
    )
}
