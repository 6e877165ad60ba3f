"""The checks the engine runs: one `Check` per property of the catalogue, and the checks that feed them.

Adding an axiom is one `Check` here (a subclass of `checks.base.Check`) and one
row in `axioms.py`; the verifier runs what the catalogue selects, and reads each
check only through the contract of `checks.base.Check`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..errors import SpecError
from .base import Check
from .pareto import Pareto
from .pointwise import POINTWISE
from .regularity import Regularity
from .shape import Shape
from .single_teacher import SingleTeacher
from .wellposed import BatchIndependent, Deterministic

if TYPE_CHECKING:
    from ..axioms import Axiom
    from ..calling.sandbox import OperatorMisbehaved
    from .evidence import Evidence
    from .subject import Subject

#: property name -> the check that decides it
PROPERTY_CHECKS: dict[str, Check] = {
    **{c.property: c for c in POINTWISE},
    "shape": Shape(),
    "deterministic": Deterministic(),
    "batch_independent": BatchIndependent(),
    "regularity": Regularity(),
    "pareto": Pareto(),
}

#: the checks with no catalogue row of their own, run after the catalogue's; each adds to the
#: evidence of the properties it `feeds`
FEEDING_CHECKS: list[Check] = [SingleTeacher()]


def check_catalogue(rows: Iterable[Axiom]) -> None:
    """Refuse catalogue rows that no registered check can decide, before anything runs.

    A row names a property; the check registered under that name must say it decides that
    property (`Check.property`), or the engine would route its evidence elsewhere and report the
    row as never reached.

    >>> from axiomcheck.axioms import Axiom
    >>> check_catalogue([Axiom("context.novel", "context", "novel", "X.1", "s", "d")])
    Traceback (most recent call last):
    ...
    axiomcheck.errors.SpecError: context.novel is checked by property 'novel', and no check decides it: register one in axiomcheck.checks.registry.PROPERTY_CHECKS['novel']
    """
    for a in rows:
        check = PROPERTY_CHECKS.get(a.property)
        if check is None:
            raise SpecError(f"{a.id} is checked by property {a.property!r}, and no check decides it: register one "
                            f"in axiomcheck.checks.registry.PROPERTY_CHECKS[{a.property!r}]")
        if check.property != a.property:
            raise SpecError(f"{a.id}: the check registered under {a.property!r} ({type(check).__name__}) declares "
                            f"property = {check.property!r}; set property = {a.property!r} on it")


def charge(subject: Subject, ev: Evidence, exc: OperatorMisbehaved, message: str) -> None:
    """Record an operator failure: against the check that owns it (`Check.owns`: a wrong shape is the
    shape check's error, even when that check is not selected), else against every check."""
    owner = next((c for c in PROPERTY_CHECKS.values() if c.owns(exc)), None)
    if owner is not None:
        ev.fail(subject.id(owner.property), message)
    else:
        ev.fail_all(message)
