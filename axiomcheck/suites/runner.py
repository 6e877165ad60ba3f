"""Running suites: the settings each item runs with, verifying it, and judging the verdicts.

`run(suites)` verifies every item of every suite and returns a `Run` (see
`axiomcheck.report.results`); one broken item is recorded as an internal error on its
`ItemRun`, never loses the rest of the run.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..axioms import AXIOMS, for_scale
from ..engine import DEFAULT_TIMEOUT, verify
from ..frontends import options as O
from ..report import repro
from ..report.repro import Reproduction
from ..report.results import ItemRun, Outcome, Report, Run, SuiteRun
from ..sampling.budget import ProgressHook
from ..spec import boxes, worlds
from ..spec.operator import Operator
from .model import Suite, SuiteItem

_WORLD_KEYS = worlds.fields()


def effective(item: SuiteItem, overrides: Mapping[str, Any],
              defaults: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The settings an item runs with.

    Precedence: `overrides` (the command line) > the suite's values > `defaults`
    (e.g. pytest ini keys) > the built-in defaults of `axiomcheck.frontends.options`; a world
    size the operator declares (`world=` on its decorator) comes after the suite's
    and before `defaults` (`worlds.sizes_for`, the one order of precedence of the
    world sizes).  `isolate` appears only when it is on, and so do the
    certified checks' settings (`certify`, and `domain`, `certify_gap`,
    `certify_time` when set): the boxes of `domain` are the item's (over its
    suite's) with the command line's over them, kept to the inputs the operator
    takes.
    """
    defaults = defaults or {}
    world = worlds.sizes_for(item.operator.world, overrides, item.world, defaults=defaults)
    out = {"seed": O.resolve("seed", overrides.get("seed"), item.seed, defaults.get("seed")),
           "max_examples": O.resolve("max_examples", overrides.get("max_examples"), item.max_examples,
                                     defaults.get("max_examples")),
           "tolerance": item.tolerance, "timeout": item.timeout, **world}
    isolate = next((v for v in (overrides.get("isolate"), item.isolate, defaults.get("isolate")) if v is not None),
                   False)
    if isolate:
        out["isolate"] = True
    if overrides.get("max_time") is not None:  # a time budget per item, from the command line
        out["max_time"] = overrides["max_time"]
    out.update(_certified(item, overrides))
    return out


