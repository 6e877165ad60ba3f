"""The plots of the HTML report page: each teacher's observed weight range, the Lipschitz ratio.

matplotlib is imported only when a page is built and only if installed
(`pip install 'axiomcheck[plots]'`); `Plots.available` is False without it and
`Plots.reason` says why.  A plot is an `<img>` of base64 PNG, so the page needs
no file beside it.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from typing import Any

from ..axioms import AXIOMS
from ..report.estimates import BoundsEstimate, RegularityEstimate
from ..report.results import ItemRun
from .common import PLOT_SCALE, png_img
from .common import escape as _e


class Plots:
    """Lazily imported matplotlib; `available` is False when the `plots` extra is missing."""

    def __init__(self) -> None:
        try:
            from matplotlib.figure import Figure
        except ImportError as exc:
            self.Figure = None
            self.reason = f"matplotlib is not installed ({exc}); install the extra: pip install 'axiomcheck[plots]'"
        else:
            self.Figure = Figure
            self.reason = ""

    @property
    def available(self) -> bool:
        return self.Figure is not None

    def png(self, draw: Callable[[Any], None], size: tuple[float, float] = (4.6, 3.2)) -> bytes:
        """PNG bytes at PLOT_SCALE × 80 dpi (80 CSS px per inch); the legend sits below the axes, clear of the data."""
        fig = self.Figure(figsize=size, dpi=80, layout="constrained")
        ax = fig.add_subplot()
        draw(ax)
        handles, labels = ax.get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels, loc="outside lower center", ncols=min(2, len(handles)), fontsize=7,
                       frameon=False)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=80 * PLOT_SCALE, bbox_inches="tight", pad_inches=0.06)
        return buf.getvalue()

    def img(self, draw: Callable[[Any], None], alt: str) -> str:
        try:
            data = self.png(draw)
        except Exception as exc:  # noqa: BLE001 - a plot that cannot be drawn must not lose the report
            return f"<p class='muted'>plot not drawn: {_e(type(exc).__name__)}: {_e(exc)}</p>"
        return png_img(data, _e(alt))


def _finite(xs: Sequence[Any]) -> list[float] | None:
    out = []
    for x in xs or []:
        if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x):
            out.append(float(x))
        else:
            return None
    return out


def _estimated(item: ItemRun, prop: str, kind: type) -> tuple[Any, Any]:
    """(result, estimate) of the item's check of `prop`, when it carries an estimate of `kind`."""
    rep = item.report
    res = next((r for r in rep.results if AXIOMS[r.axiom].property == prop), None) if rep else None
    est = res.estimate if res else None
    return (res, est) if isinstance(est, kind) else (None, None)


def weight_plot(plots: Plots, item: ItemRun) -> str:
    bounds_res, est = _estimated(item, "bounds", BoundsEstimate)
    if est is None:
        return ""
    rep = item.report
    lo, hi = _finite(est.observed_min), _finite(est.observed_max)
    if not lo or not hi or len(lo) != len(hi):
        return ""
    declared = rep.spec.get("bounds") if isinstance(rep.spec, dict) else None
    origin = "declared"
    if not declared and isinstance(rep.derived, dict) and rep.derived.get("bounds"):
        declared, origin = rep.derived["bounds"], "derived"
    failed = bounds_res is not None and bounds_res.status == "fail"

    def draw(ax: Any) -> None:
        ks = list(range(len(lo)))
        ax.bar(ks, [h - m for m, h in zip(lo, hi, strict=False)], bottom=lo, width=0.5, color="#54aeff", edgecolor="#0969da",
               label="observed range")
        ax.scatter(ks, lo, marker="_", color="#0969da", s=120)
        ax.scatter(ks, hi, marker="_", color="#0969da", s=120)
        if declared:
            color = "#cf222e" if failed else "#1a7f37"
            ax.axhline(declared[0], color=color, ls="--", lw=1.2, label=f"{origin} $w_{{min}}$, $w_{{max}}$")
            ax.axhline(declared[1], color=color, ls="--", lw=1.2)
        low = min(lo + ([declared[0]] if declared else []))
        if low > 0 and low < 1e-3:
            ax.set_yscale("log")
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.set_xlabel("teacher k")
        ax.set_ylabel("weight $w_k$")
        ax.set_title("weight range per teacher", fontsize=10)

    return plots.img(draw, f"observed weight range per teacher of {item.item} against the {origin} bounds")


def lipschitz_points(est: RegularityEstimate) -> list[tuple[float, float]]:
    """The points of the Lipschitz plot: per bisection level, the largest ratio ‖Δw‖∞ / d and the radius d
    of the segment it was seen on (so ratio × radius is a change of the weights that was observed)."""
    radii, ratios = _finite(est.radii), _finite(est.max_ratio_by_radius)
    if not radii or not ratios or len(radii) != len(ratios):
        return []
    return [(r, q) for r, q in zip(radii, ratios, strict=False) if r > 0 and q > 0]


def lipschitz_plot(plots: Plots, item: ItemRun) -> str:
    res, est = _estimated(item, "regularity", RegularityEstimate)
    if est is None:
        return ""
    pts = lipschitz_points(est)
    if len(pts) < 2:
        return ""
    declared = est.declared

    def draw(ax: Any) -> None:
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", ms=3, color="#8250df",
                label="largest $\\|\\Delta w\\|_\\infty / d$")
        if isinstance(declared, (int, float)) and declared > 0:
            ax.axhline(declared, color="#cf222e" if res.status == "fail" else "#1a7f37", ls="--", lw=1.2,
                       label=f"declared L = {declared:.3g}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.invert_xaxis()
        ax.set_xlabel(f"radius of the segment, in {est.metric or 'input metric'}")
        ax.set_ylabel("ratio")
        ax.set_title("Lipschitz ratio as the radius shrinks", fontsize=10)

    return plots.img(draw, f"Lipschitz ratio of {item.item} against the radius")
