"""The checks the engine runs: one `Check` per property of the catalogue, by the property an axiom row names.

Adding an axiom is one `Check` here (a subclass of `checks.base.Check`) and one
row in `axioms.py`; the verifier runs what the catalogue selects.
"""

from __future__ import annotations

from .base import Check
from .pareto import Pareto
from .pointwise import POINTWISE
from .regularity import Regularity
from .wellposed import BatchIndependent, Deterministic, Shape

#: property name -> the check that decides it
PROPERTY_CHECKS: dict[str, Check] = {
    **{c.property: c for c in POINTWISE},
    "shape": Shape(),
    "deterministic": Deterministic(),
    "batch_independent": BatchIndependent(),
    "regularity": Regularity(),
    "pareto": Pareto(),
}

