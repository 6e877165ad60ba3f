"""Value checks on evaluated batches: finite, normalization, positivity, bounds, safety order.

Each check turns weights in the canonical layout `W[B, R, K]` into cases: a
`Violation` (which rows break it, how badly), the rows it applies to, and how to
describe one row ("must be X", "got Y").  `observe` does the rest the same way
for every check: it counts, keeps the worst *finite* violation as the finding
(NaN or inf rows are counted beside it, so a systematic violation is not hidden
by a few NaNs), and records the share of sweep inputs that break the check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np

from ..calling.sandbox import KeywordCall, OperatorMisbehaved
from ..report import summary
from ..sampling.domains import Args, take
from . import properties as P
from .base import Check, count, fmt, fmt_w
from .evidence import CheckEvidence, Evidence, Finding
from .subject import Subject, bounds_text, inline, sample_ce


class Case(NamedTuple):
    violation: P.Violation
    rows: np.ndarray  # bool[B, R]: the rows the property applies to
    describe: Callable[[int, int], tuple[str, str]]  # (b, r) -> (must, got)
    extra: Callable[[int, int], str] | None = None


class Pointwise(Check):
    """A property of each returned weight vector: a value check (`searched`), which reads what was
    evaluated and makes no call of the operator of its own."""

    searched = True
    calls_operator = False
    #: whether NaN/inf rows are counted apart (every check but `finite` itself)
    splits_nonfinite = True
    #: whether its pass message names the tolerance the weights were held to
    states_tolerance = False

    def cases(self, subject: Subject, ev: Evidence, args: Args, W: np.ndarray, where: str) -> Iterator[Case]:
        raise NotImplementedError

    def observe(self, subject: Subject, ev: Evidence, args: Args, w: np.ndarray, W: np.ndarray, where: str,
                source: str) -> None:
        axiom = subject.id(self.property)
        if axiom is None or axiom not in ev:
            return
        R = W.shape[1]
        any_bad, nan_rows, inf_rows = P.nonfinite_rows(W)  # once per array, shared by every value check
        nonfinite = any_bad if self.splits_nonfinite else np.zeros(W.shape[:2], bool)
        for case in self.cases(subject, ev, args, W, where):
            rows = case.rows
            checked = rows.any(axis=1)
            ev.count(axiom, int(checked.sum()))
            bad = case.violation.bad & rows
            finite_bad = bad & ~nonfinite
            if source == "sweep":
                in_rows = nonfinite & rows
                ev[axiom].share.add(
                    checked=int(checked.sum()), finite=int((checked & ~in_rows.any(axis=1)).sum()),
                    violating=int(finite_bad.any(axis=1).sum()),
                    nan=int((nan_rows & rows).any(axis=1).sum()),
                    inf=int((inf_rows & rows).any(axis=1).sum()))
            pick = finite_bad if finite_bad.any() else bad
            if not pick.any():
                continue
            sev = np.where(pick, np.nan_to_num(case.violation.severity, nan=np.inf, posinf=np.inf), -np.inf)
            b, r = divmod(int(np.argmax(sev)), R)
            if not Finding(float(sev[b, r]), "", "", "", {}, source,
                           finite=bool(finite_bad.any())).outranks(ev[axiom].finding):
                continue  # no worse than the finding recorded: its counterexample is not built
            row = subject.domain.row_label(w.shape, r) if R > 1 else ""
            ce = sample_ce(subject, args, b, w, where, row)
            shown = summary.inline_from(ce["input"]) if summary.ARRAYS in ce else inline(subject, args, b)
            at = f"{where}, sample {b}" + (f", {row}" if row else "") + shown
            must, got = case.describe(b, r)
            ce["weights_row"] = W[b, r].tolist()
            extra = case.extra(b, r) if case.extra else ""
            if isinstance(extra, tuple):
                extra, ce["pair"] = extra
            ev.find(axiom, Finding(float(sev[b, r]), must, got, at, ce, source,
                                   finite=bool(finite_bad.any()), extra=extra))

    def pass_message(self, subject: Subject, evidence: CheckEvidence) -> str:
        text = super().pass_message(subject, evidence)
        return f"{text} (tolerance {subject.tol:.2g})" if self.states_tolerance else text

    def run(self, subject: Subject, ev: Evidence, evaluated: list[Any]) -> None:
        for e in evaluated:
            if e.observed:  # read during the sweep, before it was trimmed (engine.streaming)
                continue
            self.observe(subject, ev, e.family.args, e.w, e.W, f"sweep family {e.family.name!r}", "sweep")



def _all(W: np.ndarray) -> np.ndarray:
    return np.ones(W.shape[:2], dtype=bool)


def _finite_max(v: P.Violation, W: np.ndarray) -> float:
    ok = ~P.nonfinite_rows(W)[0]
    s = np.where(ok, v.severity, 0.0)
    return float(np.clip(s.max(initial=0.0), 0.0, 1e300))


class Finite(Pointwise):
    property = "finite"
    splits_nonfinite = False

    def cases(self, subject, ev, args, W, where):
        yield Case(P.finite(W), _all(W), lambda b, r: ("weights must be finite", fmt_w(W[b, r])))


def sum_shown(total: float) -> str:
    """A sum printed with the digits its deviation from 1 needs: "1.00000001 (off by +1.0e-08)",
    never a bare "1" beside a tolerance it breaks.

    >>> sum_shown(1 + 1e-8), sum_shown(0.5), sum_shown(float("nan"))
    ('1.00000001 (off by +1.0e-08)', '0.5', 'nan')
    """
    off = total - 1.0
    if not np.isfinite(total) or abs(off) >= 1e-3 or off == 0.0:
        return fmt(total)
    digits = min(17, int(np.ceil(-np.log10(abs(off)))) + 2)
    return f"{total:.{digits}g} (off by {off:+.1e})"


def float32_hint(w: np.ndarray, total: float, n: int) -> str:
    """When float64 weights are all float32 values (a float32 result cast to float64, as a PyTorch →
    numpy step does) and their sum is within float32's tolerance, say so and how to fix it."""
    if w.dtype != np.float64 or not np.isfinite(w).all() or not (w == w.astype(np.float32)).all():
        return ""
    tol32 = P.tolerance_for(np.dtype(np.float32), n)
    if abs(total - 1.0) > tol32:
        return ""
    return (f"; every weight is a float32 value stored as float64, so the float64 tolerance applies to "
            f"float32 rounding: return the float32 array (tolerance ±{tol32:.2g}) or pass tolerance=")


