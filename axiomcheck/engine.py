"""The verification engine: a vectorized sweep, then a Hypothesis search.

`verify(op)` draws seeded batches from every sweep family of the operator's
scale, calls the operator once per batch, and checks every predicate of the
catalogue on whole arrays.  It then runs a Hypothesis search over small
batches, steering with `hypothesis.target` toward the worst violation, and for
every check that failed it runs a shrinking search so the counterexample it
reports is as small as Hypothesis can make it.  The operator is always called
through a guard that turns an exception, a hang past the per-call time limit,
or a wrong shape or dtype into an `error` result instead of a crash.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import properties as P
from .axioms import AXIOMS, for_scale
from .domains import DOMAINS, Args, Domain, Family, World, concat, take
from .operator import METRICS, Operator, Safety, as_operator
from .report import Report, Result

DEFAULT_MAX_EXAMPLES = 100
DEFAULT_SWEEP_SIZE = 256
DEFAULT_TIMEOUT = 10.0


class OperatorMisbehaved(Exception):
    """The operator raised, hung, or returned something that is not a weight array."""

    def __init__(self, kind: str, detail: str):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


def call_guarded(fn: Callable[..., Any], args: Sequence[Any], timeout: float | None) -> Any:
    """Call `fn(*args)` and return `np.asarray` of its value, within `timeout` seconds.

    The call runs on a daemon thread so a hung operator cannot hang the run (the
    thread is abandoned; Python cannot stop it).  Raises `OperatorMisbehaved`.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = np.asarray(fn(*args))
        except BaseException as exc:  # noqa: BLE001 - reported, never swallowed silently
            box["error"] = exc

    if timeout is None:
        target()
    else:
        thread = threading.Thread(target=target, name="axiomcheck-operator-call", daemon=True)
        thread.start()
        thread.join(timeout)
        if thread.is_alive():
            raise OperatorMisbehaved("timeout", f"did not return within the per-call limit of {timeout:g} s")
    if "error" in box:
        exc = box["error"]
        raise OperatorMisbehaved("raised", f"{type(exc).__name__}: {exc}")
    return box["value"]


