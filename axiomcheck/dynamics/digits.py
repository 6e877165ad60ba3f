"""Real data: adaptive versus uniform distillation on scikit-learn's handwritten digits (no download).

The world (8×8 images, 10 classes: the "vocabulary" is the class set, V = 10):

* **contexts** — clean versus corrupted inputs (Gaussian noise plus an occluded
  band).  The context vector is c = (ℓ − 0.25, brightness) with ℓ the corruption
  level (0 when clean, 0.6…1 when corrupted), so C_safe = {c₀ > 0} is the
  corrupted, safety-critical context.  Its share shifts from 5 % in training to
  60 % at deployment (paper §I.A).
* **tasks** — three data partitions of different abundance: digits {0–3}
  (all kept), {4–6} (40 % kept) and {7–9} (15 % kept) in the distillation set.
* **safety-critical classes** S = {3, 8}; Safety(p; y*) = p(y*) on them.
* **teachers** (JAX, optax Adam), K = 4, of really different reliability:
  0 `robust` (MLP 64-64-10 trained with corruption augmentation), 1
  `clean_expert` (a wider MLP, 64-96-10, that never saw a corrupted image), 2
  `small_data` (a narrow MLP, 64-8-10, on 12 % of the images), 3 `top_half`
  (MLP 64-32-10 that sees only the upper half of each image).
* **operators** — `digits_token`, `digits_task`, `digits_context` (built here
  from the teachers' validation statistics, `register=False`) and their
  composition; all are run through `axiomcheck.verify` and their verdicts kept.
* **students** — linear softmax on the 64 pixels with ℓ2, distilled by SGD with
  η_t = η0/(1+t) through the kernels, once with uniform weights and once with the
  composed adaptive operator, and once more under a safety constraint.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..compose import compose
from ..operator import Operator, Safety, context_operator, task_operator, token_operator
from ..repro import dynamics_demo
from . import _numerics as nx
from ._train import optax_minimize
from .problem import KDProblem, uniform_like, weights_for

__all__ = ["DigitsConfig", "DigitsWorld", "build_world", "make_operators", "corrupt", "load_digits_arrays",
           "TEACHER_NAMES", "TASK_GROUPS", "evaluate", "ensemble_probs", "test_problem", "weights_by_context",
           "run_digits", "seed_sweep", "METRICS"]

TEACHER_NAMES = ("robust", "clean_expert", "small_data", "top_half")
TASK_GROUPS = ((0, 1, 2, 3), (4, 5, 6), (7, 8, 9))


@dataclasses.dataclass(frozen=True)
class DigitsConfig:
    """Settings of the digits world (defaults: the demo's)."""

    seed: int = 0
    critical_classes: tuple[int, ...] = (3, 8)
    train_corrupt_share: float = 0.05
    deploy_corrupt_share: float = 0.60
    task_keep: tuple[float, ...] = (1.0, 0.4, 0.15)
    l2: float = 3e-4
    teacher_steps: int = 300


# ----------------------------------------------------------------------------- data


def load_digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """(X [1797, 64] in [0, 1], y [1797]) from scikit-learn's bundled copy (the optional `data` extra)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("the digits data set ships with scikit-learn: pip install 'axiomcheck[data]'") from exc
    d = load_digits()
    return d.data.astype(np.float64) / 16.0, d.target.astype(int)


def corrupt(x: np.ndarray, level: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Corrupt images [N, 64] at levels ℓ ∈ [0, 1]: Gaussian noise σ = 0.45ℓ and, with probability ℓ,
    a blanked band of 3 rows or 3 columns at a random place; clipped to [0, 1].  ℓ = 0 leaves x as is."""
    x = np.array(x, dtype=np.float64)
    level = np.asarray(level, dtype=np.float64)
    n = x.shape[0]
    img = x.reshape(n, 8, 8)
    noise = rng.normal(size=img.shape) * (0.45 * level)[:, None, None]
    img = img + noise
    band = rng.random(n) < level
    start = rng.integers(0, 6, size=n)
    rows = rng.random(n) < 0.5
    for i in np.nonzero(band)[0]:
        if rows[i]:
            img[i, start[i]:start[i] + 3, :] = 0.0
        else:
            img[i, :, start[i]:start[i] + 3] = 0.0
    return np.clip(img, 0.0, 1.0).reshape(n, 64)


def _levels(n: int, share: float, rng: np.random.Generator) -> np.ndarray:
    """Corruption levels: a `share` of the samples (exactly rounded) at U(0.6, 1), the rest 0."""
    lv = np.zeros(n)
    m = int(round(share * n))
    idx = rng.permutation(n)[:m]
    lv[idx] = rng.uniform(0.6, 1.0, size=m)
    return lv


def _context(x: np.ndarray, level: np.ndarray) -> np.ndarray:
    """c = (ℓ − 0.25, standardized brightness): c₀ > 0 exactly on corrupted inputs."""
    bright = (x.mean(axis=1) - 0.3) * 5.0
    return np.c_[level - 0.25, bright]


# ----------------------------------------------------------------------------- teachers


HIDDEN = 96  # hidden width of every teacher; smaller capacities mask hidden units


def _forward(params, x, hmask):
    (w1, b1), (w2, b2) = params
    h = jax.nn.relu(x @ w1 + b1) * hmask
    return h @ w2 + b2


@functools.partial(jax.jit, static_argnames=("steps",))
def _fit_all(params, x, y, sw, fmask, hmask, lr, l2, *, steps):
    """Train K teachers at once (vmapped): weighted CE (sample weights sw mask the padding) + ℓ2, Adam."""
    import optax

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


def _train_teachers(x: np.ndarray, y: np.ndarray, cfg: DigitsConfig, rng: np.random.Generator) -> list[Teacher]:
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


# ----------------------------------------------------------------------------- operators


def _softmax(z: np.ndarray, axis: int = 1) -> np.ndarray:
    z = z - np.max(z, axis=axis, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=axis, keepdims=True)


def _box_bounds(lo: np.ndarray, hi: np.ndarray) -> tuple[float, float]:
    """Exact range of softmax weights whose logit k lies in [lo_k, hi_k] (extremes at corners)."""
    lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    e_lo, e_hi = np.exp(lo), np.exp(hi)
    w_min = e_lo / (e_lo + (e_hi.sum() - e_hi))
    w_max = e_hi / (e_hi + (e_lo.sum() - e_lo))
    return float(w_min.min()), float(w_max.max())


def _gate(context: np.ndarray, width: float) -> np.ndarray:
    """g(c) = clip(1 + c₀/width, 0, 1): 1 on C_safe = {c₀ > 0} (and at 0), 0 for c₀ ≤ −width; continuous."""
    c0 = np.nan_to_num(np.asarray(context, dtype=np.float64)[:, 0], nan=0.0, posinf=1e300, neginf=-1e300)
    return np.clip(1.0 + c0 / width, 0.0, 1.0)


def _lift_safest(z: np.ndarray, safest: int) -> np.ndarray:
    """Raise the safest teacher's logit to the largest one (axis 1): continuous (max is), inside the same
    logit box, and afterwards the safest teacher holds the maximum."""
    z = np.array(z, dtype=np.float64)
    z[:, safest] = np.max(z, axis=1)
    return z


#: Logit scales of the three factors; the safety margins are chosen so the composed weight keeps
#: the safety order: γ_tok > β_task + β_ctx on S, γ_ctx > β_task on C_safe.
BETA_ENTROPY, BETA_TASK, BETA_CONTEXT = 2.0, 0.5, 1.0
GAMMA_TOKEN = BETA_TASK + BETA_CONTEXT + 0.1
GAMMA_CONTEXT = BETA_TASK + 0.1
GATE_WIDTH = 0.2


def make_operators(stats: dict[str, Any], *, critical_classes: tuple[int, ...] = (3, 8), teachers: int = 4
                   ) -> tuple[Operator, Operator, Operator]:
    """The three digits operators, from the teachers' validation statistics.

    stats: `clean_accuracy` [K], `corrupted_safety` [K] (mean p(y*) on critical
    classes of corrupted validation images), `safest` (the designated safest
    teacher index).  Designated ordering: the safest teacher is safer than every
    other (`pairs`), on S and on C_safe.

    * `digits_token` — w ∝ exp(−β·H(p_k)/log V) per position; on safety-critical
      tokens the safest teacher is lifted to the largest logit plus a margin
      γ_tok; on C_safe (gated, continuous) it is lifted to the largest logit.
    * `digits_task` — w_tk ∝ exp(−β_task·ℓ_tk/(1+ℓ_tk)), ℓ_tk teacher k's
      validation loss on task t; importance λ_t ∝ √n_t.
    * `digits_context` — w ∝ exp(β_ctx·accuracy score) on clean contexts and
      exp(β_ctx·safety score + γ_ctx·[k safest]) on corrupted ones, blended by a
      continuous gate in c₀.
    """
    k = teachers
    safest = int(stats["safest"])
    pairs = [(safest, j) for j in range(k) if j != safest]
    acc = np.asarray(stats["clean_accuracy"], dtype=np.float64)
    saf = np.asarray(stats["corrupted_safety"], dtype=np.float64)

    def unit(v: np.ndarray) -> np.ndarray:
        span = v.max() - v.min()
        return (v - v.min()) / span if span > 0 else np.zeros_like(v)

    a_score, s_score = unit(acc), unit(saf)
    onehot = np.eye(k)[safest]
    crit = tuple(int(c) for c in critical_classes)

    tok_lo, tok_hi = np.full(k, -BETA_ENTROPY), GAMMA_TOKEN * onehot

    def digits_token(probs, context):
        """Entropy-based per-token weights; the safest teacher leads on S (with a margin) and on C_safe."""
        p = np.clip(np.asarray(probs, dtype=np.float64), 0.0, 1.0)
        b, kk, v = p.shape
        plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
        h = np.clip(-plogp.sum(axis=2) / np.log(max(v, 2)), 0.0, 1.0)  # [B, K]
        z = -BETA_ENTROPY * h
        if safest >= kk:  # a world with fewer teachers than the ranking names: no ordering to impose
            return np.repeat(_softmax(z)[:, :, None], v, axis=2)
        lifted = _lift_safest(z, safest)
        g = _gate(context, GATE_WIDTH)[:, None]
        z_off = (1.0 - g) * z + g * lifted  # not on S: ordered on C_safe
        z_on = lifted + GAMMA_TOKEN * np.eye(kk)[safest][None]  # on S: the safest leads by ≥ γ_tok
        out = np.repeat(_softmax(z_off)[:, :, None], v, axis=2)
        toks = [i for i in crit if i < v]
        if toks:
            out[:, :, toks] = _softmax(z_on)[:, :, None]
        return out

    tok = token_operator(digits_token, name="digits_token", bounds=_box_bounds(tok_lo, tok_hi),
                         safety=Safety(tokens=list(crit), pairs=pairs), register=False)

    def importance(losses, sizes):
        n = np.maximum(np.asarray(sizes, dtype=np.float64), 1e-300)
        return _softmax(0.5 * np.log(n), axis=1)

    def digits_task(losses, sizes):
        """w_tk ∝ exp(−β·ℓ̃_tk), ℓ̃ = ℓ/(1+ℓ) ∈ [0, 1): teachers with lower validation loss on a task lead it."""
        ell = np.asarray(losses, dtype=np.float64)
        ell = np.where(np.isnan(ell), np.inf, np.maximum(ell, 0.0))
        sq = np.where(np.isinf(ell), 1.0, ell / (1.0 + np.where(np.isinf(ell), 0.0, ell)))
        return _softmax(-BETA_TASK * sq, axis=2)

    task = task_operator(digits_task, name="digits_task", bounds=_box_bounds(np.full(k, -BETA_TASK), np.zeros(k)),
                         importance=importance, register=False)

    ctx_lo = np.zeros(k)
    ctx_hi = np.maximum(BETA_CONTEXT * a_score, BETA_CONTEXT * s_score + GAMMA_CONTEXT * onehot)

    def digits_context(context):
        """Clean contexts: trust by clean accuracy; corrupted (C_safe): by corrupted safety, the safest leading."""
        g = _gate(context, GATE_WIDTH)[:, None]
        z = (1.0 - g) * (BETA_CONTEXT * a_score)[None] + g * (BETA_CONTEXT * s_score + GAMMA_CONTEXT * onehot)[None]
        return _softmax(z)

    def corrupted(context):
        return np.asarray(context, dtype=np.float64)[:, 0] > 0

    ctx = context_operator(digits_context, name="digits_context", bounds=_box_bounds(ctx_lo, ctx_hi),
                           safety=Safety(contexts=corrupted, pairs=pairs), register=False)
    return tok, task, ctx


# ----------------------------------------------------------------------------- the world


@dataclasses.dataclass
class DigitsWorld:
    """Everything the digits experiment built: data splits, teachers, statistics, operators, problems."""

    config: DigitsConfig
    teachers: list[Teacher]
    stats: dict[str, Any]
    operators: dict[str, Operator]
    problem: KDProblem  # the distillation (transfer) set
    test: dict[str, np.ndarray]  # deployment split: x, y, level, context, task_ids, features, teacher_logits
    scaler: tuple[np.ndarray, np.ndarray]
    timings: dict[str, float]


def _task_ids(y: np.ndarray) -> np.ndarray:
    out = np.empty(len(y), dtype=int)
    for t, group in enumerate(TASK_GROUPS):
        out[np.isin(y, group)] = t
    return out


def _features(x: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    z = (x - mean) / sd / np.sqrt(x.shape[1])
    return np.c_[z, np.ones(len(z))]


def build_world(config: DigitsConfig | None = None, *, progress: Callable[[str], None] | None = None) -> DigitsWorld:
    """Split the digits, train the four teachers, measure them, build the operators and the KD problem."""
    cfg = config or DigitsConfig()
    say = progress or (lambda _m: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    x, y = load_digits_arrays()
    rng = np.random.default_rng(cfg.seed)
    perm = rng.permutation(len(y))
    n_tr, n_va = int(0.5 * len(y)), int(0.2 * len(y))
    tr_idx, va_idx, te_idx = perm[:n_tr], perm[n_tr:n_tr + n_va], perm[n_tr + n_va:]
    say("training 4 teachers")
    teachers = _train_teachers(x[tr_idx], y[tr_idx], cfg, rng)
    timings["teachers_s"] = time.perf_counter() - t0

    # validation statistics: clean accuracy, safety on corrupted critical images, per-task losses
    xv, yv = x[va_idx], y[va_idx]
    xv_bad = corrupt(xv, rng.uniform(0.6, 1.0, size=len(yv)), rng)
    crit_v = np.isin(yv, cfg.critical_classes)
    clean_acc, bad_acc, bad_safety, task_losses = [], [], [], np.zeros((len(TASK_GROUPS), len(teachers)))
    lv_val = _levels(len(yv), cfg.train_corrupt_share, rng)
    xv_mix = np.where(lv_val[:, None] > 0, corrupt(xv, lv_val, rng), xv)
    tv = _task_ids(yv)
    for k, t in enumerate(teachers):
        clean_acc.append(float(np.mean(np.argmax(t.logits(xv), 1) == yv)))
        lb = t.logits(xv_bad)
        bad_acc.append(float(np.mean(np.argmax(lb, 1) == yv)))
        pb = nx.softmax(lb)
        bad_safety.append(float(np.mean(pb[crit_v, yv[crit_v]])))
        ls = nx.log_softmax(t.logits(xv_mix))
        for task in range(len(TASK_GROUPS)):
            m = tv == task
            task_losses[task, k] = float(-np.mean(ls[m, yv[m]]))
    safest = int(np.argmax(bad_safety))
    stats = {"clean_accuracy": clean_acc, "corrupted_accuracy": bad_acc, "corrupted_safety": bad_safety,
             "task_losses": task_losses.tolist(), "safest": safest, "teacher_names": [t.name for t in teachers],
             "teacher_descriptions": [t.description for t in teachers]}
    tok, task, ctx = make_operators(stats, critical_classes=cfg.critical_classes, teachers=len(teachers))
    adaptive = compose(tok, task, ctx, name="digits_adaptive")
    ops = {"digits_token": tok, "digits_task": task, "digits_context": ctx, "digits_adaptive": adaptive,
           "uniform": uniform_like(adaptive, len(teachers))}

    # the distillation set: training split thinned per task, 5 % corrupted
    ytr = y[tr_idx]
    keep = np.zeros(len(ytr), dtype=bool)
    t_tr = _task_ids(ytr)
    for task, frac in enumerate(cfg.task_keep):
        idx = np.nonzero(t_tr == task)[0]
        keep[rng.permutation(idx)[: max(1, int(round(frac * len(idx))))]] = True
    xs, ys = x[tr_idx][keep], ytr[keep]
    lv = _levels(len(ys), cfg.train_corrupt_share, rng)
    xs = np.where(lv[:, None] > 0, corrupt(xs, lv, rng), xs)
    mean, sd = xs.mean(axis=0), np.maximum(xs.std(axis=0), 0.05)
    ts = _task_ids(ys)
    problem = KDProblem(
        name="digits", features=_features(xs, mean, sd), teacher_logits=np.stack([t.logits(xs) for t in teachers]),
        context=_context(xs, lv), task_ids=ts, task_losses=task_losses,
        task_sizes=np.bincount(ts, minlength=len(TASK_GROUPS)).astype(np.float64), labels=ys,
        critical_classes=tuple(cfg.critical_classes), critical_context=lv > 0, l2=cfg.l2,
        description=(f"digits distillation set: {len(ys)} images, {int((lv > 0).sum())} corrupted "
                     f"({cfg.train_corrupt_share:.0%}), tasks {TASK_GROUPS} kept at {cfg.task_keep}"))

    # the deployment (test) split: 60 % corrupted
    xt, yt = x[te_idx], y[te_idx]
    lt = _levels(len(yt), cfg.deploy_corrupt_share, rng)
    xt = np.where(lt[:, None] > 0, corrupt(xt, lt, rng), xt)
    test = {"x": xt, "y": yt, "level": lt, "context": _context(xt, lt), "task_ids": _task_ids(yt),
            "features": _features(xt, mean, sd), "teacher_logits": np.stack([t.logits(xt) for t in teachers])}
    timings["world_s"] = time.perf_counter() - t0
    return DigitsWorld(cfg, teachers, stats, ops, problem, test, (mean, sd), timings)


def test_problem(world: DigitsWorld) -> KDProblem:
    """The deployment split as a KDProblem (to compute the operators' weights and ensembles there)."""
    t = world.test
    return world.problem.replace(name="digits-test", features=t["features"], teacher_logits=t["teacher_logits"],
                                 context=t["context"], task_ids=t["task_ids"], labels=t["y"],
                                 critical_context=t["level"] > 0)


def evaluate(probs: np.ndarray, world: DigitsWorld) -> dict[str, float]:
    """Held-out (deployment) accuracy and safety of a predictive distribution [N_test, 10]."""
    t = world.test
    y, bad = t["y"], t["level"] > 0
    crit = np.isin(y, world.config.critical_classes)
    pred = np.argmax(probs, axis=1)
    py = probs[np.arange(len(y)), y]

    def mean(mask: np.ndarray, v: np.ndarray) -> float:
        return float(np.mean(v[mask])) if mask.any() else float("nan")

    hit = (pred == y).astype(float)
    return {
        "accuracy": float(hit.mean()), "accuracy_clean": mean(~bad, hit), "accuracy_corrupted": mean(bad, hit),
        "safety": float(np.mean(np.where(crit, py, 1.0))),
        "safety_critical_classes": mean(crit, py), "safety_critical_corrupted": mean(crit & bad, py),
        "recall_critical_corrupted": mean(crit & bad, hit),
    }


def ensemble_probs(world: DigitsWorld, op: Operator) -> np.ndarray:
    """The operator's weighted ensemble on the deployment split."""
    prob = test_problem(world)
    return nx.ensemble(prob.teacher_probs, weights_for(op, prob).values)


# ----------------------------------------------------------------------------- the experiment


def _verdict(report: Any) -> dict[str, Any]:
    return {"operator": report.operator, "scale": report.scale, "passed": report.passed,
            "failing": report.failing(), "statuses": report.statuses(), "elapsed_s": round(report.elapsed_s, 3)}


def weights_by_context(world: DigitsWorld, op: Operator) -> dict[str, Any]:
    """Mean weight of each teacher on the deployment split: clean vs corrupted contexts, all tokens vs S."""
    prob = test_problem(world)
    w = weights_for(op, prob).values
    bad = prob.critical_context
    crit = list(world.config.critical_classes)
    out: dict[str, Any] = {"teachers": [t.name for t in world.teachers]}
    for label, mask in (("clean", ~bad), ("corrupted", bad)):
        if w.ndim == 3:
            out[label] = w[:, mask].mean(axis=(1, 2)).tolist()
            out[label + "_critical_tokens"] = w[:, mask][:, :, crit].mean(axis=(1, 2)).tolist()
        else:
            out[label] = w[:, mask].mean(axis=1).tolist()
            out[label + "_critical_tokens"] = out[label]
    return out


METRICS = ("accuracy", "accuracy_clean", "accuracy_corrupted", "safety", "safety_critical_classes",
           "safety_critical_corrupted", "recall_critical_corrupted")


def _world_table(world: DigitsWorld, *, quick: bool) -> list[dict[str, Any]]:
    """Deployment metrics of the ensembles and of converged students (θ* by the high-accuracy solve;
    the safety-constrained one by primal-dual training) in one world."""
    from .convergence import solve
    from .safety import _safety_constrained

    ops, prob, feats = world.operators, world.problem, world.test["features"]
    rows = [{"model": "uniform ensemble", **evaluate(ensemble_probs(world, ops["uniform"]), world)},
            {"model": "adaptive ensemble", **evaluate(ensemble_probs(world, ops["digits_adaptive"]), world)}]
    for name, label in (("uniform", "student, uniform KD"), ("digits_adaptive", "student, adaptive KD")):
        th = solve(prob, weights_for(ops[name], prob).values, spectrum=False)[1]
        rows.append({"model": label, **evaluate(nx.softmax(feats @ th), world)})
    _, th = _safety_constrained(ops["digits_adaptive"], problem=prob, safety_min=None, outer=None, inner=20,
                                tol=1e-3, stationarity_tol=0.05, seed=world.config.seed, quick=quick)
    if th is not None:
        rows.append({"model": "student, adaptive KD + safety constraint", **evaluate(nx.softmax(feats @ th), world)})
    return rows


def seed_sweep(seeds: Any, *, quick: bool = False, progress: Callable[[str], None] | None = None,
               first: DigitsWorld | None = None) -> dict[str, Any]:
    """The deployment table over several worlds (split, corruption, teachers all re-drawn per seed).

    Returns per-seed rows and, per model and metric, the mean and standard
    deviation over seeds (students at their optimum θ*, not an SGD iterate).
    """
    say = progress or (lambda _m: None)
    per_seed = {}
    for s in seeds:
        say(f"digits world, seed {s}")
        world = first if first is not None and first.config.seed == s else build_world(DigitsConfig(seed=int(s)))
        per_seed[int(s)] = _world_table(world, quick=quick)
    models = [r["model"] for r in next(iter(per_seed.values()))]
    summary = []
    for m in models:
        row: dict[str, Any] = {"model": m}
        for metric in METRICS:
            vals = np.array([next(r[metric] for r in rows if r["model"] == m) for rows in per_seed.values()])
            row[metric] = float(vals.mean())
            row[metric + "_sd"] = float(vals.std(ddof=1)) if len(vals) > 1 else 0.0
        summary.append(row)
    # paired differences adaptive − uniform (same world), the comparison the demo is about
    diffs = {}
    for a, b, key in (("student, adaptive KD", "student, uniform KD", "students"),
                      ("adaptive ensemble", "uniform ensemble", "ensembles")):
        d = {}
        for metric in METRICS:
            v = np.array([next(r[metric] for r in rows if r["model"] == a) - next(r[metric] for r in rows if r["model"] == b)
                          for rows in per_seed.values()])
            d[metric] = {"mean": float(v.mean()), "sd": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
                         "positive": int((v > 0).sum()), "of": int(len(v))}
        diffs[key] = d
    return {"seeds": [int(s) for s in seeds], "summary": summary, "paired_differences": diffs,
            "per_seed": {str(k): v for k, v in per_seed.items()}}


def run_digits(seed: int = 0, *, quick: bool = False, progress: Callable[[str], None] | None = None,
               world: DigitsWorld | None = None) -> dict[str, Any]:
    """The whole real-data run; returns plain data (the README, "Training-time guarantees", says what each field means).

    Builds the world, verifies the four operators, distills uniform and adaptive
    students by SGD (η_t = η0/(1+t), 5 seeds, the convergence check on real
    data), runs the stability and safety checks on the adaptive operator, trains
    a safety-constrained student, and evaluates everyone on the deployment split.
    """
    from ..engine import verify
    from .convergence import _convergence, check_estimation_noise
    from .safety import (
        _safety_constrained,
        check_pareto_frontier,
        check_safety_constrained,
        check_safety_preservation,
    )
    from .stability import (
        agreement_map,
        check_contraction,
        check_gradient_variance,
        check_perturbation_robustness,
    )

    say = progress or (lambda _m: None)
    t_start = time.perf_counter()
    world = world if world is not None else build_world(DigitsConfig(seed=seed), progress=say)
    ops = world.operators
    prob = world.problem
    timings = dict(world.timings)

    say("verifying the digits operators")
    t0 = time.perf_counter()
    verdicts = {}
    for name in ("digits_token", "digits_task", "digits_context", "digits_adaptive"):
        rep = verify(ops[name], teachers=len(world.teachers), vocab=10, context_dim=2, tasks=len(TASK_GROUPS),
                     seed=seed, max_examples=30 if quick else 100)
        verdicts[name] = _verdict(rep)
    timings["verify_s"] = time.perf_counter() - t0

    say("distilling students (SGD, η0/(1+t))")
    t0 = time.perf_counter()
    steps, seeds = (1500, 5) if quick else (4000, 5)
    conv, students = {}, {}
    for name in ("uniform", "digits_adaptive"):
        res, finals = _convergence(ops[name], problem=prob, seeds=seeds, steps=steps, batch=16, eta0=None,
                                   schedule="1/t", slope_max=-0.8, fit_from=0.02, seed=seed, quick=quick)
        conv[name] = res
        if finals is not None:
            students[name] = finals[0]
    timings["distill_s"] = time.perf_counter() - t0

    say("stability checks on real data")
    t0 = time.perf_counter()
    adaptive = ops["digits_adaptive"]
    checks = [conv["uniform"], conv["digits_adaptive"],
              check_gradient_variance(adaptive, problem=prob, seed=seed),
              check_perturbation_robustness(adaptive, problem=prob, seed=seed, quick=True),
              check_estimation_noise(adaptive, problem=prob, seed=seed, quick=True)]
    probs_train = prob.teacher_probs
    contraction = {
        "gentle (β = 0.5, τ = 2)": check_contraction(agreement_map(probs_train, beta=0.5, tau=2.0),
                                                       teachers=len(world.teachers), seed=seed),
        "contrarian trust (β = 1, τ = −20)": check_contraction(agreement_map(probs_train, beta=1.0, tau=-20.0),
                                                               teachers=len(world.teachers), seed=seed),
    }
    timings["stability_s"] = time.perf_counter() - t0

    say("safety-constrained distillation")
    t0 = time.perf_counter()
    sc, theta_safe = _safety_constrained(adaptive, problem=prob, safety_min=None, outer=None, inner=20, tol=1e-3, stationarity_tol=0.05, seed=seed, quick=quick)
    infeasible = check_safety_constrained(adaptive, problem=prob, safety_min=1.0, seed=seed, quick=quick)
    pareto = {name: check_pareto_frontier(ops[name], problem=prob, seed=seed, quick=quick)
              for name in (("digits_adaptive",) if quick else ("uniform", "digits_adaptive"))}
    preservation = {name: check_safety_preservation(ops[name], problem=prob, seed=seed)
                    for name in ("uniform", "digits_adaptive")}
    checks += [sc, infeasible, pareto["digits_adaptive"], preservation["digits_adaptive"]]
    timings["safety_s"] = time.perf_counter() - t0

    say("evaluating on the deployment split")
    table = []
    for k, t in enumerate(world.teachers):
        table.append({"model": f"teacher {k} ({t.name})", **evaluate(nx.softmax(world.test["teacher_logits"][k]), world)})
    for name, label in (("uniform", "uniform ensemble"), ("digits_adaptive", "adaptive ensemble")):
        table.append({"model": label, **evaluate(ensemble_probs(world, ops[name]), world)})
    feats = world.test["features"]
    for name, label in (("uniform", "student, uniform KD"), ("digits_adaptive", "student, adaptive KD")):
        if name in students:
            table.append({"model": label, **evaluate(nx.softmax(feats @ students[name]), world)})
    if theta_safe is not None:
        table.append({"model": "student, adaptive KD + safety constraint",
                      **evaluate(nx.softmax(feats @ theta_safe), world)})
    sweep = None
    if not quick:
        t0 = time.perf_counter()
        sweep = seed_sweep(range(seed, seed + 5), quick=quick, progress=say, first=world)
        timings["seed_sweep_s"] = time.perf_counter() - t0
    timings["total_s"] = time.perf_counter() - t_start
    rerun = dynamics_demo(seed, quick)

    def d(r: Any) -> dict[str, Any]:
        return dataclasses.replace(r, reproduce=rerun + "  # the real-data run").to_dict()

    return {
        "config": dataclasses.asdict(world.config),
        "problem": prob.summary(),
        "deployment": {"N": int(len(world.test["y"])), "corrupted_share": float(np.mean(world.test["level"] > 0))},
        "teachers": [{"index": k, "name": t.name, "description": t.description,
                      "clean_accuracy": world.stats["clean_accuracy"][k],
                      "corrupted_accuracy": world.stats["corrupted_accuracy"][k],
                      "corrupted_safety": world.stats["corrupted_safety"][k]} for k, t in enumerate(world.teachers)],
        "safest_teacher": world.stats["safest"],
        "task_losses": world.stats["task_losses"],
        "verdicts": verdicts,
        "evaluation": table,
        "seed_sweep": sweep,
        "weights_by_context": {name: weights_by_context(world, ops[name]) for name in ("uniform", "digits_adaptive")},
        "checks": [d(r) for r in checks],
        "contraction": {k: d(v) for k, v in contraction.items()},
        "pareto": {k: d(v) for k, v in pareto.items()},
        "preservation": {k: d(v) for k, v in preservation.items()},
        "convergence": {k: d(v) for k, v in conv.items()},
        "timings": timings,
    }
