"""Text for people: rich tables and a progress bar on a terminal, plain text elsewhere.

`Renderer(stream, color=...)` decides once, with `wants_fancy`: *fancy* (rich
tables and colour, and a progress bar on a terminal) or plain text with no
control codes — what a CI log or a pipe wants.  The decision, first rule that
applies: `--color always|never`; `NO_COLOR` set (plain); `FORCE_COLOR` set
(fancy, even into a pipe); `TERM=dumb` (plain); the stream is a terminal.  Control
characters in user text (an operator's message) are spelled out, never sent
to the terminal.  Nothing else in axiomcheck prints.

>>> import io
>>> r = Renderer(io.StringIO())
>>> r.fancy
False
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any

from ..report.results import ItemRun, Outcome, Run
from .certified import assumption_lines, cell, certificate_rows, certificates, result_of
from .common import TRAINING_LABEL, observed_in_training, visible
from .failures import FailureLines

if TYPE_CHECKING:
    from ..suites.model import Suite, SuiteItem

#: The colour of each status and verdict, in every table and line of the terminal output.
STATUS_STYLE = {"pass": "green", "fail": "red", "error": "yellow", "skipped": "dim",
          "ok": "green", "unexpected": "bold red", "known": "yellow"}


def wants_fancy(stream: IO[str], color: str | None = "auto") -> bool:
    """Whether output to `stream` gets colour (and rich tables): the one place this is decided.

    `color` is the `--color` flag: "always" or "never" settle it.  Under "auto"
    (or None): `NO_COLOR` set and non-empty -> no; `FORCE_COLOR` set, non-empty
    and not "0" -> yes; `TERM=dumb` -> no; else whether `stream` is a terminal.
    """
    if color == "always":
        return True
    if color == "never":
        return False
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR", "") not in ("", "0"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    return _isatty(stream)


def _isatty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def plain_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(str(c))) for w, c in zip(widths, row, strict=False)]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=False)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=False)).rstrip() for row in rows]
    return "\n".join(lines)



def progress_bar(console: Any) -> Any:
    """The one progress bar of the terminal output: description, bar, n of m, time; gone when done."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True)

