"""Figures of the dynamics demo, as base64 PNG strings (matplotlib, Agg; imported only when drawing).

Each function takes plain data from the results (`estimate` dicts and the
digits summary) so figures can be redrawn from `dynamics.json` alone.  A
figure is drawn at `DPI` = PLOT_SCALE × 100 image pixels per inch and shown
at 100 CSS px per inch (sharp on HiDPI screens); legends sit outside the axes,
clear of the data, and the saved area is trimmed to what is drawn.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

from ..output.common import PLOT_SCALE

__all__ = ["convergence_figure", "pareto_figure", "weights_figure", "perturbation_figure", "to_base64", "DPI"]

#: image pixels per inch of a saved figure (the page shows it at 100 CSS px per inch)
DPI = 100 * PLOT_SCALE

_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def _plt():
    from ..calling.extras import require

    matplotlib = require("matplotlib", extra="plots", purpose="the figures")
    matplotlib.use("Agg", force=True)
    return require("matplotlib.pyplot", extra="plots", purpose="the figures")


def to_base64(fig: Any) -> str:
    """PNG bytes of a figure, base64-encoded (the figure is closed)."""
    plt = _plt()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", pad_inches=0.08)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _legend_right(ax: Any, **kw: Any) -> None:
    """The legend to the right of the axes, where it cannot cover a curve."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=8, **kw)


def _coloured(series: Sequence[tuple[str, Any]]) -> Any:
    """(colour, label, data) for each (label, data), in the palette's order."""
    return ((_COLORS[i % len(_COLORS)], label, data) for i, (label, data) in enumerate(series))


def _finish(fig: Any, ax: Any, xlabel: str, ylabel: str, title: str, grid: str = "both") -> str:
    """Labels, title, grid and the legend on the right; the figure as base64 PNG."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which=grid, alpha=0.25)
    _legend_right(ax)
    return to_base64(fig)


def convergence_figure(curves: Sequence[tuple[str, dict[str, Any]]]) -> str:
    """Log-log E[L_t] − L* against t for each (label, convergence estimate), with the fitted line and its slope."""
    import numpy as np

    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for c, label, est in _coloured(curves):
        t = np.asarray(est["t"], dtype=float)
        g = np.asarray(est["gap_mean"], dtype=float)
        ok = g > 0
        ax.loglog(t[ok], g[ok], "-", color=c, lw=1.6, label=f"{label}: slope {est['slope']:.2f}")
        lo = np.asarray(est.get("gap_min", g), dtype=float)
        hi = np.asarray(est.get("gap_max", g), dtype=float)
        band = (lo > 0) & ok
        ax.fill_between(t[band], lo[band], hi[band], color=c, alpha=0.12, lw=0)
        a, b = est["fit_window"]
        tt = np.geomspace(a, b, 20)
        ax.loglog(tt, np.exp(est["intercept"]) * tt ** est["slope"], "--", color=c, lw=1.0)
    t_ref = np.geomspace(max(1.0, curves[0][1]["fit_window"][0]), curves[0][1]["fit_window"][1], 10) if curves else []
    if len(t_ref):
        g0 = curves[0][1]["gap_mean"][-1] * curves[0][1]["t"][-1]
        ax.loglog(t_ref, g0 / t_ref, ":", color="grey", lw=1.0, label="reference C/t")
    return _finish(fig, ax, "SGD step $t$", "$E[L_t] - L^*$  (mean over seeds; band: min–max)",
                   "Convergence (Thm VI.2): $\\eta_t = \\eta_0/(1+t)$")


def pareto_figure(fronts: Sequence[tuple[str, list[dict[str, float]]]],
                  constrained: dict[str, Any] | None = None) -> str:
    """(Safety_D, L_KD) of the Lagrangian minimizers over μ for each operator, plus the constrained solution."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for c, label, pts in _coloured(fronts):
        xs = [p["safety"] for p in pts]
        ys = [p["loss_kd"] for p in pts]
        ax.plot(xs, ys, "o-", color=c, lw=1.4, ms=4, label=label)
        for n, p in enumerate(pts):  # labels alternate below and above their point, so neighbours do not collide
            ax.annotate(f"μ={p['mu']:g}", (p["safety"], p["loss_kd"]), fontsize=6, color=c,
                        xytext=(3, -9 if n % 2 == 0 else 4), textcoords="offset points")
    if constrained:
        ax.axvline(constrained["safety_min"], color="grey", ls=":", lw=1, label="$\\mathrm{Safety}_{min}$")
        ax.plot([constrained["safety"]], [constrained["loss_kd"]], "*", color="black", ms=11,
                label=f"primal-dual (μ = {constrained['mu']:.2f})")
    return _finish(fig, ax, "$\\mathrm{Safety}_D$ (mean $p(y^*)$ on critical classes, 1 elsewhere)",
                   "$L_{KD} + \\lambda/2\\,\\|\\theta\\|^2$", "Safety–performance frontier (Thm VIII.5)", grid="major")


def weights_figure(by_context: dict[str, dict[str, Any]]) -> str:
    """Mean weight per teacher on clean vs corrupted deployment inputs (and on critical tokens) per operator."""
    import numpy as np

    plt = _plt()
    names = list(by_context)
    fig, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names), 3.6), sharey=True, squeeze=False,
                             layout="constrained")
    for ax, name in zip(axes[0], names):
        d = by_context[name]
        teachers = d["teachers"]
        x = np.arange(len(teachers))
        groups = [("clean", "clean"), ("corrupted", "corrupted"), ("corrupted_critical_tokens", "corrupted, S tokens")]
        width = 0.8 / len(groups)
        for j, (key, label) in enumerate(groups):
            ax.bar(x + (j - 1) * width, d[key], width, label=label, color=_COLORS[j])
        ax.set_xticks(x)
        ax.set_xticklabels(teachers, rotation=20, fontsize=8)
        ax.set_title(name)
        ax.grid(True, axis="y", alpha=0.25)
    axes[0][0].set_ylabel("mean teacher weight (deployment split)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), fontsize=8, frameon=False)
    fig.suptitle("Per-teacher weights by context")
    return to_base64(fig)


def perturbation_figure(curves: Sequence[tuple[str, dict[str, Any]]]) -> str:
    """‖θ*_w − θ*_w̃‖ against δ = ‖w − w̃‖∞ (log-log) with the fitted C·δ."""
    import numpy as np

    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    for c, label, est in _coloured(curves):
        d = np.asarray(est["deltas"], dtype=float)
        y = np.asarray(est["distances"], dtype=float)
        ax.loglog(d, y, "o", color=c, ms=4, label=f"{label}: C = {est['C']:.3g}, R² = {est['r2']:.3f}")
        ax.loglog(d, est["C"] * d, "--", color=c, lw=1)
    return _finish(fig, ax, "$\\delta = \\|w - \\tilde w\\|_\\infty$",
                   "$\\|\\theta^*_w - \\theta^*_{\\tilde w}\\|$", "Perturbation robustness (Thm VII.2)")