class Normalization(Pointwise):
    property = "normalization"
    states_tolerance = True

    def cases(self, subject, ev, args, W, where):
        tol = subject.tol
        over = "Σ_t λ_t" if subject.scale.sums_over == "tasks" else "Σ_k w_k"
        n = W.shape[-1]

        def describe(b: int, r: int) -> tuple[str, str]:
            total = float(W[b, r].sum(dtype=np.float64))
            got = sum_shown(total)
            if n > 1 and abs(total - n) <= max(tol * n, 1e-6 * n):
                got += f" (Σ = {n}, the number of {subject.scale.sums_over}: renormalize by {n} to conform)"
            if subject.tolerance is None:
                got += float32_hint(W[b, r], total, n)
            return f"{over} must be 1 (±{tol:.2g})", got

        yield Case(P.normalized(W, tol), _all(W), describe)

    def severity(self, subject, W):
        return _finite_max(P.normalized(W, subject.tol), W)


class Positivity(Pointwise):
    property = "positivity"

    def cases(self, subject, ev, args, W, where):
        def describe(b: int, r: int) -> tuple[str, str]:
            k = int(np.nanargmin(W[b, r])) if np.isfinite(W[b, r]).any() else 0
            return "every w_k must be > 0", f"min w_k = {fmt(float(W[b, r].min()))} (teacher {k})"

        yield Case(P.positive(W), _all(W), describe)


