"""JAX training loops on the kernels (private): SGD with η_t = η0/(1+t), Lagrangian descent.

Every loop is a `lax.scan` under `jit`, vmapped over independent runs (seeds,
noise levels, multipliers μ), with the KD loss from `axiomcheck.kernels.kd_loss`
(cross-entropy to the weighted ensemble, gradients through its custom VJP).
The student is linear softmax, logits = φ θ.  Iterates come back as float32
numpy arrays at requested checkpoints; the measurements are taken in float64
by `_numerics`.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from ..calling.extras import require
from ..kernels import GuardSpec, guard_init, guard_update, kd_loss

__all__ = ["sgd_checkpoints", "lagrangian_minimize", "primal_dual", "max_safety", "gd_path", "kd_value_and_grad"]


def _f32(x) -> jax.Array:
    return jnp.asarray(np.asarray(x, dtype=np.float32))


def _per_token(weights, v: int) -> np.ndarray:
    """[K, N] weights broadcast to [K, N, V] (same ensemble after the kernels' renormalization)."""
    w = np.asarray(weights, dtype=np.float32)
    return np.broadcast_to(w[..., None], w.shape + (v,)) if w.ndim == 2 else w


def _safety(logits: jax.Array, labels: jax.Array, critical: jax.Array) -> jax.Array:
    """Expected safety: mean over samples of p(y*) on critical samples, 1 elsewhere (Def. VIII.3)."""
    logp = jax.nn.log_softmax(logits, axis=-1)
    py = jnp.exp(jnp.take_along_axis(logp, labels[:, None], axis=1)[:, 0])
    return jnp.mean(jnp.where(critical, py, 1.0))


#: Shapes are padded to these so that one compiled loop serves many calls (compiling dominates small runs).
RUN_MULTIPLE = 8
CHECKPOINT_SLOTS = 48


def _pad_runs(a: np.ndarray, r_pad: int) -> np.ndarray:
    """Repeat the last run so the run axis has length r_pad (the extra runs are discarded)."""
    a = np.asarray(a)
    if a.shape[0] == r_pad:
        return a
    return np.concatenate([a, np.repeat(a[-1:], r_pad - a.shape[0], axis=0)])


def _padded_length(r: int) -> int:
    return -(-r // RUN_MULTIPLE) * RUN_MULTIPLE


@functools.partial(jax.jit, static_argnames=("steps", "batch", "guard"))
def _sgd(phi, teacher_logits, weights, keys, ckpts, eta0, l2, decay, *, steps, batch, guard=None):
    n = phi.shape[0]
    f, v = phi.shape[1], teacher_logits.shape[2]
    c = ckpts.shape[0] - 1  # the last entry is a sentinel (-1)

    def one(w, key):
        def loss(theta, idx):
            return kd_loss(phi[idx] @ theta, teacher_logits[:, idx], w[:, idx]) + 0.5 * l2 * jnp.sum(theta * theta)

        def step(carry, t):
            theta, buf, j, key, seen = carry
            key, sub = jax.random.split(key)
            idx = jax.random.randint(sub, (batch,), 0, n)
            g = jax.grad(loss)(theta, idx)
            if guard is not None:  # the weights this step's kernel call receives, at their sample indices
                seen = guard_update(seen, w[:, idx], t.astype(jnp.int32), guard, positions=idx)
            eta = eta0 / (1.0 + decay * t)
            theta = theta - eta * g
            hit = (t + 1) == ckpts[j]
            buf = jnp.where(hit, buf.at[j].set(theta), buf)
            return (theta, buf, j + hit.astype(j.dtype), key, seen), None

        seen0 = guard_init(guard) if guard is not None else ()
        init = (jnp.zeros((f, v), phi.dtype), jnp.zeros((c, f, v), phi.dtype), jnp.zeros((), jnp.int32), key, seen0)
        (_, buf, _, _, seen), _ = jax.lax.scan(step, init, jnp.arange(steps, dtype=phi.dtype))
        return buf, seen

    return jax.vmap(one)(weights, keys)


def sgd_checkpoints(phi: np.ndarray, teacher_logits: np.ndarray, weights: np.ndarray, seeds: np.ndarray, *,
                    l2: float, eta0: float, steps: int, batch: int, checkpoints: np.ndarray,
                    constant: bool = False, guard: GuardSpec | None = None):
    """Iterates θ_t of minibatch SGD at the checkpoints, for R runs at once.

    weights: [R, K, N] or [R, K, N, V] (one weight set per run); seeds: [R]
    ints.  Step t (t = 0, 1, …) samples `batch` indices with replacement and
    moves θ by η_t ∇(L_KD + λ/2‖θ‖²), η_t = η0/(1+t) (or η0 when `constant`).
    θ_0 = 0.  Returns float32 [R, C, F, V]; `checkpoints` are step counts in
    1…steps (θ after that many steps), at most 48 of them.

    To reuse one compiled loop, weights are always passed per token (a
    token-independent w is broadcast over V, which the kernels' renormalization
    leaves unchanged), runs are padded to a multiple of 8 and checkpoints to 48 slots.

    With `guard` (a `GuardSpec`), every step also passes the weights its kernel call
    receives to `guard_update` (positions = the sampled indices) and the result is
    `(iterates, GuardState)`, the state's leaves with a leading axis of R runs.
    """
    ck = np.asarray(checkpoints, dtype=np.int32)
    if ck.size > CHECKPOINT_SLOTS:
        raise ValueError(f"at most {CHECKPOINT_SLOTS} checkpoints, got {ck.size}")
    w = np.asarray(weights, dtype=np.float32)
    v = np.shape(teacher_logits)[2]
    if w.ndim == 3:
        w = np.broadcast_to(w[..., None], w.shape + (v,))
    r = w.shape[0]
    r_pad = _padded_length(r)
    w = _pad_runs(w, r_pad)
    sd = _pad_runs(np.asarray(seeds, dtype=np.uint32).reshape(-1), r_pad)
    slots = np.full(CHECKPOINT_SLOTS + 1, -1, dtype=np.int32)
    slots[: ck.size] = ck
    phi_j, tl_j, slots_j = _f32(phi), _f32(teacher_logits), jnp.asarray(slots)
    outs, seen = [], []
    for i in range(0, r_pad, RUN_MULTIPLE):  # fixed chunks of runs: one compiled loop per problem shape
        keys = jax.vmap(jax.random.PRNGKey)(jnp.asarray(sd[i:i + RUN_MULTIPLE]))
        buf, state = _sgd(phi_j, tl_j, jnp.asarray(w[i:i + RUN_MULTIPLE]), keys, slots_j, jnp.float32(eta0),
                          jnp.float32(l2), jnp.float32(0.0 if constant else 1.0), steps=int(steps),
                          batch=int(batch), guard=guard)
        outs.append(np.asarray(buf))
        seen.append(state)
    thetas = np.concatenate(outs)[:r, : ck.size]
    if guard is None:
        return thetas
    # the padded runs repeat the last one: they are dropped before the runs' states are merged
    return thetas, jax.tree_util.tree_map(lambda *leaves: np.concatenate(leaves)[:r], *seen)


def optax_minimize(objective, params, opt, steps: int):
    """`steps` full-batch optax updates of `params` on `objective`, as one `lax.scan` (traceable)."""
    optax = require("optax", extra="dynamics", purpose="the training-time checks")

    def step(carry, _):
        p, state = carry
        updates, state = opt.update(jax.grad(objective)(p), state, p)
        return (optax.apply_updates(p, updates), state), None

    (params, _), _ = jax.lax.scan(step, (params, opt.init(params)), None, length=steps)
    return params


@functools.partial(jax.jit, static_argnames=("steps",))
def _lagrangian(phi, teacher_logits, weights, labels, critical, theta0, mus, l2, lr, *, steps):
    optax = require("optax", extra="dynamics", purpose="the training-time checks")

    opt = optax.adam(optax.cosine_decay_schedule(lr, steps, alpha=1e-3))

    def one(theta, mu):
        def obj(th):
            z = phi @ th
            return kd_loss(z, teacher_logits, weights) + 0.5 * l2 * jnp.sum(th * th) - mu * _safety(z, labels, critical)

        return optax_minimize(obj, theta, opt, steps)

    return jax.vmap(one)(theta0, mus)


def lagrangian_minimize(phi, teacher_logits, weights, labels, critical, mus, *, l2: float, theta0=None,
                        steps: int = 1500, lr: float = 0.05) -> np.ndarray:
    """argmin_θ L_KD(θ) + λ/2‖θ‖² − μ Safety_D(θ) for each μ (full batch, Adam), [R, F, V]."""
    mus = np.asarray(mus, dtype=np.float32)
    r = len(mus)
    mus_p = _pad_runs(mus, _padded_length(r))
    f, v = phi.shape[1], teacher_logits.shape[2]
    th0 = np.zeros((len(mus_p), f, v), np.float32) if theta0 is None else np.broadcast_to(
        np.asarray(theta0, np.float32), (len(mus_p), f, v))
    args = (_f32(phi), _f32(teacher_logits), _f32(_per_token(weights, v)), jnp.asarray(labels, jnp.int32),
            jnp.asarray(critical, bool))
    outs = [np.asarray(_lagrangian(*args, _f32(th0[i:i + RUN_MULTIPLE]), _f32(mus_p[i:i + RUN_MULTIPLE]),
                                   jnp.float32(l2), jnp.float32(lr), steps=int(steps)))
            for i in range(0, len(mus_p), RUN_MULTIPLE)]
    return np.concatenate(outs)[:r]


@functools.partial(jax.jit, static_argnames=("outer", "inner"))
def _primal_dual(phi, teacher_logits, weights, labels, critical, theta0, s_min, l2, lr, dual_lr, *, outer, inner):
    optax = require("optax", extra="dynamics", purpose="the training-time checks")

    opt = optax.adam(lr)

    def obj(th, mu):
        z = phi @ th
        return kd_loss(z, teacher_logits, weights) + 0.5 * l2 * jnp.sum(th * th) - mu * _safety(z, labels, critical)

    def outer_step(carry, i):
        th, st, mu = carry

        def inner_step(c, _):
            t, s = c
            g = jax.grad(obj)(t, mu)
            upd, s = opt.update(g, s, t)
            return (optax.apply_updates(t, upd), s), None

        (th, st), _ = jax.lax.scan(inner_step, (th, st), None, length=inner)
        safety = _safety(phi @ th, labels, critical)
        # projected dual ascent on μ (the dual variable of Safety ≥ Safety_min), decaying step
        mu = jnp.maximum(0.0, mu + dual_lr / jnp.sqrt(1.0 + i) * (s_min - safety))
        return (th, st, mu), (mu, safety)

    init = (theta0, opt.init(theta0), jnp.zeros((), phi.dtype))
    (th, _, mu), (mus, safeties) = jax.lax.scan(outer_step, init, jnp.arange(outer, dtype=phi.dtype))
    return th, mu, mus, safeties


def primal_dual(phi, teacher_logits, weights, labels, critical, *, s_min: float, l2: float, theta0=None,
                outer: int = 300, inner: int = 20, lr: float = 0.005, dual_lr: float = 300.0):
    """Primal-dual training of the Lagrangian L_KD + λ/2‖θ‖² − μ (Safety_D − Safety_min) (Thm VIII.5).

    `outer` rounds of: `inner` Adam steps on θ at fixed μ, then a projected
    dual-ascent step μ ← max(0, μ + β_i (Safety_min − Safety_D(θ))), β_i =
    dual_lr/√(1+i).  Returns (θ [F,V], μ, μ history [outer], safety history [outer]).
    """
    f, v = phi.shape[1], teacher_logits.shape[2]
    th0 = np.zeros((f, v), np.float32) if theta0 is None else np.asarray(theta0, np.float32)
    th, mu, mus, safeties = _primal_dual(_f32(phi), _f32(teacher_logits), _f32(_per_token(weights, v)),
                                         jnp.asarray(labels, jnp.int32),
                                         jnp.asarray(critical, bool), _f32(th0), jnp.float32(s_min), jnp.float32(l2),
                                         jnp.float32(lr), jnp.float32(dual_lr), outer=int(outer), inner=int(inner))
    return np.asarray(th), float(mu), np.asarray(mus), np.asarray(safeties)


@functools.partial(jax.jit, static_argnames=("steps", "vocab"))
def _max_safety(phi, labels, critical, lr, *, steps, vocab):
    optax = require("optax", extra="dynamics", purpose="the training-time checks")

    opt = optax.adam(lr)

    def step(c, _):
        th, s = c
        g = jax.grad(lambda t: -_safety(phi @ t, labels, critical))(th)
        upd, s = opt.update(g, s, th)
        return (optax.apply_updates(th, upd), s), None

    theta = jnp.zeros((phi.shape[1], vocab), phi.dtype)
    (th, _), _ = jax.lax.scan(step, (theta, opt.init(theta)), None, length=steps)
    return th


def max_safety(phi, labels, critical, vocab: int, *, steps: int = 2000, lr: float = 0.1) -> np.ndarray:
    """θ that (approximately) maximizes Safety_D alone: the best safety a student of this class is seen to reach."""
    return np.asarray(_max_safety(_f32(phi), jnp.asarray(labels, jnp.int32), jnp.asarray(critical, bool),
                                  jnp.float32(lr), steps=int(steps), vocab=int(vocab)))


@functools.partial(jax.jit, static_argnames=("steps", "temperature"))
def _gd(phi, teacher_logits, weights, lr, *, steps, temperature):
    def loss(th):
        return kd_loss(phi @ th, teacher_logits, weights, temperature=temperature, t_squared=True)

    def step(th, _):
        return th - lr * jax.grad(loss)(th), None

    th0 = jnp.zeros((phi.shape[1], teacher_logits.shape[2]), phi.dtype)
    th, _ = jax.lax.scan(step, th0, None, length=steps)
    return th


def gd_path(phi, teacher_logits, weights, *, steps: int, lr: float, temperature: float = 1.0) -> np.ndarray:
    """θ after `steps` full-batch gradient steps on T²·L_KD at temperature T, from θ = 0 (kernels path)."""
    return np.asarray(_gd(_f32(phi), _f32(teacher_logits), _f32(weights), jnp.float32(lr), steps=int(steps),
                          temperature=float(temperature)))


def kd_value_and_grad(phi, teacher_logits, weights, theta, *, temperature: float = 1.0):
    """(T²·L_KD(θ), its gradient wrt θ) through the kernels, float32."""
    def loss(th):
        return kd_loss(_f32(phi) @ th, _f32(teacher_logits), _f32(weights), temperature=temperature, t_squared=True)

    val, g = jax.value_and_grad(loss)(_f32(theta))
    return float(val), np.asarray(g)