def accepts_teachers(fn: Callable[..., Any]) -> bool:
    """Whether `fn` takes a keyword argument named `teachers`."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    p = params.get("teachers")
    return p is not None and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)


@dataclasses.dataclass(frozen=True)
class Settings:
    """How hard and how exactly to look. Every field has a sensible default."""

    seed: int = 0
    max_examples: int = DEFAULT_MAX_EXAMPLES
    sweep_size: int = DEFAULT_SWEEP_SIZE
    tolerance: float | None = None
    timeout: float | None = DEFAULT_TIMEOUT
    shrink: bool = True
    regularity_pairs: int = 256
    isolate: bool = False

    def __post_init__(self) -> None:
        if self.max_examples < 0 or self.sweep_size < 2:
            raise ValueError(f"max_examples must be ≥ 0 and sweep_size ≥ 2, got {self.max_examples}, {self.sweep_size}")
        if self.tolerance is not None and not (self.tolerance >= 0):
            raise ValueError(f"tolerance must be ≥ 0, got {self.tolerance!r}")
        if self.timeout is not None and not (self.timeout > 0):
            raise ValueError(f"timeout must be > 0 seconds or None, got {self.timeout!r}")


@dataclasses.dataclass
class _Finding:
    """The most severe violation of one check seen so far."""

    severity: float
    message: str
    counterexample: dict[str, Any]
    source: str


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _fmt_w(w: np.ndarray) -> str:
    return "[" + ", ".join(_fmt(float(v)) for v in np.asarray(w).ravel()) + "]"


class Verifier:
    """Runs every applicable check of the catalogue for one operator in one world."""

    def __init__(self, op: Operator, world: World, settings: Settings, axioms: Sequence[str] | None = None):
        self.op = op
        self.world = world
        self.settings = settings
        self.domain: Domain = DOMAINS[op.scale]
        self.catalogue = [a for a in for_scale(op.scale) if axioms is None or a.id in axioms]
        self.rng = np.random.default_rng(settings.seed)
        self.findings: dict[str, _Finding] = {}
        self.errors: dict[str, str] = {}  # axiom id -> error message (operator misbehaved)
        self.global_error: str | None = None  # an error that spoils every check
        self.samples: dict[str, int] = {}
        self.estimates: dict[str, dict[str, Any]] = {}
        self.notes: dict[str, str] = {}
        self.skips: dict[str, str] = {}
        self.dtype: np.dtype | None = None
        self.timed_out = False
        self.evaluated: list[tuple[Family, np.ndarray, np.ndarray]] = []  # (family, raw w, canonical W)
        self.derived = derived_of(op, world)
        # Bounds to check: the declared ones, else (for a composition) the derived ones.
        self.bounds: tuple[float, float] | None = op.bounds
        self.bounds_origin = "declared"
        if self.bounds is None and self.derived.get("bounds"):
            self.bounds = tuple(self.derived["bounds"])
            self.bounds_origin = "derived from the components' declared bounds"

    # ------------------------------------------------------------------ plumbing

    def ids(self, prop: str) -> str:
        for a in self.catalogue:
            if a.property == prop:
                return a.id
        return ""

    @property
    def tol(self) -> float:
        if self.settings.tolerance is not None:
            return float(self.settings.tolerance)
        return P.tolerance_for(self.dtype if self.dtype is not None else np.dtype(np.float64), self.world.teachers)

    def bound_fn(self, world: World) -> Callable[..., Any]:
        """The operator's function, told K when it takes a `teachers` keyword.

        A context operator sees no teacher axis in its input, so it can only adapt to
        the world's K (and to K = 1) through that keyword.
        """
        if accepts_teachers(self.op.fn):
            return functools.partial(self.op.fn, teachers=world.teachers)
        return self.op.fn

    def call(self, args: Args, world: World | None = None, where: str = "") -> np.ndarray:
        """Call the operator on `args`, check shape and dtype; raise OperatorMisbehaved."""
        world = world or self.world
        if self.timed_out:
            raise OperatorMisbehaved("timeout", "skipped after an earlier call timed out")
        try:
            w = call_guarded(self.bound_fn(world), args, self.settings.timeout)
        except OperatorMisbehaved as exc:
            if exc.kind == "timeout":
                self.timed_out = True
            raise
        expected = self.domain.expected_shape(world, int(args[0].shape[0]))
        if w.shape not in expected:
            want = " or ".join(str(s) for s in expected)
            raise OperatorMisbehaved("shape", f"returned shape must be {want} ({self.op.signature}), got {w.shape}")
        if not np.issubdtype(w.dtype, np.floating):
            raise OperatorMisbehaved("dtype", f"returned dtype must be a real floating type, got {w.dtype}")
        return w

    def add_finding(self, axiom: str, severity: float, message: str, ce: dict[str, Any], source: str) -> None:
        if not axiom:
            return
        old = self.findings.get(axiom)
        if old is None or severity > old.severity:
            self.findings[axiom] = _Finding(float(severity), message, ce, source)

    def add_error(self, axiom: str, message: str) -> None:
        if axiom and axiom not in self.errors:
            self.errors[axiom] = message

    def count(self, axiom: str, n: int) -> None:
        if axiom:
            self.samples[axiom] = self.samples.get(axiom, 0) + int(n)

    def inline(self, args: Args, b: int, limit: int = 24) -> str:
        """The input itself, when it is small enough to read in a message."""
        one = take(args, [b])
        if sum(a.size for a in one) > limit:
            return " (input in the counterexample)"
        parts = [f"{n}={np.array2string(a[0], precision=4, separator=', ')}" for n, a in zip(self.domain.arg_names, one)]
        return " (" + "; ".join(p.replace("\n", "") for p in parts) + ")"

    def sample_ce(self, args: Args, b: int, w: np.ndarray | None, where: str, row: str = "") -> dict[str, Any]:
        one = take(args, [b])
        ce: dict[str, Any] = {"input": {k: v.tolist() for k, v in self.domain.as_dict(one).items()},
                              "where": where}
        if row:
            ce["row"] = row
        if w is not None:
            ce["weights"] = np.asarray(w)[b].tolist()
        return ce

    # ------------------------------------------------------------------ the sweep

    def sweep(self) -> None:
        families = self.domain.sweep(self.rng, self.world, self.settings.sweep_size)
        first_error: str | None = None
        for fam in families:
            where = f"sweep family {fam.name!r}"
            try:
                w = self.call(fam.args, where=where)
            except OperatorMisbehaved as exc:
                msg = self._misbehaved_message(exc, fam.args, where)
                first_error = first_error or msg
                if exc.kind in ("shape", "dtype"):
                    self.add_error(self.ids("shape"), msg)
                else:
                    self.add_error("*", msg)
                if self.timed_out:
                    break
                continue
            if self.dtype is None:
                self.dtype = w.dtype
            self.count(self.ids("shape"), fam.size)
            self.evaluated.append((fam, w, self.domain.canonical(w)))
        for fam, w, W in self.evaluated:
            self.check_values(fam.args, w, W, f"sweep family {fam.name!r}", "sweep")
        if not self.evaluated:
            self.global_error = first_error or "the operator could not be evaluated on any sweep batch"

    def _misbehaved_message(self, exc: OperatorMisbehaved, args: Args, where: str) -> str:
        shapes = ", ".join(f"{n}{list(a.shape)}" for n, a in zip(self.domain.arg_names, args))
        verb = {"raised": "must return weights, but raised", "timeout": "must return within the time limit, but",
                "shape": "", "dtype": ""}.get(exc.kind, "")
        detail = f"{verb} {exc.detail}".strip()
        return f"{detail}, at {where} (inputs {shapes})"

    def check_values(self, args: Args, w: np.ndarray, W: np.ndarray, where: str, source: str) -> None:
        """Every pointwise predicate on one evaluated batch."""
        tol = self.tol
        B = W.shape[0]
        shape_label = w.shape

        def report(axiom: str, v: P.Violation, describe: Callable[[int, int], str]) -> None:
            self.count(axiom, B)
            if v.any:
                b, r = v.worst()
                row = self.domain.row_label(shape_label, r) if W.shape[1] > 1 else ""
                at = f"{where}, sample {b}" + (f", {row}" if row else "") + self.inline(args, b)
                msg = f"{describe(b, r)}, at {at}"
                ce = self.sample_ce(args, b, w, where, row)
                ce["weights_row"] = W[b, r].tolist()
                self.add_finding(axiom, float(v.severity[b, r]), msg, ce, source)

        report(self.ids("finite"), P.finite(W),
               lambda b, r: f"weights must be finite, got {_fmt_w(W[b, r])}")
        report(self.ids("normalization"), P.normalized(W, tol),
               lambda b, r: f"Σ_k w_k must be 1 (±{tol:.2g}), got {_fmt(float(W[b, r].sum(dtype=np.float64)))}")
        report(self.ids("positivity"), P.positive(W),
               lambda b, r: f"every w_k must be > 0, got min w_k = {_fmt(float(W[b, r].min()))} "
                            f"(teacher {int(np.nanargmin(W[b, r])) if np.isfinite(W[b, r]).any() else 0})")
        bid = self.ids("bounds")
        if bid:
            if self.bounds is not None:
                lo, hi = self.bounds
                origin = self.bounds_origin
                report(bid, P.bounded(W, lo, hi, tol),
                       lambda b, r: f"w_k must lie in the {origin} [w_min, w_max] = [{_fmt(lo)}, {_fmt(hi)}] "
                                    f"(±{tol:.2g}), got {_fmt_w(W[b, r])}")
            else:
                # Without declared bounds: some w_min > 0 must exist on the sampled domain.
                report(bid, P.bounded(W, np.finfo(np.float64).tiny, np.inf, 0.0),
                       lambda b, r: f"w_k must be bounded below by some w_min > 0 (no bounds declared), "
                                    f"got {_fmt_w(W[b, r])}")
            finite_W = np.where(np.isfinite(W), W, np.nan)
            if np.isfinite(finite_W).any():
                est = self.estimates.setdefault(bid, {"observed_min": [], "observed_max": []})
                with warnings.catch_warnings():  # a teacher whose weights are all NaN is fine here
                    warnings.simplefilter("ignore", RuntimeWarning)
                    mn = np.nanmin(finite_W.reshape(-1, W.shape[-1]), axis=0)
                    mx = np.nanmax(finite_W.reshape(-1, W.shape[-1]), axis=0)
                est["observed_min"] = list(np.fmin(est["observed_min"], mn)) if est["observed_min"] else list(mn)
                est["observed_max"] = list(np.fmax(est["observed_max"], mx)) if est["observed_max"] else list(mx)
        sid = self.ids("safety")
        if sid:
            for mask, pairs, label in self.safety_masks(args, W, where):
                v = P.ordered(W, pairs, mask, tol)
                self.samples[sid] = self.samples.get(sid, 0) + int(mask.any(axis=1).sum())
                if v.any:
                    b, r = v.worst()
                    a, c = P.pair_breaking(W, pairs, b, r, tol) or pairs[0]
                    row = self.domain.row_label(shape_label, r) if W.shape[1] > 1 else ""
                    at = f"{where}, sample {b}" + (f", {row}" if row else "") + self.inline(args, b)
                    msg = (f"{label}: teacher {a} is ranked safer than teacher {c}, so w_{a} ≥ w_{c} (−{tol:.2g}) "
                           f"is required, got w_{a} = {_fmt(float(W[b, r, a]))} < w_{c} = {_fmt(float(W[b, r, c]))}, at {at}")
                    blame = self.attribute(args, b, r, a, c)
                    if blame:
                        msg += f"; {blame}"
                    ce = self.sample_ce(args, b, w, where, row)
                    ce["weights_row"] = W[b, r].tolist()
                    ce["pair"] = [a, c]
                    self.add_finding(sid, float(v.severity[b, r]), msg, ce, source)

    # ------------------------------------------------------------------ safety

    def safety_specs(self) -> list[tuple[str, Safety]]:
        if self.op.scale == "unified":
            return [(c.scale, c.safety) for c in self.op.components if c.safety is not None]
        return [(self.op.scale, self.op.safety)] if self.op.safety is not None else []

    def safety_problem(self) -> str | None:
        """A declaration that cannot apply in this world (teacher or token out of range)."""
        for scale, s in self.safety_specs():
            if s.max_teacher() >= self.world.teachers:
                return (f"the {scale} safety order names teacher {s.max_teacher()}, but the world has only "
                        f"K = {self.world.teachers} teachers (teachers are 0..{self.world.teachers - 1})")
            if s.tokens is not None and max(s.tokens) >= self.world.vocab:
                return (f"the safety-critical token {max(s.tokens)} is outside the world's vocabulary "
                        f"V = {self.world.vocab}")
        return None

    def safety_masks(self, args: Args, W: np.ndarray, where: str) -> list[tuple[np.ndarray, list, str]]:
        out: list[tuple[np.ndarray, list, str]] = []
        if self.safety_problem() is not None:
            return out
        B, R, _ = W.shape
        for _scale, s in self.safety_specs():
            pairs = list(s.ordered_pairs())
            if s.tokens is not None:
                if R == 1:
                    mask = np.ones((B, 1), dtype=bool)
                else:
                    v = self.world.vocab
                    rows = np.arange(R) % v
                    mask = np.broadcast_to(np.isin(rows, s.tokens), (B, R)).copy()
                out.append((mask, pairs, f"on safety-critical tokens {list(s.tokens)}"))
            elif s.contexts is not None:
                ctx = args[self.domain.arg_names.index("context")]
                try:
                    sel = np.asarray(s.contexts(ctx), dtype=bool).reshape(-1)
                except Exception as exc:  # noqa: BLE001
                    self.add_error(self.ids("safety"), f"the safety predicate raised {type(exc).__name__}: {exc}, "
                                                       f"at {where}")
                    continue
                if sel.shape != (B,):
                    self.add_error(self.ids("safety"), f"the safety predicate must return bool[{B}], "
                                                       f"got shape {sel.shape}, at {where}")
                    continue
                out.append((np.repeat(sel[:, None], R, axis=1), pairs, "in safety-critical contexts"))
        return out

    def attribute(self, args: Args, b: int, r: int, a: int, c: int) -> str:
        """For a composition: which factor turned the order of teachers a and c around."""
        factors = getattr(self.op.fn, "factors", None)
        if not callable(factors):
            return ""
        try:
            logs = factors(*take(args, [b]))
        except Exception:  # noqa: BLE001 - attribution is a courtesy; the violation stands
            return ""
        V = self.world.vocab
        t, i = divmod(r, V)
        contrib = {s: float(L[0, t, a, i] - L[0, t, c, i]) for s, L in logs.items()}
        against = [s for s, v in contrib.items() if v < 0]
        parts = ", ".join(f"{s} {v:+.3g}" for s, v in contrib.items())
        if not against:
            return f"log-weight differences w_{a} vs w_{c} by factor: {parts}"
        worst = min(against, key=lambda s: contrib[s])
        return (f"overturned by the {worst} factor (log w_{a} − log w_{c} by factor: {parts})")

    # ------------------------------------------------------------------ well-posedness

    def mixed_batch(self, per_family: int = 16) -> Args | None:
        if not self.evaluated:
            return None
        return concat([take(f.args, slice(0, per_family)) for f, _, _ in self.evaluated])

    def check_determinism_and_batches(self) -> None:
        mixed = self.mixed_batch()
        did, bid = self.ids("deterministic"), self.ids("batch_independent")
        if mixed is None or not (did or bid):
            return
        n = mixed[0].shape[0]
        try:
            w1 = self.call(mixed)
            w2 = self.call(mixed)
        except OperatorMisbehaved as exc:
            msg = self._misbehaved_message(exc, mixed, "the determinism batch")
            self.add_error(did, msg)
            self.add_error(bid, msg)
            return
        W1, W2 = self.domain.canonical(w1), self.domain.canonical(w2)
        diff = P.max_abs_diff(W1, W2)
        self.count(did, n)
        if (diff > 0).any():
            b = int(np.argmax(diff))
            self.add_finding(did, float(diff[b]),
                             f"two calls on the same input must give identical weights, got ‖Δw‖∞ = {_fmt(float(diff[b]))}, "
                             f"at sample {b} of the mixed sweep batch", self.sample_ce(mixed, b, w1, "mixed sweep batch"),
                             "sweep")
        if not bid:
            return
        tol = self.tol
        variants = [("the batch reversed", np.arange(n)[::-1]), ("the first half alone", np.arange(n // 2)),
                    ("the second half alone", np.arange(n // 2, n)), ("sample 0 alone", np.arange(1))]
        for label, idx in variants:
            try:
                wv = self.call(take(mixed, idx))
            except OperatorMisbehaved as exc:
                self.add_error(bid, self._misbehaved_message(exc, take(mixed, idx), label))
                return
            dv = P.max_abs_diff(self.domain.canonical(wv), W1[idx])
            self.count(bid, len(idx))
            if (dv > tol).any():
                j = int(np.argmax(dv))
                self.add_finding(bid, float(dv[j]),
                                 f"a sample's weights must not depend on the rest of its batch (±{tol:.2g}), got "
                                 f"‖Δw‖∞ = {_fmt(float(dv[j]))} between the full batch and {label}, at sample {int(idx[j])} "
                                 f"of the mixed sweep batch", self.sample_ce(mixed, int(idx[j]), w1, "mixed sweep batch"),
                                 "sweep")

    def check_single_teacher(self) -> None:
        """K = 1: only the well-posedness checks apply (bounds and orders are stated for the world's K)."""
        # A context operator sees no teacher axis in its input: it can adapt to K only
        # through a `teachers` keyword (see bound_fn).
        if self.world.teachers == 1 or self.op.scale == "unified":
            return
        if self.op.scale == "context" and not accepts_teachers(self.op.fn):
            return
        w1 = self.world.with_teachers(1)
        rng = np.random.default_rng(self.settings.seed + 1)
        fams = self.domain.sweep(rng, w1, 8)
        for fam in fams:
            where = f"K = 1 family {fam.name!r}"
            try:
                w = self.call(fam.args, world=w1)
            except OperatorMisbehaved as exc:
                msg = self._misbehaved_message(exc, fam.args, where)
                self.add_error(self.ids("shape") if exc.kind in ("shape", "dtype") else self.ids("finite"), msg)
                if self.timed_out:
                    return
                continue
            W = self.domain.canonical(w)
            v = P.finite(W)
            self.count(self.ids("finite"), W.shape[0])
            if v.any:
                b, r = v.worst()
                self.add_finding(self.ids("finite"), 1.0, f"weights must be finite, got {_fmt_w(W[b, r])}, at {where}, "
                                 f"sample {b}", self.sample_ce(fam.args, b, w, where), "sweep")

    # ------------------------------------------------------------------ regularity

    def check_regularity(self) -> None:
        rid = self.ids("regularity")
        if not rid or not self.evaluated:
            return
        per = max(2, self.settings.regularity_pairs // max(len(self.evaluated), 1))
        pool = concat([take(f.args, slice(0, per)) for f, _, _ in self.evaluated])
        n = pool[0].shape[0]
        rng = np.random.default_rng(self.settings.seed + 2)
        perm = rng.permutation(n)
        A, Bq = pool, take(pool, perm)
        d0 = self.domain.distance(A, Bq)
        keep = d0 > 0
        A, Bq, d0 = take(A, keep), take(Bq, keep), d0[keep]
        if A[0].shape[0] == 0:
            self.skips[rid] = "no two distinct sampled inputs to measure a change between"
            return
        # Unit-length segments: far-out inputs would otherwise need many more halvings.
        s = np.minimum(1.0, 1.0 / d0)
        Bq = self.domain.interpolate(A, Bq, s)
        dtype = self.dtype if self.dtype is not None else np.dtype(np.float64)
        eps = float(np.finfo(dtype).eps)
        r_floor = {8: 1e-9, 4: 2e-5}.get(dtype.itemsize, 5e-2)
        try:
            Wa = self.domain.canonical(self.call(A))
            Wb = self.domain.canonical(self.call(Bq))
        except OperatorMisbehaved as exc:
            self.add_error(rid, self._misbehaved_message(exc, A, "the regularity segments"))
            return
        radii, deltas = [], []
        dist = self.domain.distance(A, Bq)
        radii.append(dist)
        deltas.append(P.max_abs_diff(Wa, Wb))
        levels = int(np.ceil(np.log2(1.0 / r_floor)))
        for _ in range(levels):
            mid = self.domain.interpolate(A, Bq, 0.5)
            try:
                Wm = self.domain.canonical(self.call(mid))
            except OperatorMisbehaved as exc:
                self.add_error(rid, self._misbehaved_message(exc, mid, "a regularity bisection step"))
                return
            d1, d2 = P.max_abs_diff(Wa, Wm), P.max_abs_diff(Wm, Wb)
            right = d2 > d1
            A = tuple(np.where(right.reshape((-1,) + (1,) * (m.ndim - 1)), m, a) for a, m in zip(A, mid))
            Bq = tuple(np.where(right.reshape((-1,) + (1,) * (m.ndim - 1)), b, m) for b, m in zip(Bq, mid))
            Wa = np.where(right[:, None, None], Wm, Wa)
            Wb = np.where(right[:, None, None], Wb, Wm)
            radii.append(self.domain.distance(A, Bq))
            deltas.append(P.max_abs_diff(Wa, Wb))
        R = np.stack(radii)  # [levels+1, P]
        D = np.stack(deltas)
        self.count(rid, R.shape[1] * R.shape[0])
        # Changes below sqrt(eps) are rounding, not a jump (log/exp round-off alone reaches ~1e-13 in float64).
        noise = max(float(np.sqrt(eps)), 10.0 * self.tol)
        look = min(8, R.shape[0] - 1)
        d_end, d_back = D[-1], D[-1 - look]
        jump = (d_end > noise) & (d_end >= d_back / 4.0) & (d_back > noise)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(R > 0, D / R, 0.0)
        ratio = np.where(np.isfinite(ratio), ratio, np.inf)
        smooth = ~jump
        resolved = D > 1e3 * eps
        # Growth of the ratio: compare the deepest level whose change is still well above
        # round-off with the level `look` halvings (256x the radius) above it.
        deepest = R.shape[0] - 1 - np.argmax(resolved[::-1], axis=0)
        # Growth must be sustained over two windows: a kink raises the ratio once, then it settles.
        usable = resolved.any(axis=0) & (deepest >= 2 * look)
        cols = np.arange(R.shape[1])
        r_deep = ratio[deepest, cols]
        r_up = ratio[np.maximum(deepest - look, 0), cols]
        r_top = ratio[np.maximum(deepest - 2 * look, 0), cols]
        growing = smooth & usable & (r_deep > 1.2 * r_up) & (r_up > 1.2 * r_top)
        r_levels = np.median(R, axis=1)
        # The estimate uses only changes resolved well above round-off, where the ratio is trustworthy.
        cont_ratio = np.where(smooth[None, :] & resolved, ratio, 0.0)
        est = {
            "metric": METRICS[self.op.scale],
            "lipschitz_lower_bound": float(cont_ratio.max()) if smooth.any() else None,
            "radii": [float(r) for r in r_levels],
            "max_ratio_by_radius": [float(x) for x in cont_ratio.max(axis=1)],
            "pairs": int(R.shape[1]),
            "discontinuous_pairs": int(jump.sum()),
            "non_lipschitz_pairs": int(growing.sum()),
            "declared": self.op.lipschitz,
            "radius_floor": r_floor,
        }
        self.estimates[rid] = est
        metric = METRICS[self.op.scale]
        if jump.any():
            j = int(np.argmax(np.where(jump, d_end, -1)))
            a1, b1 = take(A, [j]), take(Bq, [j])
            msg = (f"weights must change continuously, got a jump: ‖Δw‖∞ stays ≥ {_fmt(float(d_end[j]))} while the "
                   f"distance in {metric} shrinks from {_fmt(float(R[-1 - look, j]))} to {_fmt(float(R[-1, j]))} "
                   f"(ratio grows like 1/r), between the two inputs in the counterexample")
            ce = {"input": {k: v.tolist() for k, v in self.domain.as_dict(a1).items()},
                  "other_input": {k: v.tolist() for k, v in self.domain.as_dict(b1).items()},
                  "weights": Wa[j].tolist(), "other_weights": Wb[j].tolist(), "where": "regularity bisection",
                  "radius": float(R[-1, j])}
            self.add_finding(rid, float(d_end[j]), msg, ce, "sweep")
            return
        L = est["lipschitz_lower_bound"] or 0.0
        if self.op.lipschitz is not None and L > self.op.lipschitz * (1 + 1e-3):
            j = int(np.argmax(cont_ratio.max(axis=0)))
            lvl = int(np.argmax(cont_ratio[:, j]))
            msg = (f"‖Δw‖∞ / d must be ≤ the declared L = {_fmt(self.op.lipschitz)} in {metric}, got a ratio of "
                   f"{_fmt(float(cont_ratio[lvl, j]))} at radius {_fmt(float(R[lvl, j]))} (a lower bound on the true constant)")
            ce = {"input": {k: v.tolist() for k, v in self.domain.as_dict(take(A, [j])).items()},
                  "other_input": {k: v.tolist() for k, v in self.domain.as_dict(take(Bq, [j])).items()},
                  "where": "regularity bisection (final segment; the ratio was largest at the radius in the message)"}
            self.add_finding(rid, float(cont_ratio[lvl, j]), msg, ce, "sweep")
            return
        if growing.any():
            self.notes[rid] = (f"continuous, but the ratio ‖Δw‖∞/d keeps growing as the radius shrinks on "
                               f"{int(growing.sum())} of {R.shape[1]} segments (slower than 1/r, e.g. log 1/r): no "
                               f"Lipschitz constant in {metric}; sampled lower bound {_fmt(L)} at radius ≥ {_fmt(r_floor)}")
        else:
            self.notes[rid] = (f"continuous; sampled Lipschitz estimate {_fmt(L)} in {metric} (a lower bound on the "
                               f"true constant) over {R.shape[1]} segments, radii {_fmt(float(r_levels[0]))} → "
                               f"{_fmt(float(r_levels[-1]))}")

    # ------------------------------------------------------------------ Pareto (task scale)

    def check_pareto(self) -> None:
        pid = self.ids("pareto")
        if not pid:
            return
        if self.op.importance is None:
            self.skips[pid] = "no task importance λ declared (pass importance=fn(losses, sizes) -> [B,M])"
            return
        tol = P.tolerance_for(np.dtype(np.float64), self.world.tasks)
        lambdas = []
        for fam in self.domain.sweep(np.random.default_rng(self.settings.seed + 3), self.world, 64):
            where = f"sweep family {fam.name!r}"
            try:
                lam = call_guarded(self.op.importance, fam.args, self.settings.timeout)
            except OperatorMisbehaved as exc:
                self.add_error(pid, f"importance {self._misbehaved_message(exc, fam.args, where)}")
                return
            want = (fam.size, self.world.tasks)
            if lam.shape != want or not np.issubdtype(lam.dtype, np.floating):
                self.add_error(pid, f"importance must return float[{want[0]}, {want[1]}], got {lam.dtype}{list(lam.shape)}, at {where}")
                return
            lam = lam.astype(np.float64)
            err = np.maximum(np.abs(lam.sum(axis=1) - 1.0), -lam.min(axis=1))
            bad = ~(err <= tol)
            self.count(pid, fam.size)
            if bad.any():
                b = int(np.argmax(np.where(bad, np.nan_to_num(err, nan=np.inf), -1)))
                ce = self.sample_ce(fam.args, b, None, where)
                ce["importance"] = lam[b].tolist()
                self.add_finding(pid, float(err[b]), f"task importance λ must be ≥ 0 with Σ_t λ_t = 1 (±{tol:.2g}), got "
                                 f"λ = {_fmt_w(lam[b])}, at {where}, sample {b}", ce, "sweep")
            lambdas.append(lam[~bad])
        lam_all = np.concatenate(lambdas) if lambdas else np.zeros((0, self.world.tasks))
        # Domination search on random strictly convex quadratic multi-task problems.
        rng = np.random.default_rng(self.settings.seed + 4)
        m, dim = self.world.tasks, 3
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
                self.add_finding(pid, 1.0, f"the λ-scalarized minimizer must not be Pareto-dominated, got a point that "
                                 f"lowers every task loss, for λ = {_fmt_w(lam)}",
                                 {"importance": lam.tolist(), "minimizer": theta.tolist(),
                                  "dominating_point": cands[int(np.argmax(dom))].tolist()}, "sweep")
                break
        self.estimates[pid] = {"problems_checked": checked, "importance_samples": int(sum(len(x) for x in lambdas))}

    # ------------------------------------------------------------------ the search

    def _settings(self, max_examples: int) -> Any:
        from hypothesis import HealthCheck, Phase, settings

        return settings(max_examples=max_examples, database=None, deadline=None, derandomize=False,
                        suppress_health_check=list(HealthCheck), print_blob=False, report_multiple_bugs=False,
                        phases=[Phase.explicit, Phase.generate, Phase.target, Phase.shrink])

    def _pointwise(self) -> list[str]:
        return [a.id for a in self.catalogue if a.property in ("finite", "normalization", "positivity", "bounds", "safety")]

    def search(self) -> None:
        if self.settings.max_examples == 0 or self.global_error or self.timed_out:
            return
        from hypothesis import given, seed, target

        strategy = self.domain.strategy(self.world)
        verifier = self

        @seed(self.settings.seed)
        @self._settings(self.settings.max_examples)
        @given(strategy)
        def explore(args: Args) -> None:
            try:
                w = verifier.call(args)
            except OperatorMisbehaved as exc:
                verifier.add_error("*" if exc.kind not in ("shape", "dtype") else verifier.ids("shape"),
                                   verifier._misbehaved_message(exc, args, "a search example"))
                return
            W = verifier.domain.canonical(w)
            verifier.check_values(args, w, W, "a search example", "search")
            for axiom, sev in verifier._severities(args, W).items():
                target(float(min(sev, 1e300)), label=axiom)

        try:
            explore()
        except Exception as exc:  # noqa: BLE001 - Hypothesis' own errors must not crash verify
            self.notes.setdefault("*search*", f"search stopped early: {type(exc).__name__}: {exc}")

    def _severities(self, args: Args, W: np.ndarray) -> dict[str, float]:
        tol = self.tol
        out = {}
        n = self.ids("normalization")
        if n:
            out[n] = float(np.nan_to_num(P.normalized(W, tol).severity, nan=1e300, posinf=1e300).max())
        b = self.ids("bounds")
        if b and self.bounds is not None:
            out[b] = float(np.nan_to_num(P.bounded(W, *self.bounds, tol).severity, nan=1e300, posinf=1e300).max())
        return out

    def shrink(self, axiom: str) -> None:
        """Search for a minimal input violating `axiom` only; keep it if found."""
        from hypothesis import given, seed

        strategy = self.domain.strategy(self.world, max_batch=1)
        verifier = self
        state = {"calls": 0, "last": None}
        budget = max(200, 4 * self.settings.max_examples)
        deadline = time.perf_counter() + 5.0

        class _Violated(Exception):
            pass

        @seed(self.settings.seed)
        @self._settings(max(self.settings.max_examples, 50))
        @given(strategy)
        def probe(args: Args) -> None:
            state["calls"] += 1
            if state["calls"] > budget or time.perf_counter() > deadline:
                return
            try:
                w = verifier.call(args)
            except OperatorMisbehaved:
                return
            W = verifier.domain.canonical(w)
            saved = verifier.findings.pop(axiom, None)
            verifier.check_values(args, w, W, "a shrunk search example", "shrink")
            found = verifier.findings.pop(axiom, None)
            # Restore any other findings untouched by this probe.
            if saved is not None:
                verifier.findings[axiom] = saved
            if found is not None:
                state["last"] = found
                raise _Violated()

        try:
            probe()
        except Exception:  # noqa: BLE001 - the violation (or a flaky replay) ends the search
            pass
        if state["last"] is not None:
            f = state["last"]
            self.findings[axiom] = _Finding(f.severity, f.message, f.counterexample, "search")

    # ------------------------------------------------------------------ assembling

    def run(self) -> Report:
        start = time.perf_counter()
        problem = self.safety_problem()
        self.sweep()
        if not self.global_error:
            self.check_determinism_and_batches()
            self.check_single_teacher()
            self.check_regularity()
            self.check_pareto()
            self.search()
            if self.settings.shrink and not self.timed_out:
                for axiom in list(self.findings):
                    if AXIOMS[axiom].property in ("normalization", "positivity", "bounds", "safety", "finite"):
                        self.shrink(axiom)
        self.demote_when_nondeterministic()
        results = [self.result(a.id, problem) for a in self.catalogue]
        return Report(operator=self.op.name, scale=self.op.scale, results=tuple(results), seed=self.settings.seed,
                      world=dataclasses.asdict(self.world), spec=spec_of(self.op), derived=self.derived,
                      elapsed_s=time.perf_counter() - start)

    def demote_when_nondeterministic(self) -> None:
        """Noise is not a discontinuity nor a batch effect, and a batch effect is not a discontinuity.

        Regularity compares calls on different batches, so it is judged only for a
        deterministic, batch-independent operator; batch independence only for a
        deterministic one.
        """
        did, bid = self.ids("deterministic"), self.ids("batch_independent")
        for cause, what, props in ((did, "non-deterministic", ("regularity", "batch_independent")),
                                   (bid, "dependent on the rest of its batch", ("regularity",))):
            if cause not in self.findings:
                continue
            for prop in props:
                axiom = self.ids(prop)
                if axiom in self.findings:
                    del self.findings[axiom]
                    self.errors[axiom] = (f"cannot be judged: the operator is {what} (see {cause}): "
                                          f"{self.findings[cause].message}")

    def result(self, axiom: str, safety_problem: str | None) -> Result:
        a = AXIOMS[axiom]
        repro = reproduce_command(self.op, self.world, self.settings, axiom)
        common = dict(axiom=axiom, paper_ref=a.paper_ref, seed=self.settings.seed, samples=self.samples.get(axiom, 0),
                      estimate=self.estimates.get(axiom), reproduce=repro)
        if self.global_error:
            status = "error"
            return Result(status=status, message=f"could not be checked: the operator {self.global_error}",
                          **common)
        if a.property == "safety" and safety_problem:
            return Result(status="error", message=f"declared safety cannot be checked: {safety_problem}",
                          **common)
        if a.property == "safety" and not self.safety_specs():
            return Result(status="skipped", message="no safety ordering declared (pass safety=ac.Safety(...))", **common)
        finding = self.findings.get(axiom)
        err = self.errors.get(axiom) or self.errors.get("*")
        if finding is not None:
            extra = f" (also: {err})" if err else ""
            return Result(status="fail", message=finding.message + extra, counterexample=finding.counterexample,
                          **common)
        if err:
            return Result(status="error", message=err, **common)
        if axiom in self.skips:
            return Result(status="skipped", message=self.skips[axiom], **common)
        if a.property == "safety" and self.samples.get(axiom, 0) == 0:
            return Result(status="skipped", message="no sampled input fell in the safety-critical set, so the "
                          "ordering could not be exercised", **common)
        return Result(status="pass", message=self.pass_message(a), **common)

    def pass_message(self, a: Any) -> str:
        n = self.samples.get(a.id, 0)
        if a.property == "regularity":
            return self.notes.get(a.id, "continuous on the sampled segments")
        if a.property == "bounds":
            est = self.estimates.get(a.id) or {}
            lo = min(est.get("observed_min") or [float("nan")])
            hi = max(est.get("observed_max") or [float("nan")])
            decl = (f"{self.bounds_origin} [{_fmt(self.bounds[0])}, {_fmt(self.bounds[1])}]" if self.bounds
                    else "no bounds declared")
            return f"observed weights in [{_fmt(lo)}, {_fmt(hi)}], {decl}, over {n} samples"
        if a.property == "pareto":
            return f"λ ≥ 0 and Σλ = 1 on {n} samples; no dominating point found on the λ-scalarized minimizers"
        if a.property in ("normalization", "bounds", "safety"):
            return f"holds on {n} sampled inputs (tolerance {self.tol:.2g})"
        return f"holds on {n} sampled inputs"


def spec_of(op: Operator) -> dict[str, Any]:
    s: dict[str, Any] = {"bounds": list(op.bounds) if op.bounds else None, "lipschitz": op.lipschitz,
                         "metric": METRICS[op.scale]}
    if op.safety is not None:
        s["safety"] = {"tokens": list(op.safety.tokens) if op.safety.tokens else None,
                       "contexts": getattr(op.safety.contexts, "__name__", None) if op.safety.contexts else None,
                       "pairs": [list(p) for p in op.safety.ordered_pairs()]}
    if op.importance is not None:
        s["importance"] = getattr(op.importance, "__name__", repr(op.importance))
    if op.components:
        s["components"] = [c.name for c in op.components]
    return s


def derived_of(op: Operator, world: World) -> dict[str, Any]:
    hook = getattr(op.fn, "derived_bounds", None)
    if callable(hook):
        try:
            return dict(hook(world.teachers))
        except Exception:  # noqa: BLE001
            return {}
    return {}


def target_name(op: Operator) -> str | None:
    """How to name `op` on the command line: its registry name, else `module:attr`, else None."""
    from .operator import _REGISTRY

    if _REGISTRY.get(op.name) is op:
        return op.name
    mod = getattr(op.fn, "__module__", None)
    qual = getattr(op.fn, "__qualname__", "")
    if mod and mod != "__main__" and qual and "<" not in qual:
        return f"{mod}:{qual}"
    return None


def reproduce_command(op: Operator, world: World, settings: Settings, axiom: str) -> str:
    """A one-line command that replays `axiom` (a Python call when the operator has no importable name)."""
    target = target_name(op)
    if target is None:
        return (f"ac.verify(op, seed={settings.seed}, max_examples={settings.max_examples}, "
                f"teachers={world.teachers}, vocab={world.vocab}, context_dim={world.context_dim}, "
                f"tasks={world.tasks}, axioms=[{axiom!r}])  # op: the Operator {op.name!r} (no importable name)")
    return (f"axiomcheck verify {target} --seed {settings.seed} --max-examples {settings.max_examples} "
            f"--teachers {world.teachers} --vocab {world.vocab} --context-dim {world.context_dim} "
            f"--tasks {world.tasks} --axioms {axiom}")


def verify(
    op_or_name: Operator | str,
    *,
    teachers: int = 4,
    vocab: int = 16,
    context_dim: int = 3,
    tasks: int = 3,
    seed: int = 0,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    sweep_size: int = DEFAULT_SWEEP_SIZE,
    tolerance: float | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    axioms: Sequence[str] | None = None,
    shrink: bool = True,
    isolate: bool = False,
) -> Report:
    """Check one operator against every axiom of its scale; always returns a full `Report`.

    `teachers`, `vocab`, `context_dim`, `tasks` set the world sampled in (declared
    bounds and safety orders are read for that K).  The same `seed` gives the
    same report.  `tolerance` overrides the dtype-aware default; `timeout` is the
    per-call limit in seconds; `axioms` restricts the run to some ids.
    """
    op = as_operator(op_or_name)
    world = World(teachers=teachers, vocab=vocab, context_dim=context_dim, tasks=tasks)
    settings = Settings(seed=seed, max_examples=max_examples, sweep_size=sweep_size, tolerance=tolerance,
                        timeout=timeout, shrink=shrink, isolate=isolate)
    if axioms is not None:
        unknown = [a for a in axioms if a not in AXIOMS]
        if unknown:
            raise KeyError(f"unknown axiom id(s) {unknown}; see axiomcheck.AXIOMS")
    return Verifier(op, world, settings, axioms).run()
