"""Every number and list that describes the project in the docs is checked against the code.

The docs state facts a reader relies on (how many suites `make demo` runs, which suites ship,
which extras and flags exist, which scale pages there are); each is asserted here from the code,
so none can drift. Test counts are not stated anywhere: they change with every test added.
"""

from __future__ import annotations

import re
import sys

import pytest

import axiomcheck as ac
from axiomcheck import suites
from axiomcheck.frontends.cli import build_parser
from tests.doc_blocks import ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def page(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def shipped() -> list:
    return suites.load_all([str(suites.builtin_suite_dir())])


def test_getting_started_states_what_make_demo_runs():
    ss = suites.load_all([str(ROOT / "conformance_suites")])
    facts = (len(ss), sum(len(s.items) for s in ss), sum(len(i.axioms) for s in ss for i in s.items))
    words = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven"}
    m = re.search(r"the (\w+)\s+suites,\s+(\d+)\s+operators\s+and\s+(\d+)\s+checks", page("docs/getting-started.md"))
    assert m, "getting-started.md no longer states what `make demo` runs"
    assert (m.group(1), int(m.group(2)), int(m.group(3))) == (words.get(facts[0], str(facts[0])), *facts[1:])


def test_no_page_states_a_test_count():
    for p in [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]:
        found = re.findall(r"\b\d+ tests\b", p.read_text(encoding="utf-8"))
        assert not found, f"{p.relative_to(ROOT)} states a test count ({found}): it drifts with every test"


def test_every_shipped_suite_is_named_in_the_docs_and_the_help():
    names = [s.name for s in shipped()]
    assert sorted(names) == sorted(p.stem for p in (ROOT / "conformance_suites").glob("*.toml"))
    text = page("docs/suites-and-ci.md")
    run = build_parser()._subparsers._group_actions[0].choices["run"]
    builtin = next(a for a in run._actions if "--builtin" in a.option_strings)
    for name in names:
        assert f"`{name}.toml`" in text, name
        assert name in builtin.help, name


def test_the_readme_names_every_extra():
    extras = tomllib.loads(page("pyproject.toml"))["project"]["optional-dependencies"]
    readme = page("README.md")
    for extra in extras:
        assert f"`{extra}`" in readme or f"[{extra}]" in readme, extra


def test_the_checks_overview_links_every_scale_page():
    text = page("docs/checks/index.md")
    for scale in sorted({a.scale for a in ac.AXIOMS.values()}):
        assert f"]({scale}.md)" in text, scale


def test_the_api_page_documents_every_public_name():
    text = page("docs/api.md")
    missing = [n for n in ac.__all__ if n != "__version__" and f"axiomcheck.{n}" not in text]
    assert not missing, f"api.md does not document {missing}"


@pytest.mark.parametrize("command", ["run", "verify"])
def test_suites_and_ci_lists_every_flag(command):
    text = page("docs/suites-and-ci.md")
    sub = build_parser()._subparsers._group_actions[0].choices[command]
    flags = [s for a in sub._actions for s in a.option_strings if s.startswith("--") and s != "--help"]
    missing = [f for f in flags if f"`{f}" not in text and f" {f}" not in text]
    assert not missing, f"docs/suites-and-ci.md does not mention {missing} of `axiomcheck {command}`"


def test_suites_and_ci_lists_every_pytest_option():
    import argparse

    from axiomcheck.frontends import options as O

    parser = argparse.ArgumentParser()
    O.add_to(parser.add_argument, pytest=True)
    text = page("docs/suites-and-ci.md")
    flags = [s for a in parser._actions for s in a.option_strings if s.startswith("--axiomcheck")]
    missing = [f for f in flags if f not in text]
    assert flags and not missing, f"docs/suites-and-ci.md does not mention {missing}"


def test_the_misbehaving_table_states_the_regularity_verdicts_the_engine_gives():
    """docs/checks/index.md's table: a batch-dependent or non-deterministic operator's regularity
    cannot be judged (`error`), never `fail`; the row says what the engine gives."""
    from axiomcheck.library.misbehaving import MISBEHAVING

    text = page("docs/checks/index.md")
    for name, axiom in (("bad_batch_dependent", "context.continuity"), ("bad_nondeterministic", "token.regularity")):
        row = next(line for line in text.splitlines() if line.startswith(f"| `{name}`"))
        status = ac.verify(MISBEHAVING[name], max_examples=10, sweep_size=32)[axiom].status
        assert status == "error"
        said = row.split("|")[-2]
        assert "error" in said and "cannot be judged" in said, row
        assert f"(and `{axiom}`)" not in said, row  # the old wording counted it among the failures


def test_every_benchmark_table_carries_its_command_and_date():
    text = page("docs/benchmarks.md")
    for section in re.split(r"(?m)^## ", text)[1:]:
        title = section.splitlines()[0]
        if "\n|" not in section:
            continue
        assert re.search(r"benchmarks/\w+\.py", section), f"section {title!r} has a table but no command"
        assert re.search(r"20\d\d-\d\d-\d\d", section), f"section {title!r} has a table but no date"


def test_the_certified_page_states_the_certifier_default_domains():
    from axiomcheck.certifier.space import defaults

    text = page("docs/certified.md")
    for name, (lo, hi) in defaults().items():
        row = next((line for line in text.splitlines() if line.startswith("|") and f"`{name}`" in line.split("|")[1]),
                   None)
        assert row is not None, f"docs/certified.md has no default domain for {name}"
        want = f"[{lo:g}, {hi:g}]".replace("e+0", "e")  # 1e+06 is written 1e6 on the page
        assert want in row, (name, want, row)


def test_the_architecture_page_names_every_module_and_only_modules_that_exist():
    """docs/architecture.md has a row for every module, by its path inside the package (a package's
    `__init__.py` by its folder; the training-time checks by name in the dynamics row), and every
    module path it names exists, so a module moved, added or removed shows here."""
    text = page("docs/architecture.md")
    package = ROOT / "axiomcheck"
    missing = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package).as_posix()
        if path.name == "__init__.py" and path.parent != package:
            rel = path.parent.relative_to(package).as_posix() + "/"
        named = f"`{rel}`" in text or (rel.startswith("dynamics/") and f"`{path.name}`" in text)
        if not named and not (rel.endswith("/") and f"`{rel}" in text):
            missing.append(rel)
    assert missing == [], f"docs/architecture.md does not name {missing}"
    named = set(re.findall(r"`((?:[a-z_]+/)*[a-z_]+\.py)`", text))
    ghosts = sorted(n for n in named if not (package / n).exists() and not (ROOT / n).exists()
                    and not list(package.rglob(n)))
    assert ghosts == [], f"docs/architecture.md names modules that do not exist: {ghosts}"


