"""JAX kernels: the teacher ensemble G, entropy weights, the fused, streamed KD losses, and the
weight guard that checks, inside the training step, the weights the loss receives.

Layout: teacher logits [K, N, V], weights [K, N] (token-independent) or [K, N, V]
(per-token: the ensemble is renormalized over the vocabulary), student logits
[N, V] — or, for the losses fused with the output layer, student hidden states
[N, d] and head [V, d]; float32 accumulation. Everything is jit-, vmap- and grad-safe.
"""

from axiomcheck.guard.runtime import GuardResults, guard_report, guard_results, training_run
from axiomcheck.kernels.divergences import DIVERGENCES
from axiomcheck.kernels.ensemble import ensemble_log_probs, entropy_weights
from axiomcheck.kernels.formulation import pick_formulation, textbook_bytes
from axiomcheck.kernels.fused_linear import fused_linear_kd_loss, fused_linear_kd_loss_and_grad
from axiomcheck.kernels.guard import (
    GuardSpec,
    GuardState,
    guard_init,
    guard_merge,
    guard_merge_runs,
    guard_update,
)
from axiomcheck.kernels.kd_loss import entropy_kd_loss_and_grad, kd_loss, kd_loss_and_grad
from axiomcheck.kernels.sharding import sharded_kd_loss_and_grad

__all__ = [
    "DIVERGENCES",
    "GuardResults",
    "GuardSpec",
    "GuardState",
    "ensemble_log_probs",
    "entropy_kd_loss_and_grad",
    "entropy_weights",
    "fused_linear_kd_loss",
    "fused_linear_kd_loss_and_grad",
    "guard_init",
    "guard_merge",
    "guard_merge_runs",
    "guard_report",
    "guard_results",
    "guard_update",
    "kd_loss",
    "kd_loss_and_grad",
    "pick_formulation",
    "sharded_kd_loss_and_grad",
    "textbook_bytes",
    "training_run",
]
