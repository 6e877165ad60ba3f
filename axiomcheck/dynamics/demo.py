"""`run_demo`: the training-time checks end to end, written to `dynamics.json` and `dynamics.html`.

Stages: Appendix A; the digits world (teachers, operators, verify verdicts);
the full check suite on the realizable problem of the composed digits
operator; the real-data run (uniform vs adaptive vs safety-constrained
students); the negative controls; the report.
"""

from __future__ import annotations

import html
import json
import os
import time
from collections.abc import Callable
from typing import Any

from ..results import plain

__all__ = ["run_demo", "write_html"]

_STAGES = 35  # progress ticks: one per message the stages emit


class _Progress:
    """A rich progress bar on stderr (or nothing); `tick(msg)` advances it one step."""

    def __init__(self, enabled: bool, total: int):
        self.bar = None
        if enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.bar = Progress(TextColumn("[bold]dynamics[/]"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), TextColumn("{task.description}"),
                                console=Console(stderr=True), transient=False)
            self.task = self.bar.add_task("starting", total=total)

    def __enter__(self) -> _Progress:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=self.bar.tasks[0].total, description="done")
            self.bar.stop()

    def tick(self, msg: str) -> None:
        if self.bar is not None:
            self.bar.update(self.task, advance=1, description=msg)


def run_demo(out_dir: str = "reports", *, seed: int = 0, quick: bool = False, progress: bool = True) -> dict[str, Any]:
    """Run every training-time check and the real-data experiment; write `out_dir/dynamics.{json,html}`.

    Returns the summary (plain data, the content of `dynamics.json`): `passed`
    (every check of the realizable suite and of the real-data run that is
    expected to hold did, and every negative control failed), `wall_s`,
    `appendix_a`, `realizable`, `digits`, `controls`, `files`.
    `quick=True` shrinks every stage (for tests, ~20 s).
    """
    from ..extras import require_all

    # everything the demo needs, before minutes of work: training (optax), the digits, the figures
    require_all(("optax", "sklearn.datasets", "matplotlib"), extra="dynamics", purpose="the dynamics demo")
    from .checks import run_check_results
    from .controls import negative_controls
    from .digits import run_digits
    from .digits_data import DigitsConfig
    from .digits_world import build_world
    from .problem import realizable_problem
    from .stability import agreement_map
    from .toy import appendix_a, appendix_a_table

    t0 = time.perf_counter()
    os.makedirs(out_dir, exist_ok=True)
    stages: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        stages[name] = round(now - since, 2)
        return now

    with _Progress(progress, _STAGES) as bar:
        bar.tick("Appendix A")
        t = time.perf_counter()
        toy = appendix_a()
        t = lap("appendix_a", t)
        world = build_world(DigitsConfig(seed=seed, teacher_steps=150 if quick else 300), progress=bar.tick)
        t = lap("digits_world", t)
        op = world.operators["digits_adaptive"]
        prob = realizable_problem(op, seed=seed, n=192 if quick else 512, context_dim=2)
        suite = run_check_results(op, seed=seed, quick=quick, problem=prob,
                                  update_map=agreement_map(prob.teacher_probs, beta=0.5, tau=2.0),
                                  progress=lambda m: bar.tick(f"realizable: {m}"))
        t = lap("realizable_suite", t)
        digits = run_digits(seed, quick=quick, progress=bar.tick, world=world)
        t = lap("digits_run", t)
        controls = negative_controls("entropy_exp", seed=seed, quick=True, progress=bar.tick)
        t = lap("negative_controls", t)
        bar.tick("writing the report")
        suite_d = [r.to_dict() for r in suite]
        expected_fail = {"dynamics.safety_preservation"}  # Cor. VIII.7 is reported where it does not hold
        realizable_ok = all(r["status"] in ("pass", "skipped") or r["axiom"] in expected_fail for r in suite_d)
        digits_checks = [c for c in digits["checks"]]
        infeasible_ok = any(c["axiom"] == "dynamics.safety_constrained" and c["estimate"]
                            and c["estimate"].get("outcome") == "infeasible" for c in digits_checks)
        digits_ok = all(c["status"] in ("pass", "skipped") or c["axiom"] in expected_fail
                        or (c["estimate"] or {}).get("outcome") == "infeasible" for c in digits_checks)
        controls_ok = all(c["as_expected"] for c in controls)
        summary = {
            "title": "axiomcheck dynamics: training-time guarantees (paper §§VI–VIII)",
            "seed": seed, "quick": quick,
            "passed": bool(realizable_ok and digits_ok and controls_ok and infeasible_ok),
            "appendix_a": toy, "appendix_a_table": appendix_a_table(toy),
            "realizable": {"operator": op.name, "problem": prob.summary(), "results": suite_d},
            "digits": digits, "controls": controls, "stage_seconds": stages,
        }
        summary["wall_s"] = round(time.perf_counter() - t0, 2)
        json_path = os.path.join(out_dir, "dynamics.json")
        html_path = os.path.join(out_dir, "dynamics.html")
        summary["files"] = [json_path, html_path]
        data = plain(summary)
        write_html(data, html_path)
        data["stage_seconds"]["report"] = round(time.perf_counter() - t, 2)
        data["wall_s"] = round(time.perf_counter() - t0, 2)
        with open(json_path, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, allow_nan=False, ensure_ascii=False)
    return data