def test_the_certified_page_shows_what_its_example_prints():
    """docs/certified.md shows rows of its first example's report; they are that report's rows."""
    from axiomcheck.output.certified import describe
    from tests.doc_blocks import blocks

    text = page("docs/certified.md")
    first = next(b for b in blocks(ROOT / "docs" / "certified.md") if not b.is_sketch and not b.file_name)
    namespace: dict = {}
    exec(compile(first.code.replace("ac.print_report(report)", ""), "docs/certified.md", "exec"), namespace)
    for axiom in ("context.boundedness", "context.continuity"):
        result = namespace["report"][axiom]
        shown = describe(result.certificate, result)
        assert shown in text, f"docs/certified.md does not show {axiom}'s certificate as it is now: {shown}"


def test_the_reports_page_names_every_key_of_report_json():
    """The report.json row of docs/reports.md names every key the file holds, at every level."""
    run = suites.run([suites.loads('[suite]\nname = "s"\nmax_examples = 3\n[[item]]\noperator = "uniform_context"\n',
                                   "s.toml")])
    doc = run.to_dict()
    row = next(line for line in page("docs/reports.md").splitlines() if line.startswith("| `report.json` |"))
    named = set(re.findall(r'"([a-z_]+)"', row))
    item = doc["suites"][0]["items"][0]
    keys = {*doc, *doc["suites"][0], *item, *item["outcomes"][0], *item["report"], *item["report"]["results"][0]}
    assert keys - named == set(), f"docs/reports.md does not name {sorted(keys - named)}"


def test_the_repository_layout_names_every_stage_folder():
    """getting-started.md's layout block names each package folder of axiomcheck/ (a stage), and no other."""
    text = page("docs/getting-started.md")
    block = text[text.index("## Repository layout"):]
    block = block[block.index("```"):block.index("```", block.index("```") + 3)]
    folders = {p.name for p in (ROOT / "axiomcheck").iterdir() if (p / "__init__.py").exists()}
    named = set(re.findall(r"(?:axiomcheck/|, )([a-z_]+)/", block))
    assert named == folders, (sorted(folders - named), sorted(named - folders))
