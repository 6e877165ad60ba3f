"""Certified verdicts: sound proofs over a stated input domain, beside the sampled ones.

`Certificate` is the plain-data record each certified check yields.  The
package is also the public call: `axiomcheck.certify(op, ...)` runs
`verify(op, certify=True, ...)` (see `axiomcheck.engine.certify`).
"""

from ._callable import make_callable
from .certificate import CERTIFICATE_STATUSES, Certificate

__all__ = ["CERTIFICATE_STATUSES", "Certificate"]

make_callable(__name__)  # `axiomcheck.certify(op)` certifies (see _callable for why the package is callable)
