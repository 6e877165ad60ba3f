"""What a result shows in a notebook (HTML) and on a rich console: the report's own renderers, reused.

`html(obj)` and `rich(obj)` take a `Run`, a `Report`, a `Result` or a tuple of
`Result`s (what the weight guard's `guard_results` returns); they are what
`_repr_html_` and `__rich__` of those classes return (`axiomcheck.report.displayable`).

* A `Run` shows as the HTML report's overview (`html.overview_html`: headline,
  unexpected verdicts, the operator × check matrix, each operator's results and
  counterexamples; no plots) and on a console as `axiomcheck run` prints it.
* A `Report` shows as the one-item run `axiomcheck verify` would write (every
  check expected to pass) and on a console as `ac.print_report` prints it.
* A `Result`, or the guard's results, shows as its table and the details of
  what failed (`html.results_html`), and on a console as the same table.

>>> from axiomcheck.report.results import Report, Result
>>> rep = Report("op", "token", (Result("token.positivity", "III.2", "fail", "w_0 = 0 <script>"),))
>>> page = html(rep)
>>> "token.positivity" in page and "&lt;script&gt;" in page and "<script>" not in page
True
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any

from ..report.results import ItemRun, Outcome, Report, Result, Run, SuiteRun
from .certified import of_results
from .common import TRAINING_LABEL, observed_in_training
from .html import overview_html, results_html

#: The suite name a single report is shown under: the one `axiomcheck verify` writes.
VERIFY_SUITE = "verify"

# Each fragment's anchors get their own prefix, so two reports shown in one notebook link each to its own rows.
_fragments = itertools.count(1)


def _outcome(r: Result, suite: str = "", item: str = "", operator: str = "", scale: str = "") -> Outcome:
    """A result as an outcome expected to pass."""
    return Outcome(suite=suite, item=item, operator=operator, scale=scale or r.axiom.split(".")[0],
                   axiom=r.axiom, paper_ref=r.paper_ref, status=r.status, expected="pass", message=r.message,
                   reproduce=r.reproduce, counterexample=r.counterexample)


def report_run(report: Report) -> Run:
    """`report` as a run of one item in the suite "verify", every check expected to pass."""
    outcomes = [_outcome(r, VERIFY_SUITE, report.operator, report.operator, report.scale) for r in report.results]
    settings = {"seed": report.seed, **report.world}
    item = ItemRun(suite=VERIFY_SUITE, item=report.operator, source=report.operator, report=report,
                   outcomes=outcomes, settings=settings)
    return Run(suites=[SuiteRun(name=VERIFY_SUITE, path=None, items=[item])], elapsed_s=report.elapsed_s)


def _title(results: Sequence[Result]) -> str:
    """What a few loose results are: the weights observed in training (the guard's), or one check."""
    if results and all(observed_in_training(r.axiom) for r in results):
        return f"weights {TRAINING_LABEL}"
    return results[0].axiom if len(results) == 1 else f"{len(results)} results"


def _results(obj: Any) -> Sequence[Result] | None:
    """`obj`'s results when it is a `Result` or a tuple of them, else None."""
    if isinstance(obj, Result):
        return (obj,)
    if isinstance(obj, tuple) and all(isinstance(r, Result) for r in obj):
        return obj
    return None


def _refuse(obj: Any) -> TypeError:
    return TypeError(f"cannot display a {type(obj).__name__}: expected a Run, a Report, a Result or a tuple "
                     "of Results")


def html(obj: Any) -> str:
    """The HTML fragment a notebook shows for `obj` (scoped CSS, every user string escaped, nothing remote)."""
    prefix = f"ac{next(_fragments)}-"
    if isinstance(obj, Run):
        return overview_html(obj, prefix)
    if isinstance(obj, Report):
        return overview_html(report_run(obj), prefix)
    results = _results(obj)
    if results is None:
        raise _refuse(obj)
    return results_html([_outcome(r) for r in results], _title(results), of_results(results))


class _Drawn:
    """A rich renderable drawn by the terminal renderer at the width of the console that shows it."""

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __rich_console__(self, console: Any, options: Any) -> Iterator[Any]:
        from .text import renderables

        obj = self.obj
        if isinstance(obj, Run):
            yield from renderables(lambda r: r.run(obj), options.max_width)
        elif isinstance(obj, Report):
            yield from renderables(lambda r: r.report_results(obj), options.max_width)
        else:
            results = _results(obj) or ()
            yield from renderables(lambda r: r.results(_title(results), results), options.max_width)


def rich(obj: Any) -> Any:
    """The rich renderable a console shows for `obj`: the tables of `axiomcheck.output.text`."""
    if not isinstance(obj, (Run, Report)) and _results(obj) is None:
        raise _refuse(obj)
    return _Drawn(obj)
