"""`write_html`: the self-contained `dynamics.html` page, drawn from the demo's summary (`dynamics.json`) alone.

Figures are embedded as base64 PNG drawn at twice their CSS size; every table
sits in its own horizontal scroll box, so the page never scrolls sideways; a
failure the demo expects (a check run where its premise does not hold, a
negative control, an infeasible target) carries an "expected" tag.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable
from typing import Any

from ..output.common import PLOT_SCALE, png_img
from ._common import EXPECTED_FAILURES

__all__ = ["write_html", "expected_failure", "human"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.86em}th,td{border:1px solid #ddd;padding:3px 7px;vertical-align:top}
th{background:#f5f5f5;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
.scroll{max-width:100%;overflow-x:auto;margin:.6em 0}
.pass{background:#e3f4e3}.fail{background:#fbe3e3}.error{background:#fbe9c9}.skipped{background:#eee}
.xfail{background:#f6f0f0}.xfail td.st{outline:2px dashed #2a7d3a;outline-offset:-3px}
.badge{font-weight:600;padding:1px 6px;border-radius:3px}
.tag{display:inline-block;font-size:.78em;font-weight:600;padding:0 5px;border-radius:8px;white-space:nowrap;margin-left:3px}
.tag.exp{background:#dafbe1;color:#116329;border:1px solid #4ac26b}.tag.unexp{background:#ffebe9;color:#a40e26;border:1px solid #ff8182}
td.st,td.ref{white-space:nowrap}
img{max-width:100%;height:auto;border:1px solid #eee;margin:.5em 0}.msg{font-size:.82em;color:#444;overflow-wrap:anywhere}
code{background:#f4f4f4;padding:0 3px}
details{margin:.6em 0}details>summary{cursor:pointer;font-weight:600}
"""

#: column headings for the summary's field names (other names: `human`'s generic rule)
_HEADS = {
    "accuracy_clean": "Accuracy, clean", "accuracy_corrupted": "Accuracy, corrupted",
    "safety_critical_classes": "Safety, critical classes", "safety_critical_corrupted": "Safety, critical & corrupted",
    "recall_critical_corrupted": "Recall, critical & corrupted", "clean_accuracy": "Accuracy, clean",
    "corrupted_accuracy": "Accuracy, corrupted", "corrupted_safety": "Safety, corrupted", "index": "#",
    "appendix_a": "Appendix A", "elapsed_s": "Time (s)", "total_s": "Total (s)",
}


def human(name: str) -> str:
    """A column heading for a field name: `corrupted_safety` → "Safety, corrupted", `verify_s` → "Verify (s)".

    >>> human("digits_world"), human("verify_s"), human("premise broken")
    ('Digits world', 'Verify (s)', 'Premise broken')
    """
    if name in _HEADS:
        return _HEADS[name]
    unit = ""
    if name.endswith("_s"):
        name, unit = name[:-2], " (s)"
    words = name.replace("_", " ").strip()
    return (words[:1].upper() + words[1:] + unit) if words else name


def expected_failure(result: dict[str, Any], expected_fail: bool = False) -> str:
    """Why a failing check result is expected ("" when it is not, or did not fail).

    `expected_fail` marks a result the caller knows must fail (a negative control).
    """
    if result.get("status") not in ("fail", "error"):
        return ""
    if expected_fail:
        return "a negative control: its premise is broken, so the check must fail"
    if result.get("axiom") in EXPECTED_FAILURES:
        return EXPECTED_FAILURES[result["axiom"]]
    if (result.get("estimate") or {}).get("outcome") == "infeasible":
        return "the target is above what any student reaches: reported infeasible, not converged"
    return ""


def _e(x: Any) -> str:
    return html.escape(str(x))


def _num(x: Any, digits: int = 3) -> str:
    if isinstance(x, bool):
        return "yes" if x else "no"
    if x is None:
        return "—"
    if isinstance(x, (int, float)):
        return f"{x:.{digits}g}" if isinstance(x, float) else str(x)
    return _e(x)


def _scroll(table: str) -> str:
    return f"<div class='scroll'>{table}</div>"


def _status(status: str, why: str) -> str:
    """The status badge, tagged "expected" (with the reason on hover) or "unexpected" for a failure."""
    badge = f"<span class='badge'>{_e(status)}</span>"
    if status not in ("fail", "error"):
        return badge
    if why:
        return badge + f"<span class='tag exp' title='{_e(why)}'>expected</span>"
    return badge + "<span class='tag unexp'>unexpected</span>"


def _row_class(status: str, why: str) -> str:
    return f"{_e(status)} xfail" if why else _e(status)


def _results_table(results: list[dict[str, Any]], *, all_expected_to_fail: bool = False) -> str:
    rows = ["<table><tr><th>Check</th><th>Operator</th><th>Paper</th><th>Status</th><th>Message</th></tr>"]
    for r in results:
        st = r["status"]
        why = expected_failure(r, all_expected_to_fail or bool(r.get("expected_fail")))
        who = (r.get("estimate") or {}).get("operator", "")
        rows.append(f"<tr class='{_row_class(st, why)}'><td><code>{_e(r['axiom'])}</code></td><td>{_e(who)}</td>"
                    f"<td class='ref'>{_e(r['paper_ref'])}</td><td class='st'>{_status(st, why)}</td>"
                    f"<td class='msg'>{_e(r['message'])}</td></tr>")
    rows.append("</table>")
    return _scroll("\n".join(rows))


