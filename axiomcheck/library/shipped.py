"""Every operator axiomcheck ships, registered when this module is imported.

The lookup (`axiomcheck.library.lookup`) imports it the first time a name is
read; importing it registers

* the conforming families of paper §V (`CONFORMING`): token `entropy_exp`,
  `hybrid_safety`, `inverse_variance`, `uniform_token`; task `inverse_loss`,
  `softmax_performance`, `size_tempered`, `uniform_task`; context
  `ordinal_safety`, `divergence_shift`, `uniform_context` — each passes every
  check of its scale in the default world (K = 4, V = 16, D = 3, M = 3);
* one counterexample per axiom (`INDEPENDENCE`, names `indep_<scale>_<axiom>`),
  which fails exactly `EXPECTED_FAILURES[axiom]` (§IX.C, open question 1).

* the published weighting schemes and their repaired variants (`published.PORTS`,
  audited in the docs' "Published schemes" page).

The operators of `misbehaving` (`MISBEHAVING`, names `bad_*`) are *not*
registered; `misbehaving.register_all()` adds them.  The package
`axiomcheck.library` gives these names too, importing this module when one is
first read.

>>> CONFORMING["token"][0]
'entropy_exp'
"""

from __future__ import annotations

from axiomcheck import library as _package
from axiomcheck.library import context, independence, misbehaving, published, task, token  # noqa: F401 - re-exported (`__all__`)
from axiomcheck.library.context import divergence_shift, ordinal_safety, uniform_context  # noqa: F401 - re-exported (`__all__`)
from axiomcheck.library.independence import EXPECTED_FAILURES, INDEPENDENCE, SCALE_CHECKS  # noqa: F401 - re-exported (`__all__`)
from axiomcheck.library.misbehaving import EXPECTED_MISBEHAVIOR, MISBEHAVING  # noqa: F401 - re-exported (`__all__`)
from axiomcheck.library.task import inverse_loss, size_tempered, softmax_performance, uniform_task  # noqa: F401 - re-exported (`__all__`)
from axiomcheck.library.token import entropy_exp, hybrid_safety, inverse_variance, uniform_token  # noqa: F401 - re-exported (`__all__`)

published.register_published()

#: scale -> names of the conforming built-ins (registered; each passes verify()).
CONFORMING: dict[str, tuple[str, ...]] = {
    "token": ("entropy_exp", "hybrid_safety", "inverse_variance", "uniform_token"),
    "task": ("inverse_loss", "softmax_performance", "size_tempered", "uniform_task"),
    "context": ("ordinal_safety", "divergence_shift", "uniform_context"),
}

#: the names the package `axiomcheck.library` gives, listed once there
__all__ = list(_package.__all__)