class Renderer(FailureLines):
    """Writes human-readable output to one stream (stdout, or stderr when stdout carries data)."""

    def __init__(self, stream: IO[str] | None = None, *, fancy: bool | None = None, quiet: bool = False,
                 color: str | None = "auto"):
        self.stream = stream if stream is not None else sys.stdout
        self.fancy = wants_fancy(self.stream, color) if fancy is None else fancy
        self.quiet = quiet
        self._console: Any = None
        self.sink: list[Any] | None = None  # when set, rich output is collected here instead of printed

    @property
    def console(self) -> Any:
        if self._console is None:
            from rich.console import Console

            # no_color=False: the decision is wants_fancy's (rich would read NO_COLOR again)
            self._console = Console(file=self.stream, force_terminal=True, no_color=False, highlight=False,
                                    soft_wrap=False)
        return self._console

    # -------------------------------------------------------------- primitives

    def _show(self, renderable: Any, soft_wrap: bool = False) -> None:
        """Print a rich renderable, or keep it in `sink` (for `renderables`: there the console that shows it
        wraps long lines, since it would crop what goes past its width)."""
        if self.sink is not None:
            self.sink.append(renderable)
        else:
            self.console.print(renderable, soft_wrap=soft_wrap)

    def line(self, text: str = "", style: str | None = None) -> None:
        text = visible(text)
        if self.fancy:
            from rich.text import Text

            # soft wrap: a long reproduction command stays one line when copied from the terminal
            self._show(Text(text, style=style or ""), soft_wrap=True)
        else:
            self.stream.write(text + "\n")
            self.stream.flush()

    def status_line(self, status: str, text: str) -> None:
        """A line in the colour of a check status (pass, fail, error, skipped)."""
        self.line(text, STATUS_STYLE.get(status))

    @property
    def narrow(self) -> bool:
        """Rich output under 100 columns: the tables take a compact layout."""
        return self.fancy and self.console.width < 100

    def table(self, title: str | None, headers: Sequence[str], rows: Sequence[Sequence[str]],
              styles: Sequence[str | None] | None = None, *, wrap: Sequence[int] = (-1,),
              caption: str | None = None) -> None:
        """A table; only the columns `wrap` (indices, default the last) wrap, the others (ids) stay whole."""
        title = visible(title) if title else title
        rows = [[visible(c, newlines=False) for c in row] for row in rows]
        if self.fancy:
            from rich import box
            from rich.table import Table
            from rich.text import Text

            # under 100 columns: no vertical rules and less padding, so ids and counts keep their room
            narrow = self.narrow
            # every string goes in as Text, never as rich markup: "[/x]" in a message neither styles nor raises
            t = Table(title=Text(title, style="table.title") if title else None, title_justify="left", show_lines=False, header_style="bold",
                      caption=caption, caption_justify="left",
                      box=box.SIMPLE_HEAD if narrow else box.HEAVY_HEAD, show_edge=not narrow,
                      collapse_padding=narrow)
            wrapping = {n % len(headers) for n in wrap}
            for n, h in enumerate(headers):  # an id never breaks mid-word; messages fold
                if n in wrapping:
                    t.add_column(h, overflow="fold", min_width=16 if n == len(headers) - 1 else None)
                else:
                    t.add_column(h, no_wrap=True)
            for n, row in enumerate(rows):
                t.add_row(*[Text(str(c)) for c in row], style=(styles[n] if styles else None))
            self._show(t)
        else:
            if title:
                self.stream.write(title + "\n")
            self.stream.write(plain_table(headers, rows) + "\n\n")
            self.stream.flush()

    # -------------------------------------------------------------- runs

    def results(self, head: str, results: Sequence[Any]) -> None:
        """`Result`s not judged against an expectation (a `Report`'s, the guard's): a table under
        "HEAD: passed" or "HEAD: FAILED: <ids>", then how to reproduce each that failed."""
        failing = [res.axiom for res in results if not res.ok]
        verdict = "FAILED: " + ", ".join(failing) if failing else "passed"
        certs = any(getattr(res, "certificate", None) is not None for res in results)  # a certified column
        rows = [[res.axiom, res.paper_ref, res.status, *([cell(res.certificate, res)] if certs else []),
                 _labelled(res.axiom, res.message)] for res in results]
        styles = [None if res.status == "pass" else STATUS_STYLE[res.status] for res in results]
        self.table(f"{head}: {verdict}", ["check", "paper", "status", *(["certified"] if certs else []), "message"],
                   rows, styles, wrap=(-2, -1) if certs else (-1,))
        for res in results:
            self.result_footer(res)

    def report_results(self, report: Any) -> None:
        """A `Report` as `print_report` shows it: its results' table, then its paper link when certified."""
        self.results(f"{report.operator} ({report.scale} scale, seed {report.seed})", report.results)
        self.assumptions(report.assumptions)

    def outcome_details(self, o: Outcome, *, show_suite: bool = True, same: Sequence[Outcome] = ()) -> None:
        """One verdict: message, counterexample, the checks `same` that repeat its error, reproduce line."""
        head = f"{o.suite} · {o.item} · {o.axiom}" if show_suite else f"{o.item} · {o.axiom}"
        if o.verdict == "unexpected":
            tag = o.status.upper() if o.expected == "pass" else "UNEXPECTED"
        else:
            tag = {"known": "KNOWN", "ok": "ok"}[o.verdict]
        where = f", {TRAINING_LABEL}" if observed_in_training(o.axiom) else ""
        self.line(f"{tag}  {head} (paper {o.paper_ref}{where}): expected {o.expected}, got {o.status}",
                  STATUS_STYLE[o.verdict])
        self.line(f"    {o.message}")
        self.outcome_footer(o, same)
        if o.reproduce:
            self.line(f"    reproduce: {o.reproduce}", "cyan")

    def report(self, item: ItemRun) -> None:
        """One operator, one row per check (what `axiomcheck verify` shows)."""
        rep = item.report
        title = f"{item.item}" + (f" ({rep.scale} scale, seed {rep.seed}, {rep.elapsed_s:.2f} s)" if rep else "")
        rows, styles = [], []
        certs = certificates(item)
        for o in item.outcomes:
            cert = [cell(certs.get(o.axiom), result_of(item, o.axiom))] if certs else []
            rows.append([o.axiom, o.paper_ref, o.status, *cert, _labelled(o.axiom, o.message)])
            styles.append(STATUS_STYLE[o.status] if o.verdict == "unexpected" or o.status != "pass" else None)
        self.table(title, ["check", "paper", "status", *(["certified"] if certs else []), "message"], rows, styles,
                   wrap=(-2, -1) if certs else (-1,))
        self.details([o for o in item.outcomes if o.verdict != "ok"], show_suite=False)
        if rep is not None:
            self.assumptions(rep.assumptions)

    def assumptions(self, summary: dict[str, Any], head: str = "paper assumptions") -> None:
        """The paper link of a certified report (nothing for a report without certificates)."""
        lines = assumption_lines(summary)
        if lines:
            self.line(f"{head}, certified:")
            for text in lines:
                self.line(f"    {text}")

    def certified(self, run: Run) -> None:
        """The certificates of a run of suites: one table per suite, then each operator's paper link."""
        for s in run.suites:
            if rows := [list(row) for row in certificate_rows(s.items)]:
                self.table(f"certified checks, suite {s.name}", ["operator", "check", "sampled", "certified"], rows)
        for i in run.items():
            self.assumptions(i.report.assumptions if i.report else {}, f"{i.suite} · {i.item}: paper assumptions")

    def run(self, run: Run, *, verbose: bool = False, baseline_written: str | None = None) -> None:
        """The per-suite summary tables, then the details of every unexpected verdict."""
        for s in run.suites:
            rows, styles = [], []
            for i in s.items:
                st = [o.status for o in i.outcomes]
                v = i.verdict
                exp = sum(1 for o in i.outcomes if o.matched and o.expected != "pass")
                scale = i.report.scale if i.report else (i.outcomes[0].scale if i.outcomes else "")
                label = {"ok": "ok", "known": "known (baseline)", "unexpected": "UNEXPECTED"}[v]
                if exp:
                    label += f", {exp} fail{'s' if exp > 1 else ''} as expected"
                if i.outcomes and all(observed_in_training(o.axiom) for o in i.outcomes):
                    label += f", {TRAINING_LABEL}"
                counts = [str(st.count(k)) for k in ("pass", "fail", "error", "skipped")]
                # under 100 columns the four counts share one column, so ids and verdicts keep their room
                rows.append([i.item, scale, *(["/".join(counts)] if self.narrow else counts), label])
                styles.append(STATUS_STYLE[v] if v != "ok" else None)
            title = f"suite {s.name}" + (f" ({s.path})" if s.path else "")
            if self.narrow:
                self.table(title, ["operator", "scale", "p/f/e/s", "verdict"], rows, styles,
                           caption="p/f/e/s: checks that passed / failed / errored / were skipped")
            else:
                self.table(title, ["operator", "scale", "pass", "fail", "error", "skip", "verdict"], rows, styles)
        self.certified(run)
        for i in run.items():
            if i.error:
                self.line(f"INTERNAL ERROR  {i.suite} · {i.item}: {i.error}", "bold red")
        self.details([o for o in run.outcomes() if o.verdict != "ok" or (verbose and o.expected != "pass")])
        for e in run.stale:
            self.line(f"STALE  baseline entry {e.get('operator')} · {e.get('axiom')} passes now; remove it from "
                      f"{run.baseline}", "yellow")
        self.summary(run, baseline_written=baseline_written)

    def summary(self, run: Run, *, baseline_written: str | None = None) -> None:
        """The one-line summary; with `baseline_written` (a --write-baseline run) the violations are recorded."""
        c = run.counts()
        head = "passed" if run.ok else "FAILED"
        recorded = baseline_written is not None and c["unexpected"] > 0 and not c["internal_errors"]
        if recorded:
            head = (f"recorded {_n(c['unexpected'] + c['known'], 'unexpected verdict')} into the baseline "
                    f"{baseline_written} "
                    f"(they will not fail a run with --baseline {baseline_written})")
        parts = [_n(c["operators"], "operator"), _n(c["checks"], "check"), f"{c['ok']} as expected"]
        if c["expected_fail"]:
            parts.append(f"({c['expected_fail']} of them expected failures)")
        if c["unexpected"]:
            parts.append(f"{c['unexpected']} unexpected")
        if c["known"]:
            parts.append(f"{c['known']} known (baseline)")
        if c["stale"]:
            parts.append(f"{c['stale']} stale baseline entries")
        if c["internal_errors"]:
            parts.append(f"{c['internal_errors']} internal errors")
        self.line(f"axiomcheck: {head}: " + ", ".join(parts) + f" in {run.elapsed_s:.1f} s",
                  "bold green" if run.ok else ("bold yellow" if recorded else "bold red"))

    # -------------------------------------------------------------- progress

    @contextlib.contextmanager
    def progress(self, suites: Sequence[Suite]) -> Iterator[Any]:
        """A hook for `suites.run(on_event=...)`: a rich bar when fancy, one line per item otherwise."""
        total = sum(len(s.items) for s in suites)
        if self.quiet:
            yield None
            return
        if not (self.fancy and _isatty(self.stream)):  # a bar only on a terminal (FORCE_COLOR in a log: lines)
            count = {"n": 0}

            def plain_hook(event: str, suite: Suite, item: SuiteItem, ir: ItemRun | None) -> None:
                if event != "done" or ir is None:
                    return
                count["n"] += 1
                v = "ERROR" if ir.error else {"unexpected": "UNEXPECTED", "known": "known", "ok": "ok"}[ir.verdict]
                secs = f" ({ir.report.elapsed_s:.1f} s)" if ir.report else ""
                self.stream.write(visible(f"[{count['n']}/{total}] {suite.name} · {item.id}: {v}{secs}") + "\n")
                self.stream.flush()

            yield plain_hook
            return
        bar = progress_bar(self.console)
        task = bar.add_task("verifying", total=total)

        def fancy_hook(event: str, suite: Suite, item: SuiteItem, ir: ItemRun | None) -> None:
            if event == "start":
                bar.update(task, description=visible(f"{suite.name} · {item.id}", newlines=False))
            else:
                bar.advance(task)

        with bar:
            yield fancy_hook

    # -------------------------------------------------------------- list / explain

    def operators(self, ops: Sequence[Any]) -> None:
        rows = []
        for op in ops:
            spec = []
            if op.bounds:
                spec.append(f"bounds [{op.bounds[0]:.4g}, {op.bounds[1]:.4g}]")
            if op.lipschitz is not None:
                spec.append(f"L = {op.lipschitz:.4g}")
            if op.safety is not None:
                spec.append("safety")
            if op.importance is not None:
                spec.append("importance")
            doc = (op.description or "").strip().splitlines()
            rows.append([op.name, op.scale, ", ".join(spec), _short(doc[0] if doc else "", 70)])
        self.table("registered operators", ["name", "scale", "declared", "description"], rows, wrap=(2, 3))

    def axioms(self, axioms: Sequence[Any]) -> None:
        rows = [[a.id, a.paper_ref, a.kind, _short(a.statement, 70)] for a in axioms]
        self.table("checks", ["id", "paper", "kind", "requires"], rows)


