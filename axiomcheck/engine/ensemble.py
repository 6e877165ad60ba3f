"""Checks of the ensemble operator G built from an operator's weights (Defs. III.7, III.15, III.23).

G is the project's JAX kernel `kernels.ensemble_log_probs`:

    q(i | x, t, c) = Σ_k w_k(i) p_k(i) / Σ_j Σ_k w_k(j) p_k(j)

With token-independent weights on the simplex the denominator is 1 and q is the
convex combination Σ_k w_k p_k.  With per-token weights the numerator is neither
normalized over the vocabulary nor a convex combination of the teacher
distributions, so G renormalizes it; `ensemble.convexity` is then not applicable
and `ensemble.conformance` checks the renormalized form instead.

JAX is imported only when `verify_ensemble` runs.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..calling.sandbox import describe_exception
from ..checks import rules
from ..library.lookup import resolve, target_name
from ..report.decision import decide
from ..report.repro import for_ensemble
from ..report.results import Report
from ..sampling.domains import teacher_probs
from ..spec import worlds
from ..spec.operator import Operator, SpecError
from ..spec.scales import SCALES, composition
from ..spec.worlds import World
from . import OperatorMisbehaved, Settings, Verifier

IDS = ("ensemble.normalization", "ensemble.nonnegativity", "ensemble.convexity", "ensemble.conformance")


def _positions(op: Operator, args: tuple, w: np.ndarray, world: World, rng: np.random.Generator):
    """Teacher distributions `[K, N, V]` and weights `[K, N]` or `[K, N, V]` for one evaluated batch.

    Read from the scale's record: the weights' axes (`Scale.axes`; a task axis M makes one position per
    sample and task, a trailing V gives per-token weights), and the teachers' distributions from the
    `probs` input where the scale takes one, drawn otherwise.
    """
    scale = SCALES[op.scale]
    K, V = world.teachers, world.vocab
    axes = scale.axes[: w.ndim - 1]
    B = w.shape[0]
    M = w.shape[1 + axes.index("M")] if "M" in axes else 1
    probs = args[scale.inputs.index("probs")] if "probs" in scale.inputs else teacher_probs(rng, world, B)
    probs = np.repeat(probs[:, None], M, axis=1).reshape(B * M, K, V)
    joint = [a for a in composition().axes if a in axes]  # [B, M, K, V] with the absent axes left out
    weights = np.transpose(w, [0] + [1 + axes.index(a) for a in joint])
    weights = weights.reshape((B * M, K) + ((V,) if "V" in axes else ()))
    return np.moveaxis(probs, 1, 0), np.moveaxis(weights, 1, 0)


def verify_ensemble(op_or_name: Operator | str, *, teachers: int | None = None, vocab: int | None = None,
                    context_dim: int | None = None, tasks: int | None = None, features: int | None = None,
                    history: int | None = None, seed: int = 0, sweep_size: int = 64,
                    tolerance: float | None = None, timeout: float | None = 10.0, ensemble: Any = None) -> Report:
    """Check G built from `op`'s weights on the sweep families; always returns a full `Report`.

    Args:
        op_or_name: an `Operator` or a reference (registered name, `module:attr`, `file.py:attr`).
        teachers: K; vocab: V; context_dim: D; tasks: M — the world sampled in (a size not
            given: the operator's declared world, else K = 4, V = 16, D = 3, M = 3).
        features: F; history: H — the sizes of the `features` and `history` keyword inputs.
        seed: seed of the sweep; the same seed gives the same report.
        sweep_size: samples per sweep family.
        tolerance: absolute tolerance (default: float32 ulps times max(V, K)).
        timeout: per-call limit of the operator, in seconds.
        ensemble: the G under test, `fn(teacher_logits[K,N,V], weights[K,N] | [K,N,V]) -> log q[N,V]`;
            by default the project's kernel `kernels.ensemble_log_probs`.
    """
    given = worlds.picked(locals())  # one keyword per `World` size (tests/test_worlds.py checks the signature)
    import jax.numpy as jnp

    if ensemble is None:
        from ..kernels import ensemble_log_probs as ensemble

    op = resolve(op_or_name)
    if "K" not in SCALES[op.scale].axes:
        raise SpecError(f"the ensemble G mixes teacher distributions with teacher weights; {op.name!r} is an "
                        f"operator of the {op.scale} scale, whose function returns {SCALES[op.scale].returns}, no "
                        f"weight per teacher")
    world = worlds.world_for(op.world, given)
    settings = Settings(seed=seed, sweep_size=sweep_size, max_examples=0, timeout=timeout)
    verifier = Verifier(op, world, settings)
    start = time.perf_counter()
    rng = np.random.default_rng(seed + 7)
    tol = tolerance if tolerance is not None else rules.tolerance(np.float32, max(world.vocab, world.teachers))
    found: dict[str, tuple[float, str, dict[str, Any]]] = {}
    error: str | None = None
    independent_seen = 0
    samples = 0

    def note(axiom: str, severity: float, message: str, ce: dict[str, Any]) -> None:
        if axiom not in found or severity > found[axiom][0]:
            found[axiom] = (severity, message, ce)

    for fam in verifier.subject.domain.sweep(np.random.default_rng(seed), world, sweep_size):
        where = f"sweep family {fam.name!r}"
        try:
            w = verifier.subject.call(fam.args)
        except OperatorMisbehaved as exc:
            error = "the operator " + verifier.subject.misbehaved(exc, fam.args, where)
            break
        probs, weights = _positions(op, fam.args, np.asarray(w, dtype=np.float64), world, rng)
        per_token = weights.ndim == 3
        with np.errstate(divide="ignore"):
            logits = np.log(probs)
        try:
            log_q = np.asarray(ensemble(jnp.asarray(logits, jnp.float32), jnp.asarray(weights, jnp.float32)),
                               dtype=np.float64)
        except Exception as exc:  # noqa: BLE001 - a broken G is reported, not raised
            error = f"ensemble G raised {describe_exception(exc)}, at {where}"
            break
        if log_q.shape != probs.shape[1:]:
            error = f"ensemble G must return log q of shape {probs.shape[1:]}, got {log_q.shape}, at {where}"
            break
        q = np.exp(log_q)
        N = q.shape[0]
        samples += N
        mix = (weights[..., None] * probs).sum(axis=0) if not per_token else (weights * probs).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            ref = mix / mix.sum(axis=1, keepdims=True)

        def ce(n: int, probs=probs, weights=weights, q=q, where=where) -> dict[str, Any]:
            return {"teacher_probs": probs[:, n].tolist(), "weights": weights[:, n].tolist(), "q": q[n].tolist(),
                    "where": where}

        err = np.abs(q.sum(axis=1) - 1.0)
        if not (err <= tol).all():
            n = int(np.nanargmax(np.where(np.isnan(err), np.inf, err)))
            note("ensemble.normalization", float(np.nan_to_num(err[n], nan=np.inf)),
                 f"Σ_v q must be 1 (±{tol:.2g}), got {float(q[n].sum()):.6g}, at {where}, position {n}", ce(n))
        neg = ~(q >= 0).all(axis=1) | ~np.isfinite(q).all(axis=1)
        if neg.any():
            n = int(np.argmax(neg))
            note("ensemble.nonnegativity", 1.0, f"q must be finite and ≥ 0, got min q = {np.nanmin(q[n]):.6g}, "
                 f"at {where}, position {n}", ce(n))
        dev = np.abs(q - ref).max(axis=1)
        if not (dev <= tol).all():
            n = int(np.nanargmax(np.where(np.isnan(dev), np.inf, dev)))
            note("ensemble.conformance", float(np.nan_to_num(dev[n], nan=np.inf)),
                 f"q must equal the renormalized Σ_k w_k(i) p_k(i) (±{tol:.2g}), got ‖Δq‖∞ = {dev[n]:.3g}, "
                 f"at {where}, position {n}", ce(n))
        if not per_token:
            independent_seen += N
            convex = np.abs(q - mix).max(axis=1)
            if not (convex <= tol).all():
                n = int(np.nanargmax(np.where(np.isnan(convex), np.inf, convex)))
                note("ensemble.convexity", float(np.nan_to_num(convex[n], nan=np.inf)),
                     f"q must equal the convex combination Σ_k w_k p_k with the operator's weights (±{tol:.2g}), got "
                     f"‖Δq‖∞ = {convex[n]:.3g} (the weights sum to {weights[:, n].sum():.6g} and G renormalized "
                     f"them), at {where}, position {n}", ce(n))

    results = []
    target = target_name(op)  # how the reproduce lines name the operator (None: no importable name)
    for axiom in IDS:
        _, failure, ce = found.get(axiom, (None, None, None))
        skip = None
        if axiom == "ensemble.convexity" and independent_seen == 0:
            skip = ("per-token weights: Σ_k w_k(i) p_k(i) is not a convex combination of the teacher distributions; "
                    "G renormalizes it over the vocabulary (see ensemble.conformance)")
        results.append(decide(axiom, fatal=error, failure=failure, counterexample=ce, skip=skip,
                              passed=f"holds on {samples} positions (tolerance {tol:.2g})", seed=seed,
                              samples=samples,
                              reproduce=for_ensemble(target, op.name, world, seed, settings.max_examples, axiom)))
    return Report(operator=op.name, scale="ensemble", results=tuple(results), seed=seed,
                  world=worlds.sizes(world),
                  spec={"of_scale": op.scale}, elapsed_s=time.perf_counter() - start)