def _certified(item: SuiteItem, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The certified checks' settings of an item (none when it does not certify)."""
    if not next((v for v in (overrides.get("certify"), item.certify) if v is not None), False):
        return {}
    out: dict[str, Any] = {"certify": True}
    takes = item.operator.takes()
    domain = {k: list(v) for k, v in boxes.merged(item.domain, overrides.get("domain")).items() if k in takes}
    if domain:
        out["domain"] = domain
    for key in ("certify_gap", "certify_time"):
        value = next((v for v in (overrides.get(key), getattr(item, key)) if v is not None), None)
        if value is not None:
            out[key] = value
    return out


def _given(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings a command line replaying an item gives: those the item was given (not the engine's defaults)."""
    return repro.changed(tolerance=settings.get("tolerance"), timeout=settings.get("timeout"),
                         isolate=bool(settings.get("isolate")))


def _from_settings(target: str | None, operator: str, settings: Mapping[str, Any], axiom: str) -> Reproduction:
    """The `verify` record of one check run with these settings (when the engine attached none)."""
    return Reproduction("verify", operator, target=target, axioms=(axiom,), seed=settings["seed"],
                        max_examples=settings["max_examples"], world=dict(worlds.shown(settings)),
                        settings=_given(settings))


def verify_command(target: str, settings: Mapping[str, Any], axiom: str) -> str:
    """The one-line `axiomcheck verify` command that replays one check with these settings."""
    return repro.render(_from_settings(target, target, settings, axiom))


def record_for(suite: Suite | None, item: SuiteItem, settings: Mapping[str, Any], axiom: str,
               base: Reproduction | None = None) -> Reproduction:
    """How to run `axiom` on `item` again, as the runner names it: the engine's record `base` (else one
    built from `settings`) with the target as the user wrote it and the settings the item was given, or,
    for an item of a suite file, as `axiomcheck run SUITE --item ID` (`repro.in_suite`)."""
    rec = base if base is not None else _from_settings(None, item.operator.name, settings, axiom)
    if suite is None or item.is_plain:
        source = item.source if isinstance(item.source, str) else item.id
        return dataclasses.replace(rec, command="verify", target=source, settings=_given(settings))
    # what `axiomcheck run` gives the item without flags (the operator's declared world included)
    suite_world = worlds.sizes_for(item.operator.world, item.world)
    return repro.in_suite(rec, suite.path, item.id, suite_world, bool(item.isolate))


def reproduction(suite: Suite | None, item: SuiteItem, settings: Mapping[str, Any], axiom: str,
                 base: Reproduction | None = None) -> str:
    """A one-line command replaying `axiom` on `item` with exactly these settings (`record_for`, rendered)."""
    return repro.render(record_for(suite, item, settings, axiom, base))


def judge(suite: Suite | None, item: SuiteItem, report: Report, settings: Mapping[str, Any]) -> list[Outcome]:
    out = []
    suite_name = suite.name if suite else "verify"
    for r in report.results:
        expected = item.expect.get(r.axiom, "pass")
        o = Outcome(suite=suite_name, item=item.id, operator=report.operator, scale=report.scale, axiom=r.axiom,
                    paper_ref=r.paper_ref, status=r.status, expected=expected, message=r.message,
                    counterexample=r.counterexample)
        if r.status in ("fail", "error") or not o.matched:
            o.reproduce = repro.render(record_for(suite, item, settings, r.axiom, r.reproduction))
        out.append(o)
    return out


def verify_item(item: SuiteItem, settings: Mapping[str, Any], progress: ProgressHook | None = None) -> Report:
    """`verify()` of one item with its effective settings (may raise on an internal error)."""
    timeout = settings["timeout"] if settings.get("timeout") is not None else DEFAULT_TIMEOUT
    world = {k: settings[k] for k in _WORLD_KEYS if k in settings}
    certified = {k: settings[k] for k in ("certify", "domain", "certify_gap", "certify_time") if k in settings}
    return verify(item.operator, **world, seed=settings["seed"],
                  max_examples=settings["max_examples"], tolerance=settings["tolerance"],
                  timeout=timeout, axioms=list(item.axioms), isolate=bool(settings.get("isolate")),
                  max_time=settings.get("max_time"), progress=progress, **certified)


def internal_error(exc: BaseException, item: SuiteItem) -> str:
    return f"axiomcheck failed while verifying {item.id!r}: {type(exc).__name__}: {exc}"


def item_run(suite: Suite | None, item: SuiteItem, settings: Mapping[str, Any], report: Report | None,
             error: str | None = None) -> ItemRun:
    """Judge a report (or record an internal error) as the ItemRun of `item`."""
    name = suite.name if suite else "verify"
    if report is None:
        outcomes = [Outcome(suite=name, item=item.id, operator=item.operator.name, scale=item.operator.scale,
                            axiom=a, paper_ref=AXIOMS[a].paper_ref, status="error", expected=item.expect[a],
                            message=error or "not verified",
                            reproduce=repro.render(record_for(suite, item, settings, a)))
                    for a in item.axioms]
        return ItemRun(name, item.id, item.source, None, outcomes, dict(settings), error=error or "not verified",
                       description=item.description)
    return ItemRun(name, item.id, item.source, report, judge(suite, item, report, settings), dict(settings),
                   description=item.description)


def run_item(suite: Suite | None, item: SuiteItem, overrides: Mapping[str, Any],
             defaults: Mapping[str, Any] | None = None, progress: ProgressHook | None = None) -> ItemRun:
    """Verify one item (never raises: an internal failure is recorded on the ItemRun)."""
    settings = effective(item, overrides, defaults)
    try:
        report = verify_item(item, settings, progress)
    except Exception as exc:  # noqa: BLE001 - one broken item must not lose the rest of the run
        return item_run(suite, item, settings, None, internal_error(exc, item))
    return item_run(suite, item, settings, report)


def replay_item(op: Operator, source: str, path: str, overrides: Mapping[str, Any], *,
                timeout: float | None = None, isolate: bool | None = None) -> ItemRun:
    """The ItemRun of `axiomcheck verify SOURCE --replay FILE.npz`: the saved check, run on its input."""
    report = verify(op, replay=path, timeout=timeout or DEFAULT_TIMEOUT, isolate=bool(isolate))
    item = single(op, source, axioms=[r.axiom for r in report.results], world=dict(report.world),
                  seed=report.seed, timeout=timeout, isolate=isolate)
    settings = effective(item, overrides)
    ir = item_run(None, item, settings, report)
    for o in ir.outcomes:
        if o.reproduce:  # the saved input, not a new search: `verify SOURCE --replay FILE.npz`
            rec = record_for(None, item, settings, o.axiom, report[o.axiom].reproduction)
            o.reproduce = repro.render(dataclasses.replace(rec, replay=str(path)))
    return ir


SuiteEventHook = Callable[[str, Suite, SuiteItem, "ItemRun | None"], None]


def run(suites: Sequence[Suite], overrides: Mapping[str, Any] | None = None, *,
        on_event: SuiteEventHook | None = None) -> Run:
    """Run every item of every suite; `on_event("start"|"done", suite, item, item_run)` reports progress."""
    overrides = dict(overrides or {})
    start = time.perf_counter()
    result = Run(suites=[], overrides=overrides)
    for suite in suites:
        sr = SuiteRun(name=suite.name, path=suite.path, items=[], description=suite.description)
        result.suites.append(sr)
        for item in suite.items:
            if on_event:
                on_event("start", suite, item, None)
            ir = run_item(suite, item, overrides)
            sr.items.append(ir)
            if on_event:
                on_event("done", suite, item, ir)
    result.elapsed_s = time.perf_counter() - start
    return result


def single(op: Operator, source: str, *, axioms: Sequence[str] | None = None,
           world: Mapping[str, int] | None = None, seed: int | None = None, max_examples: int | None = None,
           tolerance: float | None = None, timeout: float | None = None,
           isolate: bool | None = None) -> SuiteItem:
    """A one-operator item (expect pass everywhere), for `axiomcheck verify` and the pytest fixture."""
    scale_ids = [a.id for a in for_scale(op.scale)]
    chosen = tuple(a for a in scale_ids if axioms is None or a in axioms)
    w = dict(world or {})
    return SuiteItem(id=source, operator=op, source=source, world=w, axioms=chosen,
                     expect={a: "pass" for a in chosen}, seed=seed, max_examples=max_examples,
                     tolerance=tolerance, timeout=timeout, isolate=isolate)

