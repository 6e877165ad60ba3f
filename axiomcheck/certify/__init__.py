"""Certified verdicts: sound proofs over a stated input domain, beside the sampled ones.

`Certificate` is the plain-data record each certified check yields.
"""

from .certificate import CERTIFICATE_STATUSES, Certificate

__all__ = ["CERTIFICATE_STATUSES", "Certificate"]
