"""A scale's `Domain` extended by the keyword inputs one operator names.

`WithInputs(domain, names)` appends the named inputs (see `axiomcheck.spec.inputs`)
to the positional ones, so every check sees one tuple of batch-first arrays:
the sweep gains one family per input family (edge cases such as a label with
probability 0 under one teacher), the Hypothesis strategy draws each input's
family and seed (so shrinking ends at the first family and seed 0, a readable
input), segments interpolate continuous inputs and hold discrete ones fixed,
and the distance adds each continuous input's ‖Δ‖∞ to the scale's metric.

>>> import numpy as np
>>> from axiomcheck.sampling.domains import DOMAINS, World
>>> d = WithInputs(DOMAINS["token"], ("labels",))
>>> d.arg_names
('probs', 'context', 'labels')
>>> fams = d.sweep(np.random.default_rng(0), World(), 8)
>>> "labels=zero_under_one" in [f.name for f in fams]
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st

from .._softmax import softmax
from ..spec.inputs import INPUTS, Batch, Draw, metric_terms
from ..spec.scales import SCALES
from .domains import Args, Domain, Family, World, Wrapped, lerp, take


class WithInputs(Wrapped):
    """`base` with the keyword inputs `names` after its positional inputs."""

    def __init__(self, base: Domain, names: tuple[str, ...], safety_tokens: tuple[int, ...] = ()):
        self.base, self.names, self.safety_tokens = base, tuple(names), tuple(safety_tokens)
        self.scale = base.scale
        self.families = base.families
        self._n = len(base.arg_names)

    @property
    def arg_names(self) -> tuple[str, ...]:  # type: ignore[override]
        """The scale's positional inputs, then the keyword inputs named."""
        return self.base.arg_names + self.names

    # --------------------------------------------------------------- layout helpers

    def _split(self, args: Args) -> tuple[Args, Batch]:
        return tuple(args[: self._n]), dict(zip(self.names, args[self._n:]))

    def _join(self, base: Batch, extra: Batch) -> Args:
        return tuple(base[n] for n in self.base.arg_names) + tuple(extra[n] for n in self.names)

    def _drawn(self, base_args: Args, families: dict[str, str], draw: Callable[[str], Draw]) -> Args:
        base = dict(zip(self.base.arg_names, base_args))
        extra: Batch = {}
        from_logits = None
        for name in self.names:
            value, base = INPUTS[name].draw(families[name], draw(name), {**base, **extra})
            base = {k: base[k] for k in self.base.arg_names}
            extra[name] = value
            if name == "teacher_logits":
                from_logits = base["probs"]
        if from_logits is not None and base["probs"] is not from_logits:
            # a later input (a label with probability 0) rewrote probs: keep probs = softmax(teacher_logits)
            with np.errstate(divide="ignore"):
                extra["teacher_logits"] = np.log(base["probs"])
            base["probs"] = softmax(extra["teacher_logits"])
        return self._join(base, extra)

    @property
    def metric(self) -> str:
        """The scale's metric with the continuous inputs' terms, and the inputs held fixed."""
        cont, held = metric_terms(self.names)
        terms = [a.term for a in SCALES[self.scale].args] + cont
        text = f"max({', '.join(terms)})" if len(terms) > 1 else terms[0]
        return text + (f" ({', '.join(held)} held fixed on each segment)" if held else "")

    # --------------------------------------------------------------- Domain

    def sweep(self, rng: np.random.Generator, world: World, n: int) -> list[Family]:
        fams = self.base.sweep(rng, world, n)  # drawn first, so the positional inputs match the plain scale's
        out = []

        def draw_with(name: str) -> Draw:
            return Draw(rng, world, self.safety_tokens)

        for i, fam in enumerate(fams):
            picks = {name: INPUTS[name].families[i % len(INPUTS[name].families)] for name in self.names}
            out.append(Family(fam.name, self._drawn(fam.args, picks, draw_with)))
        first = fams[0].args
        for name in self.names:
            for family in INPUTS[name].families:
                picks = {other: INPUTS[other].families[0] for other in self.names}
                picks[name] = family
                out.append(Family(f"{name}={family}", self._drawn(first, picks, draw_with)))
        # a quarter of the samples each: the constructions are extreme by design, not by chance
        rows = slice(0, max(8, n // 4))
        for base, picks in self.joint_extremes(fams):
            label = "+".join([base.name] + [f"{n}={f}" for n, f in picks.items()])
            out.append(Family(label, self._drawn(take(base.args, rows), picks, draw_with)))
        return out

    def joint_extremes(self, fams: list[Family]) -> list[tuple[Family, dict[str, str]]]:
        """Every keyword input at one of its extremes at once, on the base's extreme families.

        Round r puts each input at its r-th extreme (cycling); round 0 is paired with each extreme
        family of the base (one-hot teachers, zero losses, far-out contexts), the later rounds with
        the first.  A violation that needs all inputs at their edge together (one-hot teachers
        giving the label probability 0, a confidently wrong student and far-out features) is then
        in the sweep at every seed, not left to the search.
        """
        edges = [f for f in fams if f.name.split("+")[0] in self.base.extremes] or fams[:1]
        rounds = max(len(INPUTS[n].extremes or INPUTS[n].families[:1]) for n in self.names)
        out = []
        for r in range(rounds):
            picks = {}
            for n in self.names:
                ext = INPUTS[n].extremes or INPUTS[n].families[:1]
                picks[n] = ext[r % len(ext)]
            out += [(base, picks) for base in (edges if r == 0 else edges[:1])]
        return out

    def strategy(self, world: World, max_batch: int = 2) -> st.SearchStrategy[Args]:
        base = self.base.strategy(world, max_batch)
        choices = {name: st.tuples(st.sampled_from(INPUTS[name].families), st.integers(0, 2**16 - 1))
                   for name in self.names}

        @st.composite
        def extended(draw: Callable[..., Any]) -> Args:
            args = draw(base)
            picked = {name: draw(choice) for name, choice in choices.items()}
            return self._drawn(args, {n: f for n, (f, _) in picked.items()},
                               lambda name: Draw(np.random.default_rng(picked[name][1]), world, self.safety_tokens))

        return extended()

    def interpolate(self, a: Args, b: Args, s: Any) -> Args:
        (pa, ea), (pb, eb) = self._split(a), self._split(b)
        base = dict(zip(self.base.arg_names, self.base.interpolate(pa, pb, s)))
        extra: Batch = {}
        for name in self.names:
            x, y = ea[name], eb[name]
            if INPUTS[name].metric is None:
                extra[name] = x.copy()  # discrete: held fixed along the segment
            elif name == "teacher_logits":
                both = np.isfinite(x) & np.isfinite(y)
                extra[name] = np.where(both, lerp(np.where(both, x, 0.0), np.where(both, y, 0.0), s), x)
                base["probs"] = softmax(extra[name])
            else:
                extra[name] = lerp(x, y, s)
        return self._join(base, extra)

    def distance(self, a: Args, b: Args) -> np.ndarray:
        (pa, ea), (pb, eb) = self._split(a), self._split(b)
        out = self.base.distance(pa, pb)
        for name in self.names:
            if INPUTS[name].metric is None:
                continue
            x, y = np.asarray(ea[name], dtype=np.float64), np.asarray(eb[name], dtype=np.float64)
            both = np.isfinite(x) & np.isfinite(y)
            diff = np.where(both, np.abs(np.where(both, y, 0.0) - np.where(both, x, 0.0)), 0.0)
            out = np.maximum(out, diff.reshape(diff.shape[0], -1).max(axis=1, initial=0.0))
        return out

