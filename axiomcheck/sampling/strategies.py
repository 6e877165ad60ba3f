"""Hypothesis strategies for single inputs; they shrink towards small, readable values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st

from .._softmax import softmax


def finite_floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


@st.composite
def distributions(draw: Callable[..., Any], vocab: int) -> np.ndarray:
    """One distribution over `vocab` tokens; shrinks towards the uniform one.

    Logits are small integers-or-floats times a scale from {1, 10, 100, 1000}, so
    the search reaches near-one-hot rows and exact underflow as well as ties.
    """
    kind = draw(st.sampled_from(["logits", "one_hot"]))
    if kind == "one_hot":
        p = np.zeros(vocab)
        p[draw(st.integers(0, vocab - 1))] = 1.0
        return p
    logits = np.array(draw(st.lists(finite_floats(-4, 4), min_size=vocab, max_size=vocab)))
    scale = draw(st.sampled_from([1.0, 10.0, 100.0, 1000.0]))
    return softmax(logits * scale)


def contexts(d: int) -> st.SearchStrategy[np.ndarray]:
    """One context vector; magnitudes up to 1e6 so far-out contexts are reached."""
    big = st.sampled_from([1.0, 1e3, 1e6])
    return st.builds(lambda xs, s: np.array(xs) * s,
                     st.lists(finite_floats(-3, 3), min_size=d, max_size=d), big)