class Nonnegativity(Pointwise):
    """λ ≥ 0 (task importance may drop a task with λ_t = 0, unlike a teacher weight)."""

    property = "nonnegativity"

    def cases(self, subject, ev, args, W, where):
        def describe(b: int, r: int) -> tuple[str, str]:
            t = int(np.nanargmin(W[b, r])) if np.isfinite(W[b, r]).any() else 0
            return "every λ_t must be ≥ 0", f"min λ_t = {fmt(float(W[b, r].min()))} (task {t})"

        yield Case(P.nonnegative(W), _all(W), describe)

    def severity(self, subject, W):
        return _finite_max(P.nonnegative(W), W)


class Bounds(Pointwise):
    property = "bounds"

    def cases(self, subject, ev, args, W, where):
        tol = subject.tol
        if subject.bounds is not None:
            lo, hi = subject.bounds
            must = f"w_k must lie in {bounds_text(subject)} (±{tol:.2g})"
            yield Case(P.bounded(W, lo, hi, tol), _all(W), lambda b, r: (must, fmt_w(W[b, r])))
        else:  # without declared bounds: some w_min > 0 must exist on the sampled domain
            must = "w_k must be bounded below by some w_min > 0 (no bounds declared)"
            yield Case(P.bounded(W, np.finfo(np.float64).tiny, np.inf, 0.0), _all(W),
                       lambda b, r: (must, fmt_w(W[b, r])))
        self.observe_range(subject, ev, W)

    def observe_range(self, subject: Subject, ev: Evidence, W: np.ndarray) -> None:
        """The observed range of each teacher's weight (finite values only)."""
        axiom = subject.id(self.property)
        if axiom is None or axiom not in ev:
            return
        if W.size and not P.nonfinite_rows(W)[0].any():  # all finite: reduce in place, no float64 copy
            mn = W.min(axis=(0, 1)).astype(np.float64)
            mx = W.max(axis=(0, 1)).astype(np.float64)
        else:
            flat = W.reshape(-1, W.shape[-1]).astype(np.float64)
            ok = np.isfinite(flat)
            if not ok.any():
                return
            mn = np.where(ok, flat, np.inf).min(axis=0)
            mx = np.where(ok, flat, -np.inf).max(axis=0)
        mn, mx = np.where(np.isfinite(mn), mn, np.nan), np.where(np.isfinite(mx), mx, np.nan)
        est = ev[axiom].estimate
        if est is None:
            ev[axiom].estimate = {"observed_min": list(mn), "observed_max": list(mx)}
        else:
            est["observed_min"] = list(np.fmin(est["observed_min"], mn))
            est["observed_max"] = list(np.fmax(est["observed_max"], mx))

    def severity(self, subject, W):
        if subject.bounds is None:
            return None
        return _finite_max(P.bounded(W, *subject.bounds, subject.tol), W)

    def pass_message(self, subject: Subject, evidence: CheckEvidence) -> str:
        """The observed range of the weights beside the bounds they were held to."""
        est = evidence.estimate or {}
        lo = min(est.get("observed_min") or [float("nan")])
        hi = max(est.get("observed_max") or [float("nan")])
        b = subject.bounds
        if b is None:
            decl = "no bounds declared"
        elif subject.bounds_origin == "derived":
            decl = f"within the bounds [{fmt(b[0])}, {fmt(b[1])}] derived from the components' declared ones"
        else:
            decl = f"{subject.bounds_origin} [{fmt(b[0])}, {fmt(b[1])}]"
        return f"observed weights in [{fmt(lo)}, {fmt(hi)}], {decl}, over {count(evidence.samples, 'sample')}"


