"""Fused KD loss: a divergence of the student from the weighted teacher ensemble, and its gradient.

    loss = Σ_i π_i [(1 − α) · s · D(q_i, softmax(z_i / T)) + α · CE(y_i, z_i)],   s = T² or 1,

with q the ensemble G of `axiomcheck.kernels.ensemble` (renormalized over V for
per-token weights) at the same temperature T, D one of the divergences of
`kernels.divergences` (cross-entropy by default), the optional hard-label term and
π the mean over kept positions (`kernels.positions`). One streamed pass over blocks
of positions computes, per block, each teacher's shifted exp and normalizer, q, the
student's log-softmax, the loss and the analytic gradient (for the cross-entropy
d loss / d z_i = π_i s (softmax(z_i / T) − q_i) / T), so no array of size K·N·V is
made beyond the input; a bfloat16 teacher input is cast block by block.
Convention for masked entries: a term with q(v) = 0 contributes 0 to the loss
(0 · log 0 = 0), so an entry masked with −inf by every teacher and by the student
gives a finite loss and a zero gradient; an entry the student masks but q does not
gives loss +inf (the cross-entropy is infinite there) while the gradient stays finite.
On a GPU or TPU the textbook formulation runs instead when it fits
(`kernels.formulation`).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.custom_derivatives import SymbolicZero

from axiomcheck.kernels._common import (
    check_block,
    check_student,
    check_teacher,
    check_weights,
    kernel_dtype,
    stream,
    take,
)
from axiomcheck.kernels.block import objective_block, row_stats
from axiomcheck.kernels.cotangents import teacher_weight_cotangents
from axiomcheck.kernels.divergences import Objective, check_objective
from axiomcheck.kernels.formulation import resolve_formulation
from axiomcheck.kernels.positions import check_positions
from axiomcheck.kernels.textbook import textbook_loss

__all__ = ["entropy_kd_loss_and_grad", "kd_loss", "kd_loss_and_grad"]


class Config(NamedTuple):
    """Static settings of one KD computation (hashable: a jit / custom_vjp static)."""

    objective: Objective
    block: int
    per_token: bool

    @property
    def scale(self) -> float:
        return self.objective.scale


def _input_dtype(a, dtype):
    """Teacher logits keep a narrower float dtype (cast per block); anything else -> dtype."""
    a = jnp.asarray(a)
    if jnp.issubdtype(a.dtype, jnp.floating) and a.dtype.itemsize < dtype.itemsize:
        return a
    return a.astype(dtype)


def prepare(student_logits, teacher_logits, weights, temperature, t_squared, block_size,
            divergence="cross_entropy", beta=0.5, alpha=0.0, labels=None, mask=None,
            ignore_index=-100):
    """Check shapes and settings, cast to the compute dtype.

    Returns (student, teacher, weights, labels or None, π or None, Config).
    """
    k, n, v = check_teacher(teacher_logits)
    check_student(student_logits, n, v)
    per_token = check_weights(weights, k, n, v)
    obj = check_objective(divergence, beta, temperature, t_squared, alpha)
    dtype = kernel_dtype(student_logits, teacher_logits, weights)
    block = check_block(block_size, n, k * v * dtype.itemsize)
    labels, pos_weight = check_positions(mask, labels, ignore_index, obj.alpha, n, v, dtype)
    s = jnp.asarray(student_logits).astype(dtype)
    w = jnp.asarray(weights).astype(dtype)
    return s, _input_dtype(teacher_logits, dtype), w, labels, pos_weight, Config(obj, block, per_token)


def forward(student, teacher, weights, cfg: Config, *, n_norm: int, want_grad: bool,
            entropy_beta=None, labels=None, pos_weight=None):
    """Per-position weighted losses π_i ℓ_i [N] and, if asked, the gradient [N, V].

    π_i = 1 / n_norm unless `pos_weight` [N] is given. With `entropy_beta`, `weights`
    is ignored and each block's weights are entropy_weights(beta, T) computed from
    the same shifted exp (one pass).
    """
    n, v = student.shape
    dtype = student.dtype
    obj = cfg.objective
    inv_t = 1.0 / obj.temperature
    # loop-free row statistics: two reductions over the whole array that XLA:CPU runs
    # on every core (inside the streamed loop they ran on one, after a copy per block)
    stats = row_stats(student, inv_t)
    hard = None
    if labels is not None and obj.alpha > 0.0 and inv_t != 1.0:
        hard = row_stats(student, 1.0)

    def block_fn(start, b):
        def cut(a, axis=0):
            return take(a, start, b, axis)

        losses, grad = objective_block(
            obj, cfg.per_token, cut(student), cut(teacher, 1),
            None if entropy_beta is not None else cut(weights, 1),
            stats=tuple(cut(a) for a in stats), want_grad=want_grad,
            pos_weight=1.0 / n_norm if pos_weight is None else cut(pos_weight),
            labels=None if labels is None else cut(labels),
            hard_stats=None if hard is None else tuple(cut(a) for a in hard),
            entropy_beta=entropy_beta)
        return (losses,) if not want_grad else (losses, grad)

    outs = [((n,), dtype, 0)] + ([((n, v), dtype, 0)] if want_grad else [])
    return stream(block_fn, n, cfg.block, outs)


@functools.partial(jax.custom_vjp, nondiff_argnums=(3,))
def _kd_loss(student, teacher, weights, cfg: Config, extras):
    (losses,) = forward(student, teacher, weights, cfg, n_norm=student.shape[0], want_grad=False,
                        **extras)
    return jnp.sum(losses)


def _kd_loss_fwd(student, teacher, weights, cfg: Config, extras):
    # symbolic_zeros: each primal comes as (value, perturbed); only what is
    # differentiated is computed (and kept) for the backward pass.
    s, t, w = student.value, teacher.value, weights.value
    ex = {key: prim.value for key, prim in extras.items()}
    n = s.shape[0]
    outs = forward(s, t, w, cfg, n_norm=n, want_grad=student.perturbed, **ex)
    loss = jnp.sum(outs[0])
    extra = {}
    if teacher.perturbed or weights.perturbed:
        # Which cotangents are wanted is carried by the keys (values must be pytrees).
        extra = {"inputs": (s, t, w, ex.get("pos_weight"))}
        extra.update({key: None for key, prim in (("teacher", teacher), ("weights", weights))
                      if prim.perturbed})
    return loss, (outs[1] if student.perturbed else None, extra)


def _kd_loss_bwd(cfg: Config, res, g):
    grad, extra = res
    if isinstance(g, SymbolicZero):
        return None, None, None, None
    d_student = None if grad is None else grad * g
    d_teacher = d_weights = None
    if extra:
        need_t, need_w = "teacher" in extra, "weights" in extra
        s, t, w, pos_weight = extra["inputs"]
        pw = 1.0 / s.shape[0] if pos_weight is None else pos_weight
        cts = list(teacher_weight_cotangents(cfg.objective, cfg.block, cfg.per_token, s, t, w, pw,
                                             g, need_t, need_w))
        d_teacher = cts.pop(0) if need_t else None
        d_weights = cts.pop(0) if need_w else None
    return d_student, d_teacher, d_weights, None


_kd_loss.defvjp(_kd_loss_fwd, _kd_loss_bwd, symbolic_zeros=True)


def _extras(labels, pos_weight) -> dict:
    return {key: val for key, val in (("labels", labels), ("pos_weight", pos_weight))
            if val is not None}


def _run(student_logits, teacher_logits, weights, opts, *, entropy_beta=None, differentiable):
    """Shared body of the public functions: (loss, gradient wrt the student logits or None)."""
    formulation = opts.pop("formulation")
    s, t, w, labels, pw, cfg = prepare(student_logits, teacher_logits, weights, **opts)
    k, n, v = t.shape
    how = resolve_formulation(formulation, opts["block_size"], k, n, v)
    if how == "textbook":
        def loss_of(s_, t_, w_):
            return textbook_loss(cfg.objective, cfg.per_token, s_, t_, w_, labels=labels,
                                 pos_weight=pw, entropy_beta=entropy_beta)
        if differentiable:
            return loss_of(s, t, w), None
        loss, grad = jax.value_and_grad(loss_of)(s, t, w)
    elif differentiable:
        return _kd_loss(s, t, w, cfg, _extras(labels, pw)), None
    else:
        losses, grad = forward(s, t, w, cfg, n_norm=n, want_grad=True, entropy_beta=entropy_beta,
                               labels=labels, pos_weight=pw)
        loss = jnp.sum(losses)
    out_dtype = jnp.asarray(student_logits).dtype
    if jnp.issubdtype(out_dtype, jnp.floating):
        grad = grad.astype(out_dtype)
    return loss, grad




def kd_loss(student_logits: jax.Array, teacher_logits: jax.Array, weights: jax.Array, *,
            temperature: float = 1.0, t_squared: bool = False, divergence: str = "cross_entropy",
            beta: float = 0.5, labels: jax.Array | None = None, alpha: float = 0.0,
            mask: jax.Array | None = None, ignore_index: int | None = -100,
            block_size: int | None = None, formulation: str = "auto") -> jax.Array:
    """Mean over kept positions of the divergence of softmax(student / T) from q, a scalar.

    student_logits [N, V]; teacher_logits [K, N, V] (any float dtype); weights
    [K, N] or [K, N, V]; q = ensemble G at temperature T (per-token weights:
    renormalized over V). Differentiable (custom VJP): the student gradient is the
    analytic one from the fused forward pass; teacher-logit and weight cotangents are
    computed, streamed, only when asked for.

    Options (static, but for the arrays): `divergence` "cross_entropy" (default),
    "forward_kl", "reverse_kl" or "jsd" with `beta` (JSD(β) of GKD; 0 and 1 give the
    two KLs); `temperature` T for student and teachers, `t_squared` multiplies the
    divergence by T²; `labels` [N] (int) with weight `alpha` for the hard-label
    cross-entropy at T = 1: ℓ = (1 − α) D + α CE; `mask` [N] (true = kept) and
    `ignore_index` (labels equal to it are dropped): the mean is over kept positions;
    `block_size` positions per streamed block; `formulation` "auto" (streamed on the
    CPU, textbook on an accelerator when it fits; see kernels.formulation),
    "streamed" or "textbook".
    """
    opts = dict(temperature=temperature, t_squared=t_squared, divergence=divergence, beta=beta,
                labels=labels, alpha=alpha, mask=mask, ignore_index=ignore_index,
                block_size=block_size, formulation=formulation)
    return _run(student_logits, teacher_logits, weights, opts, differentiable=True)[0]


def kd_loss_and_grad(student_logits: jax.Array, teacher_logits: jax.Array, weights: jax.Array, *,
                     temperature: float = 1.0, t_squared: bool = False,
                     divergence: str = "cross_entropy", beta: float = 0.5,
                     labels: jax.Array | None = None, alpha: float = 0.0,
                     mask: jax.Array | None = None, ignore_index: int | None = -100,
                     block_size: int | None = None,
                     formulation: str = "auto") -> tuple[jax.Array, jax.Array]:
    """(kd_loss(...), its gradient wrt student_logits [N, V]) from one fused streamed pass.

    Same arguments and options as `kd_loss`; the gradient has the student logits' dtype.
    """
    opts = dict(temperature=temperature, t_squared=t_squared, divergence=divergence, beta=beta,
                labels=labels, alpha=alpha, mask=mask, ignore_index=ignore_index,
                block_size=block_size, formulation=formulation)
    return _run(student_logits, teacher_logits, weights, opts, differentiable=False)


def entropy_kd_loss_and_grad(student_logits: jax.Array, teacher_logits: jax.Array, *,
                             beta: float = 1.0, temperature: float = 1.0, t_squared: bool = False,
                             divergence: str = "cross_entropy", jsd_beta: float = 0.5,
                             labels: jax.Array | None = None, alpha: float = 0.0,
                             mask: jax.Array | None = None, ignore_index: int | None = -100,
                             block_size: int | None = None,
                             formulation: str = "auto") -> tuple[jax.Array, jax.Array]:
    """kd_loss_and_grad with weights = entropy_weights(teacher_logits, beta, temperature),
    fused: the weights are made from the same per-block exp, so the teacher logits
    are read once. Returns (loss, gradient wrt student_logits). Options as for
    `kd_loss`, except that here `beta` is the entropy weights' sharpness and
    `jsd_beta` the β of divergence="jsd"."""
    k, n, _ = check_teacher(teacher_logits)
    opts = dict(temperature=temperature, t_squared=t_squared, divergence=divergence, beta=jsd_beta,
                labels=labels, alpha=alpha, mask=mask, ignore_index=ignore_index,
                block_size=block_size, formulation=formulation)
    if not isinstance(beta, (int, float)):
        beta = jnp.asarray(beta).astype(kernel_dtype(student_logits, teacher_logits))
    return _run(student_logits, teacher_logits, jnp.ones((k, n), jnp.float32), opts,
                entropy_beta=beta, differentiable=False)


