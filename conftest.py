"""Collection settings for the whole repository (the tests' fixtures are in tests/conftest.py).

The doctests of `axiomcheck/` run with the package; the PyTorch weight guard's module imports
torch, an optional extra (`make torch`), so without it that module is not collected.
"""

import importlib.util

collect_ignore = [] if importlib.util.find_spec("torch") else ["axiomcheck/guard/torch_guard.py"]
