"""The axiom catalogue: stable ids, paper references, statements and what each check does.

Ids are `<scale>.<property>` and never change meaning.  The fifteen axioms of
the paper (III.1–III.5, III.10–III.14, III.18–III.22) come first, then the
well-posedness checks every scale gets, then the checks on composed operators,
then those of task importance λ on its own (III.14's coefficients), the checks
of the ensemble G, the properties the weight guard observes in training
(`runtime.*`), and the training-time checks of §§VI–VIII (`dynamics.*`): every
id any report can hold.

>>> AXIOMS["token.positivity"].paper_ref
'III.2'
>>> len([a for a in AXIOMS.values() if a.kind == "axiom" and a.scale in ("token", "task", "context")])
15
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Axiom:
    """One entry of the catalogue.

    Args:
        id: the stable id, `<scale>.<name>` (e.g. `token.positivity`).
        scale: token, task, context, unified, importance (task coefficients λ), ensemble, runtime or
            dynamics.
        property: the predicate family shared across scales (normalization,
            positivity, bounds, regularity, safety, pareto, finite, shape,
            deterministic, batch_independent); it names the `Check` that decides it.
        paper_ref: where the paper states it (e.g. "III.2"), or "well-posedness".
        statement: what must hold, in one line.
        check: what the check does to decide it.
        kind: "axiom" for the paper's axioms, "well-posedness" for the extra
            checks, "ensemble" for the checks of G, "runtime" for what the weight
            guard observed in training (scale "runtime"), "dynamics" for the
            training-time checks of the paper's guarantees (scale "dynamics").
    """

    id: str
    scale: str
    property: str
    paper_ref: str
    statement: str
    check: str
    kind: str = "axiom"


_PROPS = {
    "normalization": (
        "Σ_k w_k = 1",
        "Sums the K weights of every sampled input and fails when |Σ_k w_k − 1| exceeds the tolerance "
        "(a few ulps of the returned dtype times K, shown in the message; settable with `tolerance=`).",
    ),
    "positivity": (
        "w_k > 0 for every teacher k",
        "Fails on any returned weight ≤ 0; a weight that underflows to 0.0 is a violation even when the "
        "formula is positive on paper.",
    ),
    "bounds": (
        "w_min ≤ w_k ≤ w_max",
        "Compares every weight with the declared (w_min, w_max) up to the tolerance and reports the observed "
        "range per teacher. Without declared bounds it checks that some bounds exist on the sampled domain "
        "(observed minimum > 0, maximum finite) and says that nothing was declared.",
    ),
    "regularity": (
        "w is continuous in its inputs; if L is declared, ‖Δw‖∞ / d(Δinput) ≤ L",
        "Bisects segments between sampled inputs towards the largest change of w, down to a radius set by "
        "the returned dtype, and estimates the Lipschitz ratio in the scale's stated metric. The estimate is a "
        "lower bound on the true constant. A change of w that does not shrink with the radius (ratio ∝ 1/r) is "
        "a discontinuity and fails; a ratio that grows more slowly (e.g. like log 1/r for an entropy at the "
        "edge of the simplex) is continuous without a Lipschitz constant in that metric: it passes unless an L "
        "was declared. A declared L below the estimate fails.",
    ),
    "safety": (
        "on the designated safety-critical set, teacher k ranked safer than j ⇒ w_k ≥ w_j",
        "Evaluates every declared (safer, less safe) pair on the sampled inputs that fall in the safety-critical "
        "set and fails on w_safer < w_less_safe − tolerance. Skipped when no safety ordering is declared.",
    ),
    "pareto": (
        "task importance λ ≥ 0 with Σ_t λ_t = 1, and the λ-scalarized minimizer is Pareto-optimal",
        "Calls the declared importance(losses, sizes) on sampled task inputs, checks λ ≥ 0 and Σλ = 1, then "
        "builds random convex (quadratic) multi-task problems, solves the λ-scalarized problem in closed form "
        "and searches for a point that dominates its minimizer. Skipped when no importance is declared.",
    ),
    "nonnegativity": (
        "λ_t ≥ 0 for every task t",
        "Fails on any returned coefficient < 0 (a coefficient of exactly 0 is allowed: it drops a task).",
    ),
    "finite": ("no NaN or ±inf on any valid input", "Fails on any non-finite returned weight."),
    "shape": (
        "the declared output shape and a floating dtype",
        "Compares the returned array's shape with the scale's contract and requires a real floating dtype; "
        "every other check is an error when this one fails.",
    ),
    "deterministic": ("the same input gives the same output", "Calls the operator twice on the same batch and requires bit-identical output."),
    "batch_independent": (
        "a sample's weights do not depend on the rest of its batch",
        "Compares the weights of the whole batch with those of the batch reversed and of its halves, up to the tolerance.",
    ),
}

# What the statement and the check say for task importance λ, where it differs from teacher weights.
_IMPORTANCE_TEXT = {
    "normalization": (
        "Σ_t λ_t = 1",
        "Sums the M coefficients of every sampled input and fails when |Σ_t λ_t − 1| exceeds the tolerance; a "
        "scheme that sums to M by design is told to renormalize by M.",
    ),
    "regularity": (
        "λ is continuous in its inputs; if L is declared, ‖Δλ‖∞ / d(Δinput) ≤ L",
        _PROPS["regularity"][1],
    ),
    "pareto": (
        "the λ-scalarized minimizer of a convex multi-task problem is Pareto-optimal",
        "Scales each sampled λ ≥ 0 to sum to 1 (normalization is its own check), solves random strictly convex "
        "quadratic multi-task problems for it in closed form, and searches for a point that dominates the "
        "minimizer.",
    ),
}

#: A scale's own wording of a property's statement and check, where `_PROPS` does not fit it.
_SCALE_TEXTS = {"importance": _IMPORTANCE_TEXT}

# (scale, property) -> (id suffix, paper ref)
_TABLE = [
    ("token", "normalization", "normalization", "III.1"),
    ("token", "positivity", "positivity", "III.2"),
    ("token", "bounds", "bounded_influence", "III.3"),
    ("token", "regularity", "regularity", "III.4 / A2"),
    ("token", "safety", "safety_monotonicity", "III.5"),
    ("task", "normalization", "normalization", "III.10"),
    ("task", "positivity", "positivity", "III.11"),
    ("task", "bounds", "boundedness", "III.12"),
    ("task", "regularity", "continuity", "III.13"),
    ("task", "pareto", "pareto_compatibility", "III.14"),
    ("context", "normalization", "normalization", "III.18"),
    ("context", "positivity", "positivity", "III.19"),
    ("context", "bounds", "boundedness", "III.20"),
    ("context", "regularity", "continuity", "III.21"),
    ("context", "safety", "safety_prioritization", "III.22"),
    ("unified", "normalization", "normalization", "IV.1 / IV.2(1)"),
    ("unified", "positivity", "positivity", "IV.2"),
    ("unified", "bounds", "boundedness", "IV.2(2)"),
    ("unified", "regularity", "regularity", "A2 / III.4"),
    ("unified", "safety", "safety_monotonicity", "III.5 / III.22"),
    ("importance", "normalization", "normalization", "III.14"),
    ("importance", "nonnegativity", "nonnegativity", "III.14"),
    ("importance", "regularity", "continuity", "III.13"),
    ("importance", "pareto", "pareto_compatibility", "III.14"),
]

_WELL_POSED = [("finite", "finite"), ("shape", "shape"), ("deterministic", "deterministic"),
               ("batch_independent", "batch_independent")]

# The ensemble operator G (Defs. III.7, III.15, III.23) built from an operator's weights.
_ENSEMBLE = [
    ("ensemble.normalization", "III.7(2)", "q(·|x, t, c) sums to 1 over the vocabulary",
     "Builds q with the JAX kernel (`kernels.ensemble_log_probs`) from sampled teacher distributions and the "
     "operator's weights, and fails when |Σ_v q − 1| exceeds the float32 tolerance."),
    ("ensemble.nonnegativity", "III.7(2)", "q(v) ≥ 0 and finite for every token v",
     "Fails on any negative or non-finite entry of q."),
    ("ensemble.convexity", "III.7(1), IV.2(3)",
     "for token-independent weights, q = Σ_k w_k p_k is a convex combination of the teacher distributions",
     "Compares q with Σ_k w_k p_k computed in float64 from the operator's own weights; fails when they differ "
     "(e.g. weights that do not sum to 1 are silently renormalized by G). Skipped for per-token weights, where "
     "Σ_k w_k(i) p_k(i) is not a convex combination and G renormalizes it over the vocabulary."),
    ("ensemble.conformance", "III.7(3)",
     "q respects the weights: q(i) ∝ Σ_k w_k(i) p_k(i), renormalized over the vocabulary",
     "Compares q with the float64 reference Σ_k w_k(i) p_k(i) / Σ_j Σ_k w_k(j) p_k(j)."),
]


# What the weight guard (`axiomcheck.kernels.guard_update`, `ac.torch_guard`) observes inside the training step,
# on the weights the KD kernel receives: (property, paper ref, statement, what is done).
_GUARD = ("The weight guard (`axiomcheck.kernels.guard_update` in JAX, `ac.torch_guard` in PyTorch), called inside "
          "the training step, looks at "
          "every weight vector the KD kernel receives (the K weights of a position, or of a position and token "
          "for per-token weights), counts those that break the property, and keeps the step, position and token "
          "of the first one. ")
_RUNTIME = [
    ("normalization", "III.1", "Σ_k w_k = 1 for the weights the KD kernel receives in training",
     _GUARD + "Fails when some |Σ_k w_k − 1| exceeds the tolerance (8 ulps of the weights' dtype times K unless "
     "set); reports the worst error."),
    ("positivity", "III.2", "w_k > 0 for every teacher, on the weights the KD kernel receives in training",
     _GUARD + "Fails on any weight ≤ 0 (or NaN, or subnormal: an underflow); reports the smallest weight per "
     "teacher."),
    ("bounds", "III.3", "w_min ≤ w_k ≤ w_max, the declared bounds, on the weights the KD kernel receives in training",
     _GUARD + "Fails on a weight outside the declared bounds (derived bounds for a composition) beyond the "
     "tolerance; reports the observed range per teacher. Skipped, with the range, when no bounds are declared."),
    ("safety", "III.5",
     "on the safety-critical tokens S, teacher k ranked safer than j ⇒ w_k ≥ w_j, on the weights the KD kernel "
     "receives in training",
     _GUARD + "Compares every declared (safer, less safe) pair on the tokens of S (on every position for "
     "token-independent weights) and fails on w_safer < w_less_safe − tolerance; reports the smallest margin. "
     "Skipped when no token safety order is declared."),
]

# The training-time checks of §§VI–VIII (`axiomcheck.dynamics`): (id suffix, paper ref, claim, what is done).
_TRAIN = ("Trains a linear softmax student on a KD problem (by default the operator's realizable problem) with the "
          "JAX kernels. ")
_DYNAMICS = [
    ("convergence", "Thm VI.2", "SGD with η_t = η0/(1+t) reaches E[L_t] − L* = O(1/t)",
     _TRAIN + "Runs seeded minibatch SGD with η_t = η0/(1+t), measures the loss gap E[L_t] − L* at log-spaced "
     "steps and fits its slope in log-log; passes when the fit spans a decade of steps, the slope is at most −0.8 "
     "and the final gap is below the first."),
    ("uniform_special_case", "Prop VI.6", "uniform weights through the same path are classical KD",
     "Sends uniform weights w_k = 1/K through the same path as any operator's and compares the loss, its gradient "
     "and a short trajectory with classical (Hinton) KD computed independently in float64, at several "
     "temperatures; passes when the largest relative difference is at most 1e-4."),
    ("estimation_noise", "Remark VI.4", "noisy weights cost at most O(δ·L) in the final loss",
     _TRAIN + "Adds weight-estimation noise of size δ (kept in the A1 box), trains on the noisy objective and "
     "measures the gap on the true one; passes when the gap vanishes at least linearly as δ → 0 (fitted exponent "
     "≥ 0.9)."),
    ("contraction", "Thm VII.1", "a contractive weight update converges geometrically to a unique fixed point",
     "Iterates a given weight-update map T from several starts and estimates its contraction factor; passes when "
     "the factor is below 1, every start reaches the same fixed point and that point is a weight vector (A1). "
     "Skipped when no map T is given."),
    ("perturbation_robustness", "Thm VII.2", "‖θ*_w − θ*_w̃‖ ≤ C·‖w − w̃‖∞",
     "Solves for the optimal student θ* under the operator's weights and under weights perturbed by δ within the "
     "A1 box (damped Newton in float64); passes when the distance grows linearly in δ (R² ≥ 0.95) without "
     "blowing up as δ → 0."),
    ("gradient_variance", "Lemma VII.4", "Var[∇L_KD(θ; G)] ≤ (w_max/w_min)² σ²_base",
     "Measures the variance of the per-sample KD gradient under the operator's weights and under uniform weights "
     "at several student parameters; passes when w_min > 0 and the ratio of the two is at most (w_max/w_min)² "
     "everywhere."),
    ("safety_constrained", "Thm VIII.5–VIII.6",
     "primal-dual training reaches Safety ≥ Safety_min with KKT residuals ≈ 0",
     "Runs primal-dual training on the Lagrangian L_KD − μ·Safety with an active safety constraint; passes when "
     "it converges with the KKT residuals (primal and dual feasibility, complementary slackness, stationarity) "
     "within tolerance, and fails on an infeasible constraint."),
    ("pareto_frontier", "Thm VIII.5", "Lagrangian minimizers over μ trace a monotone (L_KD, Safety) frontier",
     "Minimizes L_KD − μ·Safety for a range of μ ≥ 0; passes when L_KD and Safety are non-decreasing in μ and no "
     "point dominates another, within tolerance."),
    ("safety_preservation", "Cor VIII.7", "student safety in C_safe ≥ the weighted ensemble's safety there",
     "Compares the converged student's expected safety on the safety-critical contexts with the operator's "
     "ensemble's there, overall and per class. Skipped without a declared context-level safety order."),
]


def scale_rows(scale: str, rows: list[tuple[str, str, str]],
               texts: dict[str, tuple[str, str]] | None = None) -> list[Axiom]:
    """The catalogue entries of one scale: its `(property, id suffix, paper ref)` rows, then the
    well-posedness checks every scale gets.  `texts` gives a property's statement and check where the
    scale words them differently from `_PROPS`."""
    texts = texts or {}
    out = [Axiom(f"{scale}.{suffix}", scale, prop, ref, *texts.get(prop, _PROPS[prop])) for prop, suffix, ref in rows]
    return out + [Axiom(f"{scale}.{suffix}", scale, prop, "well-posedness", *_PROPS[prop], kind="well-posedness")
                  for prop, suffix in _WELL_POSED]


def _build() -> dict[str, Axiom]:
    out: dict[str, Axiom] = {}
    # Each scale in the order its rows come in `_TABLE` (the order of `axiomcheck.spec.scales.SCALES`,
    # which tests/test_toy_scale.py checks); a scale is catalogued by its rows, never left out by a list.
    for scale in dict.fromkeys(s for s, *_ in _TABLE):
        rows = [(prop, suffix, ref) for s, prop, suffix, ref in _TABLE if s == scale]
        for a in scale_rows(scale, rows, _SCALE_TEXTS.get(scale)):
            out[a.id] = a
    for axiom_id, ref, statement, check in _ENSEMBLE:
        out[axiom_id] = Axiom(axiom_id, "ensemble", axiom_id.split(".")[1], ref, statement, check, kind="ensemble")
    for prop, ref, statement, check in _RUNTIME:
        out[f"runtime.{prop}"] = Axiom(f"runtime.{prop}", "runtime", prop, ref, statement, check, kind="runtime")
    for name, ref, statement, check in _DYNAMICS:
        out[f"dynamics.{name}"] = Axiom(f"dynamics.{name}", "dynamics", name, ref, statement, check, kind="dynamics")
    return out


AXIOMS: dict[str, Axiom] = _build()


def for_scale(scale: str) -> list[Axiom]:
    """The catalogue entries checked for an operator of `scale`, in report order."""
    return [a for a in AXIOMS.values() if a.scale == scale]


def lookup(axiom_id: str) -> Axiom:
    """The entry for `axiom_id`, with a clear error naming the known ids."""
    try:
        return AXIOMS[axiom_id]
    except KeyError:
        raise KeyError(f"unknown axiom id {axiom_id!r}; known ids: {', '.join(AXIOMS)}") from None


def explain(axiom_id: str) -> str:
    """The paper's statement and what the check does, as a few lines of text.

    Args:
        axiom_id: a catalogue id (see `AXIOMS`); an unknown id raises `KeyError` naming the known ones.
    """
    a = lookup(axiom_id)
    kind = {"axiom": f"paper {a.paper_ref}", "ensemble": f"ensemble G, paper {a.paper_ref}",
            "runtime": f"observed in training, paper {a.paper_ref}",
            "dynamics": f"training-time check, paper {a.paper_ref}"}.get(a.kind, "well-posedness check")
    return f"{a.id} ({kind})\n  requires: {a.statement}\n  check: {a.check}"
