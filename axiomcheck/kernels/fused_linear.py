"""Multi-teacher KD fused with the output layer: the student logits are never stored.

The student logits are z = hidden [N, d] @ head [V, d]ᵀ; the teachers are given as
logits [K, N, V] (any float dtype) or as their own hidden states [K, N, d_t] and
heads [K, V, d_t]. For each block of B positions the kernel computes z and the
teacher logits of that block (float32 accumulation), the objective of
`kernels.divergences` against the weighted ensemble q, the gradient g = dℓ/dz of the
block, and then

    d loss / d hidden[block] = g @ head,      d loss / d head += gᵀ @ hidden[block],

so no float array of shape [N, V] or [K, N, V] exists beyond one block (the inputs
aside). The gradients of a block are computed in the same pass as its loss, as
the fused linear losses of Liger-Kernel do; `fused_linear_kd_loss` keeps them for
its custom VJP. The teachers, weights, labels and mask are not differentiated (a
frozen teacher; use `kd_loss` on materialized logits for teacher or weight
cotangents).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.custom_derivatives import SymbolicZero

from axiomcheck.kernels._common import check_block, check_weights, kernel_dtype, take
from axiomcheck.kernels.block import objective_block, row_stats
from axiomcheck.kernels.divergences import Objective, check_objective
from axiomcheck.kernels.formulation import resolve_formulation
from axiomcheck.kernels.positions import check_positions
from axiomcheck.kernels.textbook import textbook_linear_loss

__all__ = ["fused_linear_kd_loss", "fused_linear_kd_loss_and_grad"]

#: Bytes of float32 block temporaries per block the default aims for on the CPU
#: ((K + 4) · V floats per position). Larger blocks make the three matmuls of a block
#: more efficient, smaller ones bound memory: with benchmarks/kd_fused_linear.py
#: (K = 4, N = 2048, d = 512, V = 32 000) blocks of 32 / 65 / 128 / 256 positions took
#: 5.3 / 5.4 / 4.3 / 3.6 s a step in one run; 128 MiB (131 positions) keeps the peak
#: memory growth below a fifth of the unfused textbook version's.
FUSED_BLOCK_BYTES = 128 << 20

#: The same on a GPU or TPU (when the streamed formulation runs there: see
#: kernels.formulation), where larger blocks keep the device busy.
FUSED_ACCELERATOR_BLOCK_BYTES = 1 << 30

#: The fewest positions per default block: below this the matmuls re-read the head
#: from memory for too little work.
MIN_FUSED_BLOCK = 32


def default_fused_block(n: int, k: int, v: int, itemsize: int = 4) -> int:
    """Positions per block: FUSED_BLOCK_BYTES (CPU) or FUSED_ACCELERATOR_BLOCK_BYTES of
    (K + 4) · V floats per position, at least MIN_FUSED_BLOCK, at most N."""
    budget = FUSED_BLOCK_BYTES if jax.default_backend() == "cpu" else FUSED_ACCELERATOR_BLOCK_BYTES
    return min(n, max(MIN_FUSED_BLOCK, budget // ((k + 4) * v * itemsize)))


class FusedConfig(NamedTuple):
    """Static settings of one fused computation."""

    objective: Objective
    block: int
    per_token: bool
    entropy_beta: float | None  # weights computed in the pass when not None
    formulation: str


def _dot(a, b, contract, acc):
    return lax.dot_general(a, b, (contract, ((), ())), preferred_element_type=acc)


def _check_teachers(teacher_logits, teacher_hidden, teacher_heads, n: int, v: int):
    """The teachers as a tuple: (logits,) or (hidden, heads); returns (teachers, K)."""
    if teacher_logits is not None:
        if teacher_hidden is not None or teacher_heads is not None:
            raise ValueError("give either teacher_logits or teacher_hidden with teacher_heads, not both")
        shape = tuple(jnp.shape(teacher_logits))
        if len(shape) != 3 or shape[1:] != (n, v) or shape[0] == 0:
            raise ValueError(f"teacher_logits must have shape [K, N, V] with N, V = {(n, v)}, got {shape}")
        return (jnp.asarray(teacher_logits),), shape[0]
    if teacher_hidden is None or teacher_heads is None:
        raise ValueError("give the teachers: teacher_logits [K, N, V], or teacher_hidden [K, N, d_t] "
                         "with teacher_heads [K, V, d_t]")
    hs, ws = tuple(jnp.shape(teacher_hidden)), tuple(jnp.shape(teacher_heads))
    if (len(hs) != 3 or len(ws) != 3 or hs[0] == 0 or hs[0] != ws[0] or hs[1] != n or ws[1] != v
            or hs[2] != ws[2]):
        raise ValueError(f"teacher_hidden [K, N, d_t] and teacher_heads [K, V, d_t] must agree with "
                         f"N, V = {(n, v)}; got {hs} and {ws}")
    th, tw = jnp.asarray(teacher_hidden), jnp.asarray(teacher_heads)
    mm = jnp.promote_types(th.dtype, tw.dtype)
    return (th.astype(mm), tw.astype(mm)), hs[0]


def _prepare(hidden, head, weights, teacher_logits, teacher_hidden, teacher_heads, opts):
    hs, ws = tuple(jnp.shape(hidden)), tuple(jnp.shape(head))
    if len(hs) != 2 or len(ws) != 2 or hs[1] != ws[1] or 0 in hs or 0 in ws:
        raise ValueError(f"hidden must be [N, d] and head [V, d] with the same d > 0; got {hs} and {ws}")
    n, v = hs[0], ws[0]
    teachers, k = _check_teachers(teacher_logits, teacher_hidden, teacher_heads, n, v)
    obj = check_objective(opts["divergence"], opts["beta"], opts["temperature"], opts["t_squared"],
                          opts["alpha"])
    entropy = isinstance(weights, str)
    if entropy and weights != "entropy":
        raise ValueError(f"weights must be an array [K, N] / [K, N, V] or 'entropy', got {weights!r}")
    dtype = kernel_dtype(hidden, head, *teachers, *(() if entropy else (weights,)))
    per_token = False if entropy else check_weights(weights, k, n, v)
    w = None if entropy else jnp.asarray(weights).astype(dtype)
    labels, pw = check_positions(opts["mask"], opts["labels"], opts["ignore_index"], obj.alpha, n, v,
                                 dtype)
    if opts["block_size"] is None:
        block = default_fused_block(n, k, v, dtype.itemsize)
    else:
        block = check_block(opts["block_size"], n, 1)
    how = resolve_formulation(opts["formulation"], opts["block_size"], k, n, v, linear=True)
    eb = opts["entropy_beta"]
    cfg = FusedConfig(obj, block, per_token, float(eb) if entropy else None, how)
    mm = jnp.promote_types(jnp.asarray(hidden).dtype, jnp.asarray(head).dtype)
    extras = {key: val for key, val in (("weights", w), ("labels", labels), ("pos_weight", pw))
              if val is not None}
    return jnp.asarray(hidden).astype(mm), jnp.asarray(head).astype(mm), teachers, extras, cfg


def _streamed(hidden, head, teachers, extras, cfg: FusedConfig, need_h: bool, need_w: bool):
    """(loss, d/d hidden or None, d/d head or None), streamed over blocks of positions."""
    n, d = hidden.shape
    v = head.shape[0]
    acc = kernel_dtype(hidden, head, *teachers)
    obj = cfg.objective
    inv_t = 1.0 / obj.temperature
    b = cfg.block
    nb = -(-n // b)
    w, labels, pw = extras.get("weights"), extras.get("labels"), extras.get("pos_weight")
    want_grad = need_h or need_w
    hard_needed = labels is not None and obj.alpha > 0.0 and inv_t != 1.0

    def block_terms(start):
        h_b = take(hidden, start, b, 0)
        z = _dot(h_b, head, ((1,), (1,)), acc)  # [B, V]
        if len(teachers) == 1:
            t = take(teachers[0], start, b, 1)
        else:  # [K, B, d_t] x [K, V, d_t] -> [K, B, V], batched over teachers
            t = lax.dot_general(take(teachers[0], start, b, 1), teachers[1],
                                (((2,), (2,)), ((0,), (0,))), preferred_element_type=acc)
        losses, g = objective_block(
            obj, cfg.per_token, z, t, None if w is None else take(w, start, b, 1),
            stats=row_stats(z, inv_t), want_grad=want_grad,
            pos_weight=1.0 / n if pw is None else take(pw, start, b, 0),
            labels=None if labels is None else take(labels, start, b, 0),
            hard_stats=row_stats(z, 1.0) if hard_needed else None,
            entropy_beta=cfg.entropy_beta)
        return h_b, losses, g

    def body(i, carry):
        loss, gh, gw = carry
        start = jnp.minimum(i * b, n - b)
        # the last block is shifted back to end at N; its first rows were done already
        owned = (start + jnp.arange(b)) >= i * b
        h_b, losses, g = block_terms(start)
        loss = loss + jnp.sum(jnp.where(owned, losses, jnp.zeros_like(losses)))
        if need_h:
            gh = lax.dynamic_update_slice_in_dim(
                gh, _dot(g.astype(head.dtype), head, ((1,), (0,)), acc), start, axis=0)
        if need_w:
            g_own = jnp.where(owned[:, None], g, jnp.zeros_like(g)).astype(h_b.dtype)
            gw = gw + _dot(g_own, h_b, ((0,), (0,)), acc)
        return loss, gh, gw

    carry = (jnp.zeros((), acc),
             jnp.zeros((n, d), acc) if need_h else jnp.zeros((), acc),
             jnp.zeros((v, d), acc) if need_w else jnp.zeros((), acc))
    if nb == 1:
        loss, gh, gw = body(0, carry)
    else:
        loss, gh, gw = lax.fori_loop(0, nb, body, carry)
    return loss, (gh.astype(hidden.dtype) if need_h else None), (gw.astype(head.dtype) if need_w else None)


def _textbook(hidden, head, teachers, extras, cfg: FusedConfig, need_h: bool, need_w: bool):
    def loss_of(h, wt):
        return textbook_linear_loss(cfg.objective, cfg.per_token, h, wt, teachers,
                                    extras.get("weights"), labels=extras.get("labels"),
                                    pos_weight=extras.get("pos_weight"),
                                    entropy_beta=cfg.entropy_beta)
    if not (need_h or need_w):
        return loss_of(hidden, head), None, None
    loss, (gh, gw) = jax.value_and_grad(loss_of, argnums=(0, 1))(hidden, head)
    return loss, (gh if need_h else None), (gw if need_w else None)


def _compute(hidden, head, teachers, extras, cfg, need_h, need_w):
    fn = _textbook if cfg.formulation == "textbook" else _streamed
    return fn(hidden, head, teachers, extras, cfg, need_h, need_w)


@functools.partial(jax.custom_vjp, nondiff_argnums=(4,))
def _fused_loss(hidden, head, teachers, extras, cfg: FusedConfig):
    return _compute(hidden, head, teachers, extras, cfg, False, False)[0]


def _fused_fwd(hidden, head, teachers, extras, cfg: FusedConfig):
    frozen = [key for key, prims in (("teachers", teachers), ("weights / labels / mask", extras))
              if any(p.perturbed for p in jax.tree_util.tree_leaves(prims))]
    if frozen:
        raise ValueError(f"fused_linear_kd_loss differentiates only hidden and head, not the "
                         f"{' or the '.join(frozen)}; use kd_loss on materialized logits for those")
    vals = [jax.tree_util.tree_map(lambda p: p.value, a) for a in (teachers, extras)]
    loss, gh, gw = _compute(hidden.value, head.value, *vals, cfg, hidden.perturbed, head.perturbed)
    return loss, (gh, gw)


def _fused_bwd(cfg: FusedConfig, res, g):
    gh, gw = res
    if isinstance(g, SymbolicZero):
        return None, None, None, None
    return (None if gh is None else gh * g.astype(gh.dtype),
            None if gw is None else gw * g.astype(gw.dtype), None, None)


_fused_loss.defvjp(_fused_fwd, _fused_bwd, symbolic_zeros=True)


def _options(**kw):
    return kw


def fused_linear_kd_loss(hidden: jax.Array, head: jax.Array, weights, *,
                         teacher_logits: jax.Array | None = None,
                         teacher_hidden: jax.Array | None = None,
                         teacher_heads: jax.Array | None = None, entropy_beta: float = 1.0,
                         temperature: float = 1.0, t_squared: bool = False,
                         divergence: str = "cross_entropy", beta: float = 0.5,
                         labels: jax.Array | None = None, alpha: float = 0.0,
                         mask: jax.Array | None = None, ignore_index: int | None = -100,
                         block_size: int | None = None, formulation: str = "auto") -> jax.Array:
    """The KD loss of `kd_loss` for student logits hidden [N, d] @ head [V, d]ᵀ, never storing them.

    Teachers: `teacher_logits` [K, N, V], or `teacher_hidden` [K, N, d_t] with
    `teacher_heads` [K, V, d_t] (their logits are made block by block). `weights`:
    [K, N], [K, N, V], or "entropy" (softmax_k(−entropy_beta · H(p_k)) computed in
    the same pass; `entropy_beta` is static). Other options as for `kd_loss`. A scalar (float32 accumulation),
    differentiable with respect to hidden and head by a custom VJP whose gradients
    come from the same streamed pass.
    """
    opts = _options(divergence=divergence, beta=beta, temperature=temperature, t_squared=t_squared,
                    alpha=alpha, labels=labels, mask=mask, ignore_index=ignore_index,
                    block_size=block_size, formulation=formulation, entropy_beta=entropy_beta)
    h, w, teachers, extras, cfg = _prepare(hidden, head, weights, teacher_logits, teacher_hidden,
                                           teacher_heads, opts)
    return _fused_loss(h, w, teachers, extras, cfg)


def fused_linear_kd_loss_and_grad(hidden: jax.Array, head: jax.Array, weights, *,
                                  teacher_logits: jax.Array | None = None,
                                  teacher_hidden: jax.Array | None = None,
                                  teacher_heads: jax.Array | None = None,
                                  entropy_beta: float = 1.0, temperature: float = 1.0,
                                  t_squared: bool = False, divergence: str = "cross_entropy",
                                  beta: float = 0.5, labels: jax.Array | None = None,
                                  alpha: float = 0.0, mask: jax.Array | None = None,
                                  ignore_index: int | None = -100, block_size: int | None = None,
                                  formulation: str = "auto"):
    """(loss, (d loss / d hidden [N, d], d loss / d head [V, d])) of `fused_linear_kd_loss`, one pass.

    The gradients have the dtypes of `hidden` and `head`.
    """
    opts = _options(divergence=divergence, beta=beta, temperature=temperature, t_squared=t_squared,
                    alpha=alpha, labels=labels, mask=mask, ignore_index=ignore_index,
                    block_size=block_size, formulation=formulation, entropy_beta=entropy_beta)
    h, w, teachers, extras, cfg = _prepare(hidden, head, weights, teacher_logits, teacher_hidden,
                                           teacher_heads, opts)
    loss, gh, gw = _compute(h, w, teachers, extras, cfg, True, True)
    return loss, (gh.astype(jnp.asarray(hidden).dtype), gw.astype(jnp.asarray(head).dtype))
