"""JAX kernels: the teacher ensemble G, entropy weights, and the fused, streamed KD loss.

Layout: teacher logits [K, N, V], weights [K, N] (token-independent) or [K, N, V]
(per-token: the ensemble is renormalized over the vocabulary), student logits
[N, V]; float32 by default. Everything is jit-, vmap- and grad-safe.
"""

from axiomcheck.kernels.ensemble import ensemble_log_probs, entropy_weights
from axiomcheck.kernels.kd_loss import entropy_kd_loss_and_grad, kd_loss, kd_loss_and_grad
from axiomcheck.kernels.sharding import sharded_kd_loss_and_grad

__all__ = [
    "ensemble_log_probs",
    "entropy_kd_loss_and_grad",
    "entropy_weights",
    "kd_loss",
    "kd_loss_and_grad",
    "sharded_kd_loss_and_grad",
]
