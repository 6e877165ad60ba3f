"""The interval core, assembled: import this module before evaluating anything on intervals.

`interval.py` holds the data; `methods` installs its Python operators,
`numpy_front` the numpy protocols, and `patterns` registers the structured
rules (softmax, log-softmax, x/Σx, the simplex sums) at the operations'
hook points.  The front ends and the evaluator import this module, so the
core is whole wherever it runs; the names below are its vocabulary.
"""

from . import methods, numpy_front, patterns  # noqa: F401 - imported for what they install
from .interval import Interval, Trace, Unenclosable, constant, lift, trace_of

__all__ = ["Interval", "Trace", "Unenclosable", "constant", "lift", "trace_of"]
