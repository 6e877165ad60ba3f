"""Conformance suites: TOML files that name operators, worlds and expected verdicts.

`loader` reads and validates suite files (`load`, `load_all`), `runner` runs
them (`run`, `run_item`) into a `Run` of `axiomcheck.report.results`.  The names the
command line, the pytest plugin and the tests use are re-exported here.
"""

from ..errors import Problem, SuiteError, TargetError
from ..report.results import RUN_SCHEMA, RUN_SCHEMA_VERSION, ItemRun, Outcome, Run, SuiteRun
from .loader import builtin_suite_dir, default_suite_dir, discover, load, load_all, loads
from .model import Suite, SuiteItem, compose_targets
from .runner import (
    effective,
    internal_error,
    item_run,
    judge,
    record_for,
    replay_item,
    reproduction,
    run,
    run_item,
    single,
    verify_command,
    verify_item,
)
from .validate import EXPECTATIONS

__all__ = [
    "EXPECTATIONS", "RUN_SCHEMA", "RUN_SCHEMA_VERSION", "ItemRun", "Outcome", "Problem", "Run", "Suite",
    "SuiteError", "SuiteItem", "SuiteRun", "TargetError", "builtin_suite_dir", "compose_targets",
    "default_suite_dir", "discover", "effective", "internal_error", "item_run", "judge", "load", "load_all",
    "loads", "record_for", "replay_item", "reproduction", "run", "run_item", "single", "verify_command", "verify_item",
]