def _labelled(axiom: str, message: str) -> str:
    """A result's message, prefixed with where it was observed when the weight guard saw it in training."""
    return f"[{TRAINING_LABEL}] {message}" if observed_in_training(axiom) else message


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _short(text: str, n: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def print_report(report: Any, stream: IO[str] | None = None, *, fancy: bool | None = None) -> None:
    """Show a `Report` from `verify()` as a table (rich on a terminal, plain text elsewhere).

    The renderer behind `axiomcheck.print_report` (its parameters are described there).

    >>> from axiomcheck.report.results import Report, Result
    >>> rep = Report("op", "token", (Result("token.positivity", "III.2", "pass", "holds"),))
    >>> print_report(rep, fancy=False)  # doctest: +NORMALIZE_WHITESPACE
    op (token scale, seed 0): passed
    check             paper  status  message
    ----------------  -----  ------  -------
    token.positivity  III.2  pass    holds
    <BLANKLINE>
    """
    Renderer(stream, fancy=fancy).report_results(report)


def renderables(draw: Callable[[Renderer], None], width: int) -> list[Any]:
    """The rich renderables `draw(renderer)` would print on a console `width` columns wide (the tables
    take their compact layout under 100), collected instead of printed: what `__rich__` shows."""
    from rich.console import Console

    r = Renderer(io.StringIO(), fancy=True)
    r._console = Console(file=r.stream, width=width, force_terminal=True, no_color=False, highlight=False,
                         soft_wrap=False)
    r.sink = []
    draw(r)
    return r.sink