# ----------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.6em 0;font-size:.86em}th,td{border:1px solid #ddd;padding:3px 7px;vertical-align:top}
th{background:#f5f5f5;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{background:#e3f4e3}.fail{background:#fbe3e3}.error{background:#fbe9c9}.skipped{background:#eee}
.badge{font-weight:600;padding:1px 6px;border-radius:3px}
img{max-width:100%;border:1px solid #eee;margin:.5em 0}.msg{font-size:.82em;color:#444}
code{background:#f4f4f4;padding:0 3px}
"""


def _e(x: Any) -> str:
    return html.escape(str(x))


def _num(x: Any, digits: int = 3) -> str:
    if isinstance(x, bool) or x is None:
        return _e(x)
    if isinstance(x, (int, float)):
        return f"{x:.{digits}g}" if isinstance(x, float) else str(x)
    return _e(x)


def _results_table(results: list[dict[str, Any]]) -> str:
    rows = ["<table><tr><th>check</th><th>operator</th><th>paper</th><th>status</th><th>message</th></tr>"]
    for r in results:
        st = r["status"]
        who = (r.get("estimate") or {}).get("operator", "")
        rows.append(f"<tr class='{_e(st)}'><td><code>{_e(r['axiom'])}</code></td><td>{_e(who)}</td>"
                    f"<td>{_e(r['paper_ref'])}</td><td><span class='badge'>{_e(st)}</span></td>"
                    f"<td class='msg'>{_e(r['message'])}</td></tr>")
    rows.append("</table>")
    return "\n".join(rows)


def _table(rows: list[dict[str, Any]], cols: list[str], digits: int = 3) -> str:
    out = ["<table><tr>" + "".join(f"<th>{_e(c)}</th>" for c in cols) + "</tr>"]
    for r in rows:
        out.append("<tr>" + "".join(
            f"<td class='num'>{_num(r.get(c), digits)}</td>" if isinstance(r.get(c), (int, float)) and not
            isinstance(r.get(c), bool) else f"<td>{_e(r.get(c, ''))}</td>" for c in cols) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _img(b64: str | None, alt: str) -> str:
    return f"<img alt='{_e(alt)}' src='data:image/png;base64,{b64}'/>" if b64 else f"<p>({_e(alt)}: no figure)</p>"


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


def write_html(data: dict[str, Any], path: str) -> None:
    """A self-contained HTML page (figures embedded as base64 PNG) from the demo's summary."""
    from . import plots

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
            pert.append(("control: contrarian, w_min → 0", c["result"]["estimate"]))

    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{_e(data['title'])}</title>"
             f"<style>{_CSS}</style></head><body>",
             f"<h1>{_e(data['title'])}</h1>",
             f"<p>seed {data['seed']}, quick = {data['quick']}, wall time {data['wall_s']} s; overall: "
             f"<span class='badge {'pass' if data['passed'] else 'fail'}'>{'as expected' if data['passed'] else 'NOT as expected'}</span></p>",
             "<h2>Convergence curves</h2>", _figure(lambda: plots.convergence_figure(curves), "convergence"),
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
             "<h3>Safety–performance frontier</h3>", _figure(lambda: plots.pareto_figure(fronts, constrained), "pareto"),
             "<h3>Checks on real data</h3>", _results_table(d["checks"]),
             "<h3>Contraction of two weight-update maps (agreement feedback; the second trusts disagreement)</h3>",
             _results_table([dict(v, axiom=f"{v['axiom']} — {k}") for k, v in d["contraction"].items()]),
             f"<h2>All checks on the realizable problem of <code>{_e(data['realizable']['operator'])}</code></h2>",
             _results_table(real),
             "<h3>Perturbation robustness</h3>", _figure(lambda: plots.perturbation_figure(pert), "perturbation"),
             "<h2>Negative controls (a premise broken: the check must fail)</h2>",
             _table([{"control": c["name"], "premise broken": c["premise_broken"], "status": c["status"],
                      "as expected": c["as_expected"], "message": c["result"]["message"]} for c in data["controls"]],
                    ["control", "premise broken", "status", "as expected", "message"]),
             "<h2>Appendix A (2 teachers, 3 tokens), recomputed</h2>", _md_table(data["appendix_a_table"]),
             "<h2>Timings (s)</h2>", _table([data.get("stage_seconds", {})], list(data.get("stage_seconds", {}))),
             _table([{k: round(v, 2) for k, v in d["timings"].items()}], list(d["timings"])),
             "</body></html>"]
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(parts))


def _sweep_html(sw: dict[str, Any] | None) -> str:
    if not sw:
        return "<p>(seed sweep: not run in quick mode)</p>"
    from .digits import METRICS

    rows = [{"model": r["model"], **{m: f"{r[m]:.3f} ± {r[m + '_sd']:.3f}" for m in METRICS}} for r in sw["summary"]]
    diff = []
    for key, d in sw["paired_differences"].items():
        diff.append({"adaptive − uniform": key, **{m: f"{v['mean']:+.3f} ± {v['sd']:.3f} ({v['positive']}/{v['of']} > 0)"
                                                  for m, v in d.items()}})
    return (f"<h3>Over {len(sw['seeds'])} worlds (seeds {sw['seeds']}): mean ± sd; students at θ*</h3>"
            + _table(rows, ["model", *METRICS]) + _table(diff, ["adaptive − uniform", *METRICS]))


def _md_table(md: str) -> str:
    lines = [ln for ln in md.splitlines() if ln.strip() and not set(ln.replace("|", "").strip()) <= {"-"}]
    cells = [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in lines]
    head, body = cells[0], cells[1:]
    out = ["<table><tr>" + "".join(f"<th>{_e(c)}</th>" for c in head) + "</tr>"]
    out += ["<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in body]
    out.append("</table>")
    return "\n".join(out)


def _dump(data: dict[str, Any]) -> str:  # pragma: no cover - debugging helper
    return json.dumps(plain(data), indent=1, allow_nan=False)