class SafetyOrder(Pointwise):
    property = "safety"
    states_tolerance = True
    no_samples = "no sampled input fell in the safety-critical set, so the ordering could not be exercised"

    def applies(self, subject: Subject) -> str | None:
        if not subject.safety_specs():
            return "no safety ordering declared (pass safety=ac.Safety(...))"
        return None

    def problem(self, subject: Subject) -> str | None:
        """A declaration that cannot apply in this world (teacher or token out of range)."""
        K, V = subject.world.teachers, subject.world.vocab
        for scale, s in subject.safety_specs():
            if s.max_teacher() >= K:
                return (f"declared safety cannot be checked: the {scale} safety order names teacher "
                        f"{s.max_teacher()}, but the world has only K = {K} teachers (teachers are 0..{K - 1})")
            if s.tokens is not None and max(s.tokens) >= V:
                return (f"declared safety cannot be checked: the safety-critical token {max(s.tokens)} is outside "
                        f"the world's vocabulary V = {V}")
        return None

    def cases(self, subject, ev, args, W, where):
        if self.problem(subject) is not None:
            return
        axiom = subject.id(self.property)
        B, R, _ = W.shape
        tol = subject.tol
        for _scale, s in subject.safety_specs():
            pairs = list(s.ordered_pairs())
            if s.tokens is not None:
                rows = np.ones((B, 1), bool) if R == 1 else \
                    np.broadcast_to(np.isin(np.arange(R) % subject.world.vocab, s.tokens), (B, R)).copy()
                label = f"on safety-critical tokens {list(s.tokens)}"
            else:
                ctx = args[subject.domain.arg_names.index("context")]
                try:
                    sel = subject.call_user("safety", s.contexts, "the safety predicate", ctx, names=("context",))
                    sel = np.asarray(sel).reshape(-1)
                except OperatorMisbehaved as exc:
                    ev.fail(axiom, f"the safety predicate {_predicate_failure(exc)}, at {where}")
                    continue
                if sel.shape != (B,) or sel.dtype.kind not in "bui":
                    ev.fail(axiom, f"the safety predicate must return bool[{B}], got {sel.dtype}{list(sel.shape)}, "
                                   f"at {where}")
                    continue
                rows = np.repeat(sel.astype(bool)[:, None], R, axis=1)
                label = "in safety-critical contexts"

            def describe(b: int, r: int, pairs: list = pairs, label: str = label) -> tuple[str, str]:
                a, c = P.pair_breaking(W, pairs, b, r, tol) or pairs[0]
                return (f"{label}: teacher {a} is ranked safer than teacher {c}, so w_{a} ≥ w_{c} (−{tol:.2g}) "
                        f"is required", f"w_{a} = {fmt(float(W[b, r, a]))} < w_{c} = {fmt(float(W[b, r, c]))}")

            def extra(b: int, r: int, pairs: list = pairs) -> tuple[str, list[int]]:
                a, c = P.pair_breaking(W, pairs, b, r, tol) or pairs[0]
                return attribute(subject, args, b, r, a, c), [a, c]

            yield Case(P.ordered(W, pairs, rows, tol), rows, describe, extra)


def _predicate_failure(exc: OperatorMisbehaved) -> str:
    if exc.kind == "not_run":
        return "was not run again: it hung on an earlier call"
    if exc.kind == "raised":
        return f"raised {exc.detail}"
    return exc.detail


def attribute(subject: Subject, args: Args, b: int, r: int, a: int, c: int) -> str:
    """For a composition: which factor turned the order of teachers a and c around."""
    factors = getattr(subject.op.fn, "factors", None)
    if not callable(factors):
        return ""
    try:
        call = KeywordCall(factors, len(subject.scale.inputs), subject.keywords)
        logs: dict[str, Any] = call(*take(args, [b]))
    except Exception:  # noqa: BLE001 - attribution is a courtesy; the violation stands
        return ""
    t, i = divmod(r, subject.world.vocab)
    contrib = {s: float(L[0, t, a, i] - L[0, t, c, i]) for s, L in logs.items()}
    against = [s for s, v in contrib.items() if v < 0]
    parts = ", ".join(f"{s} {v:+.3g}" for s, v in contrib.items())
    if not against:
        return f"log-weight differences w_{a} vs w_{c} by factor: {parts}"
    worst = min(against, key=lambda s: contrib[s])
    return f"overturned by the {worst} factor (log w_{a} − log w_{c} by factor: {parts})"


POINTWISE: tuple[Pointwise, ...] = (Finite(), Normalization(), Positivity(), Nonnegativity(), Bounds(), SafetyOrder())
