"""The weight guard's framework-free parts: what it checks, what it keeps, and its results.

The guard checks, inside a training step, the weights a distillation loss
receives.  It comes in two forms that share everything here and decide with the
rules of `axiomcheck.checks.rules`: the JAX one (`axiomcheck.kernels.guard_update`, pure
functions of a `GuardState` pytree) and the PyTorch one (`axiomcheck.torch_guard`,
an object whose state stays on the weights' device; `guard.torch_guard`).  Nothing
here imports JAX or torch.

* `spec`: `GuardSpec`, the declared bounds and token safety order, and `PROPERTIES`;
* `state`: `GuardState`, the fields kept across steps, and how two states merge;
* `results`: a state as `runtime.*` `Result`s, a `Report`, and a `Run` for the writers.
"""

from .runtime import guard_report, guard_results, training_run
from .spec import PROPERTIES, GuardSpec
from .state import GuardState

__all__ = ["PROPERTIES", "GuardSpec", "GuardState", "guard_report", "guard_results", "training_run"]
