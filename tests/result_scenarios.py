"""Scenarios whose results are pinned byte for byte (`tests/data/pinned_results.json`).

Each scenario runs one path from evidence to results outside the engine's
sampled checks: the ensemble checks, the weight guard and the training-time
checks.  `python -m tests.result_scenarios` prints their results as JSON (the
pins were written that way, before those paths were routed through one builder).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

import axiomcheck as ac
from tests.helpers import SCALE_OPS, softmax


def _per_token(probs, ctx):
    return np.swapaxes(softmax(np.swapaxes(3.0 * probs, 1, 2)), 1, 2)


def _dump(results) -> list[dict[str, Any]]:
    return [r.to_dict() for r in results]


def _no_renorm(logits, weights):
    import jax
    import jax.numpy as jnp

    p = jax.nn.softmax(logits, axis=-1)
    w = weights if weights.ndim == 3 else weights[..., None]
    return jnp.log(jnp.sum(w * p, axis=0))


def _leaky(logits, weights):
    import jax.numpy as jnp

    return jnp.log(jnp.exp(_no_renorm(logits, weights)) - 1e-3)


def _boom(logits, weights):
    raise RuntimeError("no")


def ensemble_scenarios() -> dict[str, Any]:
    fast = dict(sweep_size=8)
    make, base, bounds = SCALE_OPS["context"]
    scaled = ac.verify_ensemble(make(lambda c: 0.9 * base(c), name="scaled"), **fast).to_dict()
    scaled.pop("elapsed_s")
    pt = ac.token_operator(_per_token, name="pt", register=False)
    tok = ac.token_operator(SCALE_OPS["token"][1], name="t", register=False)
    return {
        "ensemble_scaled": scaled,
        "ensemble_per_token": _dump(ac.verify_ensemble(pt, **fast).results),
        "ensemble_no_renormalization": _dump(ac.verify_ensemble(pt, ensemble=_no_renorm, **fast).results),
        "ensemble_leaky": _dump(ac.verify_ensemble(tok, ensemble=_leaky, **fast).results),
        "ensemble_g_raises": _dump(ac.verify_ensemble(make(base, name="c", bounds=bounds), ensemble=_boom,
                                                      **fast).results),
        "ensemble_bad_shape": _dump(ac.verify_ensemble(make(lambda c: np.zeros((len(c), 3)), name="bad"),
                                                       **fast).results),
    }


K, N, V = 3, 6, 5


def _conforming() -> np.ndarray:
    b = np.array([0.5, 0.3, 0.2], np.float32)
    return np.broadcast_to(b[:, None, None], (K, N, V)).copy()


def guard_scenarios() -> dict[str, Any]:
    import jax
    import jax.numpy as jnp

    from axiomcheck.kernels import GuardSpec, guard_init, guard_report, guard_results, guard_update

    spec = GuardSpec(teachers=K, bounds=(0.1, 0.7), safety_tokens=(1, 3), safety_pairs=((0, 1), (0, 2)))
    update = jax.jit(lambda state, w, step, spec=spec: guard_update(state, w, step, spec))

    def run(steps):
        s = guard_init(spec)
        for t, w in steps:
            s = update(s, jnp.asarray(w), t)
        return s

    bad = _conforming()
    bad[:, 4, 2] *= 1.2
    bad[:, 2, 0] = [0.6, 0.4, 0.0]
    bad[:, 5, 4] = [0.8, 0.1, 0.1]
    bad[:, 3, 3] = [0.3, 0.25, 0.45]
    nan = _conforming()
    nan[1, 0, 1] = np.nan
    bare = GuardSpec(teachers=K)
    bare_state = guard_update(guard_init(bare), jnp.asarray(_conforming()), 0, bare)
    # two runs' states stacked on a leading axis, as vmap over runs gives them
    runs = type(bare_state)(*(np.stack(leaves) for leaves in zip(run([(0, _conforming())]), run([(0, bad)]))))
    report = guard_report(run([(0, bad)]), spec, "op", "token").to_dict()
    report.pop("elapsed_s")
    return {
        "guard_pass": _dump(guard_results(run([(t, _conforming()) for t in range(3)]), spec, reproduce="r", seed=3)),
        "guard_fail": _dump(guard_results(run([(0, _conforming()), (7, bad), (8, bad)]), spec)),
        "guard_nan": _dump(guard_results(run([(2, nan)]), spec)),
        "guard_nothing_declared": _dump(guard_results(bare_state, bare)),
        "guard_no_step": _dump(guard_results(guard_init(spec), spec)),
        "guard_runs": _dump(guard_results(runs, spec)),
        "guard_report": report,
    }


def _raising(probs, ctx):
    raise ValueError("nope")


def dynamics_scenarios() -> dict[str, Any]:
    from axiomcheck.dynamics import run_check_results
    from axiomcheck.dynamics._common import error_result, make_result

    raising = ac.token_operator(_raising, name="raising", register=False)
    return {
        "dynamics_operator_raises": _dump(run_check_results(raising, quick=True)),
        "dynamics_no_update_map": _dump(run_check_results("entropy_exp", quick=True, checks=["contraction"])),
        "dynamics_records": _dump([
            make_result("dynamics.convergence", "pass", "m", {"a": 1.0}, reproduce="x", seed=2, samples=5),
            make_result("dynamics.gradient_variance", "fail", "must be X, got Y", {"ratio": float("inf")}),
            make_result("dynamics.pareto_frontier", "skipped", "not applicable: s"),
            error_result("dynamics.contraction", ValueError("v"), reproduce="y", seed=1)]),
    }


SCENARIOS: dict[str, Callable[[], dict[str, Any]]] = {
    "ensemble": ensemble_scenarios, "guard": guard_scenarios, "dynamics": dynamics_scenarios}


if __name__ == "__main__":
    json.dump({name: make() for name, make in SCENARIOS.items()}, sys.stdout, indent=1, ensure_ascii=False,
              sort_keys=True)
    sys.stdout.write("\n")