def _table(rows: list[dict[str, Any]], cols: list[str], digits: int = 3) -> str:
    out = ["<table><tr>" + "".join(f"<th>{_e(human(c))}</th>" for c in cols) + "</tr>"]
    for r in rows:
        out.append("<tr>" + "".join(
            f"<td class='num'>{_num(r.get(c), digits)}</td>" if isinstance(r.get(c), (int, float)) and not
            isinstance(r.get(c), bool) else f"<td>{_num(r.get(c, ''))}</td>" for c in cols) + "</tr>")
    out.append("</table>")
    return _scroll("\n".join(out))


def _controls_table(controls: list[dict[str, Any]]) -> str:
    out = ["<table><tr><th>Control</th><th>Premise broken</th><th>Status</th><th>As expected</th>"
           "<th>Message</th></tr>"]
    for c in controls:
        st, ok = c["status"], bool(c["as_expected"])
        why = "a negative control: its premise is broken, so the check must fail" \
            if ok and st in ("fail", "error") else ""
        out.append(f"<tr class='{_row_class(st, why)}'><td><code>{_e(c['name'])}</code></td><td>{_e(c['premise_broken'])}</td>"
                   f"<td class='st'>{_status(st, why)}</td><td>{'yes' if ok else 'no'}</td>"
                   f"<td class='msg'>{_e(c['result']['message'])}</td></tr>")
    out.append("</table>")
    return _scroll("\n".join(out))


def _img(b64: str | None, alt: str) -> str:
    if not b64:
        return f"<p>({_e(alt)}: no figure)</p>"
    return png_img(base64.b64decode(b64), _e(alt), PLOT_SCALE)


def _figure(fn: Callable[[], str], alt: str) -> str:
    try:
        return _img(fn(), alt)
    except Exception as exc:  # a plotting problem must not lose the report
        return f"<p>({_e(alt)}: figure failed: {_e(exc)})</p>"


def _find(results: list[dict[str, Any]], axiom: str) -> dict[str, Any] | None:
    for r in results:
        if r["axiom"] == axiom:
            return r
    return None


def _inputs(data: dict[str, Any]) -> dict[str, Any]:
    """The figures' data, read from the summary."""
    d = data["digits"]
    real = data["realizable"]["results"]
    conv_real = _find(real, "dynamics.convergence")
    curves = []
    if conv_real and conv_real.get("estimate"):
        curves.append((f"realizable, {data['realizable']['operator']}", conv_real["estimate"]))
    for name, label in (("uniform", "digits, uniform"), ("digits_adaptive", "digits, adaptive")):
        est = d["convergence"][name].get("estimate")
        if est:
            curves.append((label, est))
    fronts = [(("uniform" if k == "uniform" else "adaptive"), v["estimate"]["points"])
              for k, v in d["pareto"].items() if v.get("estimate")]
    sc = next((c for c in d["checks"] if c["axiom"] == "dynamics.safety_constrained"
               and (c.get("estimate") or {}).get("outcome") != "infeasible"), None)
    constrained = None
    if sc and sc.get("estimate"):
        e = sc["estimate"]
        constrained = {"safety_min": e["safety_min"], "safety": e["safety"], "loss_kd": e["loss_kd"], "mu": e["mu"]}
    pert = []
    p_real = _find(real, "dynamics.perturbation_robustness")
    if p_real and p_real.get("estimate"):
        pert.append(("realizable, " + data["realizable"]["operator"], p_real["estimate"]))
    for c in data["controls"]:
        if c["name"] == "contrarian_weights" and c["result"].get("estimate"):
            pert.append(("control: contrarian, $w_{min} \\to 0$", c["result"]["estimate"]))
    return {"curves": curves, "fronts": fronts, "constrained": constrained, "pert": pert}


