"""The fused KD loss and gradient with the position axis N sharded over devices.

Each device runs the same streamed kernel on its slice of positions
(`jax.shard_map`); per-position losses come back sharded and are summed, the
gradient stays sharded over N. Normalization uses the global N (or the global
count of kept positions), so the numbers equal the single-device `kd_loss_and_grad`.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from axiomcheck.kernels.kd_loss import Config, forward, prepare

__all__ = ["sharded_kd_loss_and_grad"]


@functools.lru_cache(maxsize=64)
def _build(mesh: Mesh, cfg: Config, n_true: int, per_token: bool, extra_keys: tuple[str, ...]):
    """A jitted shard_map of the kernel for this mesh and static configuration."""
    axes = tuple(mesh.axis_names)  # N is split over all mesh axes together
    specs = (P(axes, None), P(None, axes, None), P(None, axes, None) if per_token else P(None, axes),
             *(P(axes) for _ in extra_keys))

    def local(s, t, w, *extra):
        return forward(s, t, w, cfg, n_norm=n_true, want_grad=True,
                       **dict(zip(extra_keys, extra, strict=True)))

    mapped = jax.shard_map(local, mesh=mesh, in_specs=specs, out_specs=(P(axes), P(axes, None)),
                           check_vma=False)

    def run(*args):
        losses, grad = mapped(*args)
        return jnp.sum(losses), grad

    shardings = tuple(NamedSharding(mesh, spec) for spec in specs)
    out = (NamedSharding(mesh, P()), NamedSharding(mesh, P(axes, None)))
    return jax.jit(run, in_shardings=shardings, out_shardings=out), shardings


def sharded_kd_loss_and_grad(
    student_logits: jax.Array,
    teacher_logits: jax.Array,
    weights: jax.Array,
    *,
    mesh: Mesh | None = None,
    temperature: float = 1.0,
    t_squared: bool = False,
    divergence: str = "cross_entropy",
    beta: float = 0.5,
    labels: jax.Array | None = None,
    alpha: float = 0.0,
    mask: jax.Array | None = None,
    ignore_index: int | None = -100,
    block_size: int | None = None,
) -> tuple[jax.Array, jax.Array]:
    """`kd_loss_and_grad` (streamed, same options) with positions N sharded over every device of `mesh`.

    `mesh` defaults to a 1-D mesh over all `jax.devices()`; with a multi-axis mesh
    N is split over all its axes. Returns (loss replicated, gradient [N, V] sharded
    over N). N must be a multiple of the number of devices in the mesh (an
    uneven split cannot be expressed as a NamedSharding of the [N, V] gradient).
    """
    if mesh is None:
        mesh = Mesh(np.asarray(jax.devices()), ("positions",))
    s, t, w, labels, pw, cfg = prepare(student_logits, teacher_logits, weights, temperature,
                                       t_squared, block_size, divergence, beta, alpha, labels,
                                       mask, ignore_index)
    n = s.shape[0]
    if n % mesh.size:
        raise ValueError(
            f"the number of positions N must be a multiple of the mesh's {mesh.size} devices, "
            f"got N={n}"
        )
    cfg = cfg._replace(block=min(cfg.block, n // mesh.size))
    extra = {key: val for key, val in (("labels", labels), ("pos_weight", pw)) if val is not None}
    fn, shardings = _build(mesh, cfg, n, cfg.per_token, tuple(extra))
    arrays = (s, t, w, *extra.values())
    args = [jax.device_put(a, sh) for a, sh in zip(arrays, shardings, strict=True)]
    return fn(*args)
