"""JAX kernels: the teacher ensemble G, entropy weights, the fused, streamed KD loss, and the
weight guard that checks, inside the training step, the weights the loss receives.

Layout: teacher logits [K, N, V], weights [K, N] (token-independent) or [K, N, V]
(per-token: the ensemble is renormalized over the vocabulary), student logits
[N, V]; float32 by default. Everything is jit-, vmap- and grad-safe.
"""

from axiomcheck.kernels.ensemble import ensemble_log_probs, entropy_weights
from axiomcheck.kernels.guard import (
    GuardSpec,
    GuardState,
    guard_init,
    guard_merge,
    guard_merge_runs,
    guard_update,
)
from axiomcheck.kernels.guard_results import guard_report, guard_results, training_run
from axiomcheck.kernels.kd_loss import entropy_kd_loss_and_grad, kd_loss, kd_loss_and_grad
from axiomcheck.kernels.sharding import sharded_kd_loss_and_grad

__all__ = [
    "GuardSpec",
    "GuardState",
    "ensemble_log_probs",
    "entropy_kd_loss_and_grad",
    "entropy_weights",
    "guard_init",
    "guard_merge",
    "guard_merge_runs",
    "guard_report",
    "guard_results",
    "guard_update",
    "kd_loss",
    "kd_loss_and_grad",
    "sharded_kd_loss_and_grad",
    "training_run",
]
