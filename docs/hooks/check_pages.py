"""The per-scale check pages, written from the catalogue `axiomcheck.AXIOMS`.

MkDocs loads this file as a hook: `on_files` adds `checks/<scale>.md` for every
scale in the catalogue as generated pages, so the pages always match the ids,
paper references, statements and check descriptions the code uses, and no
generated file is kept in the repository.

Run it directly to write the same pages into a folder (the tests do this):

    python docs/hooks/check_pages.py OUT_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

# What each scale's operator looks like; a scale missing here still gets a page.
_INTRO = {
    "token": (
        "Token scale",
        "An operator `fn(probs[B,K,V], context[B,D])` returns teacher weights `[B,K]` (the same for every "
        "token) or `[B,K,V]` (per token). Axioms III.1–III.5 of the paper, then the well-posedness checks.",
    ),
    "task": (
        "Task scale",
        "An operator `fn(losses[B,M,K], sizes[B,M])` — teacher k's validation loss on task t and the data "
        "size of task t — returns weights `[B,M,K]`. Axioms III.10–III.14, then the well-posedness checks.",
    ),
    "context": (
        "Context scale",
        "An operator `fn(context[B,D])` returns weights `[B,K]`. Axioms III.18–III.22, then the "
        "well-posedness checks.",
    ),
    "unified": (
        "Unified (composed) operators",
        "An operator built by `ac.compose(...)`, `fn(probs, context, losses, sizes)`, returns weights "
        "`[B,M,K,V]`; its checks run over joint (x, i, t, c) inputs. See [Composition](../composition.md).",
    ),
    "ensemble": (
        "The ensemble operator G",
        "Checks of the distillation target q built from an operator's weights by the JAX kernel, run by "
        "`ac.verify_ensemble(op)` or `axiomcheck ensemble TARGET`. See "
        "[Composition and G](../composition.md#the-ensemble-operator-g).",
    ),
    "runtime": (
        "Observed in training",
        "What the weight guard saw inside a training step: the weights a KD kernel really received, step after "
        "step, checked by `axiomcheck.kernels.guard_update` (JAX) or `ac.torch_guard` (PyTorch) and turned into "
        "results by `axiomcheck.guard.runtime`. See [The weight guard](../guard.md).",
    ),
    "dynamics": (
        "Training-time checks",
        "The paper's guarantees about training with adaptive weights (Sections VI–VIII), checked by training a "
        "student: `axiomcheck.dynamics.run_checks(op)` or `axiomcheck dynamics --operator NAME`. See "
        "[Training-time checks](../dynamics.md).",
    ),
}

_KIND = {"axiom": "axiom of the paper", "well-posedness": "well-posedness", "ensemble": "ensemble G",
         "runtime": "observed in training", "dynamics": "training-time check"}

_ESCAPE = set("\\*_[]<>|")


def _text(s: str) -> str:
    """Markdown for catalogue prose: code spans kept, other markup characters escaped."""
    parts = s.split("`")
    out = []
    for i, part in enumerate(parts):
        if i % 2:  # inside a code span
            out.append(f"`{part}`")
        else:
            out.append("".join("&lt;" if c == "<" else "&gt;" if c == ">" else f"\\{c}" if c in _ESCAPE else c
                               for c in part))
    return "".join(out)


def _anchor(axiom_id: str) -> str:
    return axiom_id.replace(".", "-").replace("_", "-")


def scales(catalogue=None) -> list[str]:
    """The scales of the catalogue, in catalogue order."""
    catalogue = _catalogue() if catalogue is None else catalogue
    return list(dict.fromkeys(a.scale for a in catalogue.values()))


def render(scale: str, catalogue=None) -> str:
    """The Markdown page of one scale: a summary table, then one section per check."""
    catalogue = _catalogue() if catalogue is None else catalogue
    entries = [a for a in catalogue.values() if a.scale == scale]
    title, intro = _INTRO.get(scale, (f"{scale.capitalize()} scale", f"The checks of the `{scale}` scale."))
    lines = [
        f"# {title}",
        "",
        "<!-- Generated from axiomcheck.AXIOMS by docs/hooks/check_pages.py; edit the catalogue, not this page. -->",
        "",
        intro,
        "",
        f"This page is generated from the catalogue `axiomcheck.AXIOMS`: {len(entries)} checks. "
        "`axiomcheck explain ID` prints the same text for one of them.",
        "",
        "| id | paper | kind | requires |",
        "|---|---|---|---|",
    ]
    for a in entries:
        lines.append(f"| [`{a.id}`](#{_anchor(a.id)}) | {_text(a.paper_ref)} | {_KIND.get(a.kind, a.kind)} "
                     f"| {_text(a.statement)} |")
    for a in entries:
        lines += [
            "",
            f"## `{a.id}` {{ #{_anchor(a.id)} }}",
            "",
            f"- **Paper:** {_text(a.paper_ref)}",
            f"- **Kind:** {_KIND.get(a.kind, a.kind)}",
            f"- **Property:** `{a.property}`",
            f"- **Requires:** {_text(a.statement)}",
            "",
            f"**What the check does.** {_text(a.check)}",
            "",
            "```sh",
            f"axiomcheck explain {a.id}",
            "```",
        ]
    return "\n".join(lines) + "\n"


def pages(catalogue=None) -> dict[str, str]:
    """`{"checks/<scale>.md": markdown}` for every scale of the catalogue."""
    catalogue = _catalogue() if catalogue is None else catalogue
    return {f"checks/{s}.md": render(s, catalogue) for s in scales(catalogue)}


def write_pages(out_dir, catalogue=None) -> list[Path]:
    """Write `<scale>.md` for every scale into `out_dir`; returns the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for uri, text in pages(catalogue).items():
        path = out / Path(uri).name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def _catalogue():
    # The catalogue of this checkout, even where another copy of axiomcheck is installed.
    root = str(Path(__file__).resolve().parents[2])
    if root not in sys.path:
        sys.path.insert(0, root)
    from axiomcheck import AXIOMS

    return AXIOMS


def on_files(files, config):
    """MkDocs hook: add the generated check pages (replacing any stale copy on disk)."""
    from mkdocs.structure.files import File

    for uri, text in pages().items():
        stale = files.get_file_from_path(uri)
        if stale is not None:
            files.remove(stale)
        files.append(File.generated(config, uri, content=text))
    return files


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python docs/hooks/check_pages.py OUT_DIR")
    for p in write_pages(sys.argv[1]):
        print(p)
