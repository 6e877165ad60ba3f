"""Which formulation a kernel runs: streamed over blocks of positions, or textbook (whole arrays).

On the CPU the streamed kernels are both faster and far lighter than the textbook JAX
formulation (log-softmax of every teacher, weighted sum, divergence, autodiff), which
XLA:CPU runs as a chain of K·N·V temporaries. On a GPU, XLA fuses the textbook
formulation into a few kernels that run near one pass over the teacher logits, and
the streamed loop's per-block launches make the kernels slower than it (measured on an
H200: 0.86× and 0.68× at K = 4, N = 512, V = 32 000). So `formulation="auto"`, the
default, picks

    CPU backend, or an explicit block_size             streamed
    GPU / TPU, textbook_bytes(...) ≤ memory_budget()   textbook
    GPU / TPU, larger                                  streamed

Both formulations compute the same objective (`kernels.divergences`); the tests check
that they agree. `"streamed"` and `"textbook"` force one.
"""

from __future__ import annotations

import jax

__all__ = ["FORMULATIONS", "memory_budget", "pick_formulation", "resolve_formulation",
           "textbook_bytes"]

FORMULATIONS = ("auto", "streamed", "textbook")

#: Share of an accelerator's memory the textbook formulation may fill (the rest is left
#: to the model, its optimizer state and activations).
ACCELERATOR_MEMORY_FRACTION = 0.25

#: The budget when the device does not report its memory (bytes_limit).
FALLBACK_BUDGET_BYTES = 4 << 30


def textbook_bytes(k: int, n: int, v: int, *, linear: bool = False) -> int:
    """A deliberately pessimistic count of the textbook formulation's float32 temporaries.

    Teacher logits in float32 and their softmax (2·K·N·V), the student's log-softmax,
    softmax, gradient, the target q and one more [N, V] array (5·N·V), plus the student
    logits when they come from a matmul (`linear`). XLA often fuses several of them
    away on a GPU; over-counting only makes the choice fall back to streaming sooner.

    >>> textbook_bytes(4, 512, 32000) == (2 * 4 + 5) * 512 * 32000 * 4
    True
    """
    return (2 * k + 5 + (1 if linear else 0)) * n * v * 4


def memory_budget(device=None) -> int:
    """ACCELERATOR_MEMORY_FRACTION of the device's memory, or FALLBACK_BUDGET_BYTES."""
    device = device if device is not None else jax.devices()[0]
    try:
        stats = device.memory_stats() or {}
    except Exception:  # noqa: BLE001 - backends without memory statistics
        stats = {}
    limit = stats.get("bytes_limit")
    if not limit:
        return FALLBACK_BUDGET_BYTES
    return int(limit * ACCELERATOR_MEMORY_FRACTION)


def pick_formulation(backend: str, needed_bytes: int, budget_bytes: int) -> str:
    """"streamed" on the CPU; elsewhere "textbook" if it needs at most the budget.

    >>> pick_formulation("cpu", 1, 10**12), pick_formulation("gpu", 1, 10**12)
    ('streamed', 'textbook')
    >>> pick_formulation("tpu", 2 * 10**12, 10**12)
    'streamed'
    """
    if backend == "cpu":
        return "streamed"
    return "textbook" if needed_bytes <= budget_bytes else "streamed"


def resolve_formulation(formulation: str, block_size, k: int, n: int, v: int, *,
                        linear: bool = False) -> str:
    """The formulation to run for these sizes on the default backend ("streamed" / "textbook")."""
    if formulation not in FORMULATIONS:
        raise ValueError(f"formulation must be one of {', '.join(FORMULATIONS)}; got {formulation!r}")
    if formulation != "auto":
        return formulation
    if block_size is not None:
        return "streamed"
    backend = jax.default_backend()
    if backend == "cpu":
        return "streamed"
    return pick_formulation(backend, textbook_bytes(k, n, v, linear=linear), memory_budget())
