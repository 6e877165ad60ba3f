"""Fixed runs and reports without certificates, and how every writer renders them.

`tests/data/uncertified/` holds these renders as written before certified checks
existed; `tests/test_certified_output.py` compares the writers' output with them
byte for byte, so a run that does not ask for certificates writes exactly what it
wrote before.  `python tests/uncertified_runs.py` writes the files again (only
for an intended change of the output, said in the commit message).
"""

from __future__ import annotations

import io
import math
import re
from pathlib import Path

from axiomcheck.report.results import ItemRun, Outcome, Report, Result, Run, SuiteRun

GOLDEN = Path(__file__).resolve().parent / "data" / "uncertified"
HOSTILE = "<b>op</b>&\"'|`"


def _outcome(axiom: str, status: str, item: str, expected: str = "pass", **kw: object) -> Outcome:
    return Outcome(suite="s", item=item, operator=item, scale=axiom.split(".")[0], axiom=axiom, paper_ref="III.1",
                   status=status, expected=expected, message=kw.pop("message", "m"), **kw)  # type: ignore[arg-type]


def report() -> Report:
    """A context-scale report with a failure, an estimate of each kind and a skipped check."""
    results = (
        Result("context.normalization", "III.18", "fail", "Σ_k w_k must be 1, got 1.2",
               counterexample={"input": {"context": [[0.0, 1.0, math.nan]]}, "weights": [0.3, 0.3, 0.3, 0.3]},
               reproduce="axiomcheck verify x --axioms context.normalization", seed=0, samples=12),
        Result("context.boundedness", "III.20", "pass", "every weight in [0.05, 0.9]",
               estimate={"observed_min": [0.1, 0.2, 0.05, 0.3], "observed_max": [0.4, 0.5, 0.45, 0.35]},
               seed=0, samples=12),
        Result("context.continuity", "III.21", "pass", "L ≥ 0.63 measured",
               estimate={"metric": "‖Δcontext‖∞", "lipschitz_lower_bound": 0.63, "radii": [1.0, 0.5, 0.25],
                         "max_ratio_by_radius": [0.5, 0.6, 0.63]}, seed=0, samples=12),
        Result("context.safety_prioritization", "III.22", "skipped", "no safety ordering declared", seed=0),
    )
    return Report(operator=HOSTILE, scale="context", results=results, seed=0,
                  world={"teachers": 4, "vocab": 16, "context_dim": 3, "tasks": 3},
                  spec={"bounds": [0.05, 0.9], "lipschitz": None}, elapsed_s=0.25)


def run(rep: Report | None = None) -> Run:
    """A run of one suite: the report above (its failure unexpected) and an item that fails as expected."""
    rep = rep if rep is not None else report()
    outs = [_outcome(r.axiom, r.status, HOSTILE, message=r.message, reproduce=r.reproduce if r.status == "fail"
                     else None, counterexample=r.counterexample) for r in rep.results]
    expected = [_outcome("context.positivity", "fail", "b", expected="fail", reproduce="axiomcheck run s.toml")]
    items = [ItemRun("s", HOSTILE, "ops.py:x", rep, outs, {"seed": 0}),
             ItemRun("s", "b", "b", None, expected, {})]
    return Run(suites=[SuiteRun(name="s", path="suites/s.toml", items=items)], started=0.0, elapsed_s=1.5,
               run_id="0123456789abcdef")  # fixed: each file names its run


def renders(r: Run, rep: Report) -> dict[str, str]:
    """File name -> what each writer makes of `r` (and `print_report` and the notebook display of `rep`)."""
    from axiomcheck.output import display, files
    from axiomcheck.output.text import Renderer, print_report

    out = {"report.json": files.to_json(r), "junit.xml": files.to_junit(r), "summary.md": files.to_markdown(r),
           "report.html": _without_images(files.render(r, "html")), "report_of_one.json": rep.to_json() + "\n",
           "notebook_run.html": _numbered(display.html(r)), "notebook_report.html": _numbered(display.html(rep)),
           "notebook_result.html": _numbered(display.html(rep.results[0]))}
    for name, show in (("print_report.txt", lambda s: print_report(rep, s, fancy=False)),
                       ("verify.txt", lambda s: Renderer(s, fancy=False).report(r.items()[0])),
                       ("run.txt", lambda s: Renderer(s, fancy=False).run(r))):
        buf = io.StringIO()
        show(buf)
        out[name] = buf.getvalue()
    return out


def _numbered(fragment: str) -> str:
    """A notebook fragment with its anchors' prefix (numbered per fragment shown) written as one."""
    return re.sub(r"\bac\d+-", "acN-", fragment)


def _without_images(page: str) -> str:
    """The page with its embedded plots cut out (their bytes depend on the matplotlib version)."""
    return re.sub(r"<img [^>]*>", "<img>", page)


if __name__ == "__main__":
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for name, text in renders(run(), report()).items():
        (GOLDEN / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(list(GOLDEN.iterdir()))} files into {GOLDEN}")
