"""Task importance λ (III.14): on the simplex, and its scalarized minimizer Pareto-optimal.

The declared `importance(losses, sizes)` is called (in a sandbox) on the task
sweep; λ must be ≥ 0 with Σλ = 1.  Then random strictly convex quadratic
multi-task problems are solved in closed form for each λ, and a point that
lowers every task loss at once is searched for around the minimizer.
"""

from __future__ import annotations

import numpy as np

from ..calling.sandbox import KeywordCall, OperatorMisbehaved
from ..sampling.domain_inputs import WithInputs
from ..sampling.domains import DOMAINS
from ..spec.inputs import keyword_inputs
from ..spec.operator import Operator
from ..spec.params import param_sets
from ..spec.scales import SCALES
from . import properties as P
from .base import Check, Evaluated, count, fmt_w
from .evidence import CheckEvidence, Evidence, Finding
from .subject import Subject


class Pareto(Check):
    property = "pareto"
    reads_weights = True  # an importance operator's own λ are the weights it returned on the sweep

    def applies(self, subject: Subject) -> str | None:
        if subject.scale.declares_importance and subject.op.importance is None:
            return "no task importance λ declared (pass importance=fn(losses, sizes) -> [B,M])"
        return None

    def run(self, subject: Subject, ev: Evidence, evaluated: list[Evaluated]) -> None:
        pid = subject.id(self.property)
        if pid is None:
            return
        if subject.scale.task_importance:
            lambdas = self._own(subject, ev, pid, evaluated)
        else:
            lambdas = self._declared(subject, ev, pid)
        if lambdas is None:
            return
        self._search(subject, ev, pid, lambdas)

    def pass_message(self, subject: Subject, evidence: CheckEvidence) -> str:
        n = evidence.samples
        if subject.scale.task_importance:
            return (f"no dominating point found on the λ-scalarized minimizers of {n} sampled λ "
                    f"(each scaled to sum to 1; normalization is checked on its own)")
        return f"λ ≥ 0 and Σλ = 1 on {count(n, 'sample')}; no dominating point found on the λ-scalarized minimizers"

    def _own(self, subject: Subject, ev: Evidence, pid: str, evaluated: list[Evaluated]) -> list[np.ndarray] | None:
        """An importance operator's own λ on the sweep, scaled to sum to 1 (normalization is its own check).

        None after recording an error when no sampled λ can be scaled so: nothing to judge, never a pass.
        """
        out = []
        seen = nonfinite = negative = 0
        for e in evaluated:
            lam = np.asarray(e.w, dtype=np.float64)
            total = lam.sum(axis=1, keepdims=True)
            finite = np.isfinite(lam).all(axis=1)
            ok = finite & (lam >= 0).all(axis=1) & (total[:, 0] > 0)
            seen += len(lam)
            nonfinite += int((~finite).sum())
            negative += int((finite & ~(lam >= 0).all(axis=1)).sum())
            ev.count(pid, int(ok.sum()))
            out.append(lam[ok] / total[ok])
        if seen and not any(len(x) for x in out):
            zero = seen - nonfinite - negative
            parts = [f"{k} {what}" for k, what in ((nonfinite, "with NaN or inf"), (negative, "with a negative λ_t"),
                                                   (zero, "summing to 0")) if k]
            ev.fail(pid, f"cannot be judged: no sampled λ is finite and ≥ 0 with a positive sum, so no "
                         f"λ-scalarized problem could be posed (of the {seen} sweep samples: {', '.join(parts)})")
            return None
        return out

    def _declared(self, subject: Subject, ev: Evidence, pid: str) -> list[np.ndarray] | None:
        """A task operator's declared importance on the task sweep: λ ≥ 0 with Σλ = 1, then the search."""
        tol = P.tolerance_for(np.dtype(np.float64), subject.world.tasks)
        imp = subject.op.importance
        fn, names, domain = imp, subject.scale.inputs, DOMAINS[subject.scale.name]
        if isinstance(imp, Operator):  # an importance operator: its own scale's inputs and keyword inputs
            keywords = keyword_inputs(imp.fn, imp.scale)
            domain = WithInputs(DOMAINS[imp.scale], keywords) if keywords else DOMAINS[imp.scale]
            sets = param_sets(imp, subject.seed)
            fixed = (("params", sets[0][1]),) if sets else ()
            fn, names = KeywordCall(imp.fn, len(SCALES[imp.scale].inputs), keywords, fixed), domain.arg_names
        lambdas = []
        for fam in domain.sweep(np.random.default_rng(subject.seed + 3), subject.world, 64):
            where = f"sweep family {fam.name!r}"
            try:
                lam = subject.call_user("importance", fn, "the importance function", *fam.args, names=names)
            except OperatorMisbehaved as exc:
                ev.fail(pid, f"importance {subject.misbehaved(exc, fam.args, where)}")
                return None
            want = (fam.size, subject.world.tasks)
            if lam.shape != want or not np.issubdtype(lam.dtype, np.floating):
                ev.fail(pid, f"importance must return float[{want[0]}, {want[1]}], got {lam.dtype}{list(lam.shape)}, at {where}")
                return None
            lam = lam.astype(np.float64)
            err = np.maximum(np.abs(lam.sum(axis=1) - 1.0), -lam.min(axis=1))
            bad = ~(err <= tol)
            ev.count(pid, fam.size)
            if bad.any():
                b = int(np.argmax(np.where(bad, np.nan_to_num(err, nan=np.inf), -1)))
                ce = {"input": {n: a[b].tolist() for n, a in zip(names, fam.args)}, "where": where,
                      "importance": lam[b].tolist()}
                ev.find(pid, Finding(float(err[b]), f"task importance λ must be ≥ 0 with Σ_t λ_t = 1 (±{tol:.2g})",
                                     f"λ = {fmt_w(lam[b])}", f"{where}, sample {b}", ce, "sweep"))
            lambdas.append(lam[~bad])
        return lambdas

    def _search(self, subject: Subject, ev: Evidence, pid: str, lambdas: list[np.ndarray]) -> None:
        lam_all = np.concatenate(lambdas) if lambdas else np.zeros((0, subject.world.tasks))
        # Domination search on random strictly convex quadratic multi-task problems.
        rng = np.random.default_rng(subject.seed + 4)
        m, dim = subject.world.tasks, 3
        checked = 0
        for lam in lam_all[: 64]:
            G = rng.standard_normal((m, dim, dim))
            A = G @ np.swapaxes(G, 1, 2) + 0.1 * np.eye(dim)
            c = rng.standard_normal((m, dim)) * 2.0
            H = np.einsum("t,tij->ij", lam, A)
            theta = np.linalg.solve(H, np.einsum("t,tij,tj->i", lam, A, c))
            cands = theta + rng.standard_normal((256, dim)) * 10.0 ** rng.uniform(-4, 0, size=(256, 1))
            cands = np.concatenate([cands, c])

            def losses(th: np.ndarray, A: np.ndarray = A, c: np.ndarray = c) -> np.ndarray:
                diff = th[:, None, :] - c[None, :, :]
                return 0.5 * np.einsum("ntj,tjk,ntk->nt", diff, A, diff)

            l0 = losses(theta[None])[0]
            lc = losses(cands)
            dom = (lc <= l0 + 1e-12).all(axis=1) & (lc < l0 - 1e-9).any(axis=1)
            checked += 1
            if dom.any():
                ev.find(pid, Finding(1.0, "the λ-scalarized minimizer must not be Pareto-dominated",
                                     "a point that lowers every task loss", f"λ = {fmt_w(lam)}",
                                     {"importance": lam.tolist(), "minimizer": theta.tolist(),
                                      "dominating_point": cands[int(np.argmax(dom))].tolist()}, "sweep",
                                     at_word="for"))
                break
        ev[pid].estimate = {"problems_checked": checked, "importance_samples": int(sum(len(x) for x in lambdas))}
