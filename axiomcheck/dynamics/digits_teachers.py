"""The digits world's four teachers: small MLPs of different data, inputs and capacity, trained
together in JAX with optax Adam (one compiled, vmapped loop).

0 `robust` (64-64-10, clean + corrupted copies), 1 `clean_expert` (64-96-10,
clean images only), 2 `small_data` (64-8-10, 12 % of the images), 3 `top_half`
(64-32-10, sees only the upper half of each image).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..calling.extras import require
from ._train import optax_minimize
from .digits_data import DigitsConfig, corrupt

__all__ = ["TEACHER_NAMES", "HIDDEN", "Teacher", "train_teachers"]

TEACHER_NAMES = ("robust", "clean_expert", "small_data", "top_half")
HIDDEN = 96  # hidden width of every teacher; smaller capacities mask hidden units


def _forward(params, x, hmask):
    (w1, b1), (w2, b2) = params
    h = jax.nn.relu(x @ w1 + b1) * hmask
    return h @ w2 + b2


@functools.partial(jax.jit, static_argnames=("steps",))
def _fit_all(params, x, y, sw, fmask, hmask, lr, l2, *, steps):
    """Train K teachers at once (vmapped): weighted CE (sample weights sw mask the padding) + ℓ2, Adam."""
    optax = require("optax", extra="dynamics", purpose="training the digits teachers")

    opt = optax.adam(lr)

    def one(p, xk, yk, swk, fm, hm):
        def loss(q):
            logits = _forward(q, xk * fm, hm)
            ce = -jnp.take_along_axis(jax.nn.log_softmax(logits), yk[:, None], axis=1)[:, 0]
            return jnp.sum(ce * swk) / jnp.sum(swk) + l2 * (jnp.sum(q[0][0] ** 2) + jnp.sum(q[1][0] ** 2))

        return optax_minimize(loss, p, opt, steps)

    return jax.vmap(one)(params, x, y, sw, fmask, hmask)


@dataclasses.dataclass(frozen=True)
class Teacher:
    name: str
    description: str
    params: Any
    mask: np.ndarray  # [64] which pixels it sees
    hidden: np.ndarray  # [HIDDEN] which hidden units it has

    def logits(self, x: np.ndarray) -> np.ndarray:
        xx = jnp.asarray((x * self.mask).astype(np.float32))
        return np.asarray(_forward(self.params, xx, jnp.asarray(self.hidden, jnp.float32)), dtype=np.float64)


def train_teachers(x: np.ndarray, y: np.ndarray, cfg: DigitsConfig, rng: np.random.Generator) -> list[Teacher]:
    """Four teachers of different data, inputs and capacity, trained together (one compiled, vmapped loop)."""
    n = len(y)
    lv = rng.uniform(0.6, 1.0, size=n)
    small = rng.permutation(n)[: int(0.12 * n)]
    top = np.r_[np.ones(32), np.zeros(32)]
    specs = [  # name, description, inputs, labels, hidden units, pixel mask
        ("robust", "MLP 64-64-10 trained on clean + corrupted copies", np.r_[x, corrupt(x, lv, rng)], np.r_[y, y],
         64, np.ones(64)),
        ("clean_expert", "MLP 64-96-10 trained on clean images only", x, y, 96, np.ones(64)),
        ("small_data", "MLP 64-8-10 trained on 12 % of the clean images", x[small], y[small], 8, np.ones(64)),
        ("top_half", "MLP 64-32-10 that sees only the upper half of each image", x, y, 32, top),
    ]
    n_max = max(len(s[3]) for s in specs)
    k = len(specs)
    xs = np.zeros((k, n_max, 64), np.float32)
    ys = np.zeros((k, n_max), np.int32)
    sw = np.zeros((k, n_max), np.float32)
    for i, (_, _, xi, yi, _, _) in enumerate(specs):
        xs[i, : len(yi)], ys[i, : len(yi)], sw[i, : len(yi)] = xi, yi, 1.0
    hm = np.stack([(np.arange(HIDDEN) < s[4]).astype(np.float32) for s in specs])
    fm = np.stack([s[5].astype(np.float32) for s in specs])
    keys = jax.random.split(jax.random.PRNGKey(cfg.seed), 2 * k)
    params = ((jnp.stack([jax.random.normal(keys[i], (64, HIDDEN)) * np.sqrt(2 / 64) for i in range(k)]),
               jnp.zeros((k, HIDDEN))),
              (jnp.stack([jax.random.normal(keys[k + i], (HIDDEN, 10)) * np.sqrt(2 / HIDDEN) for i in range(k)]),
               jnp.zeros((k, 10))))
    out = _fit_all(params, jnp.asarray(xs), jnp.asarray(ys), jnp.asarray(sw), jnp.asarray(fm), jnp.asarray(hm),
                   jnp.float32(0.01), jnp.float32(1e-4), steps=int(cfg.teacher_steps))
    teachers = []
    for i, (name, desc, _, _, _, mask) in enumerate(specs):
        p = jax.tree_util.tree_map(lambda a, i=i: a[i], out)
        teachers.append(Teacher(name, desc, p, mask, hm[i]))
    return teachers