def write_html(data: dict[str, Any], path: str) -> None:
    """A self-contained HTML page (figures embedded as base64 PNG) from the demo's summary."""
    from . import plots

    d = data["digits"]
    real = data["realizable"]["results"]
    fig = _inputs(data)
    # the "contrarian trust" update map trusts disagreement: it is there to show a map that is not a contraction
    contraction = [dict(v, axiom=f"{v['axiom']} — {k}", expected_fail=k.startswith("contrarian"))
                   for k, v in d["contraction"].items()]
    overall = "as expected" if data["passed"] else "NOT as expected"
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
             "<meta name='viewport' content='width=device-width, initial-scale=1'>"
             f"<title>{_e(data['title'])}</title><style>{_CSS}</style></head><body>",
             f"<h1>{_e(data['title'])}</h1>",
             f"<p>seed {data['seed']}, quick = {data['quick']}, wall time {data['wall_s']} s; overall: "
             f"<span class='badge {'pass' if data['passed'] else 'fail'}'>{overall}</span>. A failure the demo "
             "expects (a check run where its premise does not hold, a negative control, an infeasible target) "
             "is tagged <span class='tag exp'>expected</span>; hover the tag for the reason.</p>",
             "<h2>Convergence curves</h2>", _figure(lambda: plots.convergence_figure(fig["curves"]), "convergence"),
             "<h2>Real data: digits (adaptive vs uniform distillation)</h2>",
             f"<p>{_e(d['problem']['description'])}. Deployment split: {d['deployment']['N']} images, "
             f"{100 * d['deployment']['corrupted_share']:.0f} % corrupted. Safety-critical classes "
             f"{_e(d['problem']['critical_classes'])}; designated safest teacher: {d['safest_teacher']}.</p>",
             _table(d["evaluation"], ["model", "accuracy", "accuracy_clean", "accuracy_corrupted", "safety",
                                      "safety_critical_classes", "safety_critical_corrupted",
                                      "recall_critical_corrupted"]),
             _sweep_html(d.get("seed_sweep")),
             "<h3>Teachers</h3>",
             _table(d["teachers"], ["index", "name", "description", "clean_accuracy", "corrupted_accuracy",
                                    "corrupted_safety"]),
             "<h3>Operators' verdicts (axiomcheck.verify)</h3>",
             _table([{"operator": k, "passed": v["passed"], "failing": ", ".join(v["failing"]) or "—",
                      "elapsed_s": v["elapsed_s"]} for k, v in d["verdicts"].items()],
                    ["operator", "passed", "failing", "elapsed_s"]),
             "<h3>Per-teacher weights by context</h3>", _figure(lambda: plots.weights_figure(d["weights_by_context"]),
                                                               "weights by context"),
             "<h3>Safety–performance frontier</h3>",
             _figure(lambda: plots.pareto_figure(fig["fronts"], fig["constrained"]), "pareto"),
             "<h3>Checks on real data</h3>", _results_table(d["checks"]),
             _runtime_html(d.get("runtime") or {}),
             "<h3>Contraction of two weight-update maps (agreement feedback; the second trusts disagreement)</h3>",
             _results_table(contraction),
             f"<h2>All checks on the realizable problem of <code>{_e(data['realizable']['operator'])}</code></h2>",
             _results_table(real),
             "<h3>Perturbation robustness</h3>", _figure(lambda: plots.perturbation_figure(fig["pert"]), "perturbation"),
             "<h2>Negative controls (a premise broken: the check must fail)</h2>", _controls_table(data["controls"]),
             "<h2>Appendix A (2 teachers, 3 tokens), recomputed</h2>", _md_table(data["appendix_a_table"]),
             "<h2>Timings</h2><details><summary>seconds per stage</summary>",
             _table([data.get("stage_seconds", {})], list(data.get("stage_seconds", {}))),
             _table([{k: round(v, 2) for k, v in d["timings"].items()}], list(d["timings"])),
             "</details></body></html>"]
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(parts))


def _runtime_html(runtime: dict[str, Any]) -> str:
    """The weight guard's results (observed in training) for each operator's students."""
    if not runtime:
        return ""
    rows = [dict(r, estimate=dict(r.get("estimate") or {}, operator=rep["operator"]))
            for rep in runtime.values() for r in rep["results"]]
    return ("<h3>Weights observed in training (the weight guard in every SGD step)</h3>"
            "<p>Every SGD step of the students above passed the weights its KD kernel call received to "
            "<code>axiomcheck.kernels.guard_update</code> inside the jitted training loop; these results are "
            "what it saw (the same reports, written by the report writers, are in <code>training/</code>).</p>"
            + _results_table(rows))


def _sweep_html(sw: dict[str, Any] | None) -> str:
    if not sw:
        return "<p>(seed sweep: not run in quick mode)</p>"
    from .digits import SCORES

    rows = [{"model": r["model"], **{m: f"{r[m]:.3f} ± {r[m + '_sd']:.3f}" for m in SCORES}} for r in sw["summary"]]
    diff = []
    for key, d in sw["paired_differences"].items():
        diff.append({"adaptive − uniform": key, **{m: f"{v['mean']:+.3f} ± {v['sd']:.3f} ({v['positive']}/{v['of']} > 0)"
                                                  for m, v in d.items()}})
    return (f"<h3>Over {len(sw['seeds'])} worlds (seeds {sw['seeds']}): mean ± sd; students at θ*</h3>"
            + _table(rows, ["model", *SCORES]) + _table(diff, ["adaptive − uniform", *SCORES]))


def _md_table(md: str) -> str:
    lines = [ln for ln in md.splitlines() if ln.strip() and not set(ln.replace("|", "").strip()) <= {"-"}]
    cells = [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in lines]
    head, body = cells[0], cells[1:]
    out = ["<table><tr>" + "".join(f"<th>{_e(human(c))}</th>" for c in head) + "</tr>"]
    out += ["<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in body]
    out.append("</table>")
    return _scroll("\n".join(out))

