"""The published weighting schemes, ported and audited: every port, its repaired variant, its verdict.

`PORTS` holds one `Port` per registered operator — eleven published schemes
(Hinton KD, TinyLLM, CA-MKD, EBKD, AE-KD, MMKD, AMTML-KD, MTKD-RL, DWA,
uncertainty weighting, GradNorm) and a repaired variant of each one that
fails an axiom.  The functions live in `published_token`, `published_gradient`,
`published_learned` (learned parameters) and `published_task` (task
importances λ).  Each function's docstring gives the citation, the equation,
the inputs it reads and the verdict derived by hand; `EXPECTED_FAILURES`
collects those verdicts, and `conformance_suites/published.toml` states the
same expectations for `axiomcheck run`.

The ports take the engine's keyword inputs (`labels`, `student`,
`teacher_logits`, `features`, `history`, `step`, `params`) and the decorator
keywords `params=` and `world=`; `register_published()` builds and registers
them with those keywords.

>>> len(SCHEMES), sorted(EXPECTED_FAILURES["dwa"])[:2]
(11, ['importance.continuity', 'importance.finite'])
"""

from __future__ import annotations

from typing import Any

from axiomcheck.library import (
    published_gradient,
    published_learned,
    published_task,
    published_token,
)
from axiomcheck.library.port import Port

__all__ = ["BY_NAME", "EXPECTED_FAILURES", "PORTS", "REPAIRED", "SCHEMES", "audit_markdown", "audit_rows",
           "register_published"]

PORTS: tuple[Port, ...] = (*published_token.PORTS, *published_gradient.PORTS, *published_learned.PORTS,
                           *published_task.PORTS)
#: name -> port
BY_NAME: dict[str, Port] = {p.name: p for p in PORTS}
#: name -> the check ids that must come back "fail" (every other check of the kind passes or is skipped,
#: except the `Port.errors`, which cannot be judged)
EXPECTED_FAILURES: dict[str, set[str]] = {p.name: set(p.fails) for p in PORTS}
#: faithful port -> the repaired variants of it
REPAIRED: dict[str, tuple[str, ...]] = {
    p.name: tuple(r.name for r in PORTS if r.repairs == p.name) for p in PORTS if p.repairs is None}
#: the published schemes, in audit order
SCHEMES: tuple[str, ...] = tuple(dict.fromkeys(p.scheme for p in PORTS if p.repairs is None))


def register_published(*, replace: bool = False) -> list[Any]:
    """Build every port and repaired variant with its kind's decorator and register it; returns the operators.

    `axiomcheck.library` calls it once, when it is imported (as the registry does on first use).
    """
    from axiomcheck.spec.registry import register

    built = [p.build(register=False) for p in PORTS]
    return [register(op, replace=replace) for op in built]


def _short(check_id: str) -> str:
    return check_id.split(".", 1)[1]


def audit_rows() -> list[dict[str, str]]:
    """One row per published scheme: scheme | inputs it reads | axioms it violates | why | repaired verdict.

    The docs' audit table is this, written out (a test keeps them in step).
    """
    rows = []
    for port in PORTS:
        if port.repairs is not None:
            continue
        repaired = [BY_NAME[n] for n in REPAIRED[port.name]]
        verdicts = []
        for r in repaired:
            verdict = "conforms" if not r.fails else "fails " + ", ".join(_short(a) for a in r.fails)
            verdicts.append(f"`{r.name}`: {verdict}")
        violates = ", ".join(_short(a) for a in port.fails) or "none"
        if port.errors:
            violates += " (" + ", ".join(_short(a) for a in port.errors) + ": cannot be judged)"
        rows.append({
            "scheme": port.scheme,
            "operator": port.name,
            "reads": ", ".join(port.reads) or "none (only K)",
            "violates": violates,
            "why": port.why or "—",
            "repaired": "; ".join(verdicts) or "not needed",
        })
    return rows



_COLUMNS = (("scheme", "Scheme"), ("operator", "Port"), ("reads", "Inputs it reads"),
            ("violates", "Axioms it violates"), ("why", "Why"), ("repaired", "Repaired variant's verdict"))


def audit_markdown() -> str:
    """`audit_rows()` as a Markdown table (the one in the docs)."""
    def cell(key: str, text: str) -> str:
        return f"`{text}`" if key == "operator" else text.replace("|", "\\|")

    lines = ["| " + " | ".join(title for _, title in _COLUMNS) + " |",
             "|" + "---|" * len(_COLUMNS)]
    lines += ["| " + " | ".join(cell(k, row[k]) for k, _ in _COLUMNS) + " |" for row in audit_rows()]
    return "\n".join(lines)
