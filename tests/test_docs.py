"""The documentation stays in step with the code: generated check pages, a short README."""

import importlib.util
import re
from pathlib import Path

import pytest

from axiomcheck import AXIOMS

ROOT = Path(__file__).resolve().parents[1]
README_MAX_LINES = 150


def _check_pages():
    spec = importlib.util.spec_from_file_location("check_pages", ROOT / "docs" / "hooks" / "check_pages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCALES = sorted({a.scale for a in AXIOMS.values()})


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    out = tmp_path_factory.mktemp("checks")
    written = _check_pages().write_pages(out)
    return {p.stem: p.read_text(encoding="utf-8") for p in written}


def test_one_page_per_scale(pages):
    assert sorted(pages) == SCALES


@pytest.mark.parametrize("scale", SCALES)
def test_scale_page_lists_every_id_of_the_scale(pages, scale):
    sections = dict(re.findall(r"^## `([^`]+)`(.*?)(?=^## |\Z)", pages[scale], flags=re.M | re.S))
    expected = [a for a in AXIOMS.values() if a.scale == scale]
    assert set(sections) == {a.id for a in expected}
    for a in expected:
        assert f"**Paper:** {a.paper_ref}" in sections[a.id], a.id
        assert f"axiomcheck explain {a.id}" in sections[a.id], a.id


@pytest.mark.parametrize("scale", SCALES)
def test_every_scale_page_is_in_the_nav(scale):
    assert f"checks/{scale}.md" in (ROOT / "mkdocs.yml").read_text(encoding="utf-8")


def test_readme_is_short_and_links_to_the_docs():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= README_MAX_LINES
    links = re.findall(r"\]\((docs/[^)#]+)", text)
    assert "docs/index.md" in links and "docs/api.md" in links
    for link in links:
        assert (ROOT / link).is_file(), link


def test_every_nav_page_exists_or_is_generated():
    nav = re.findall(r":\s*([\w./-]+\.md)\s*$", (ROOT / "mkdocs.yml").read_text(encoding="utf-8"), flags=re.M)
    generated = {f"checks/{s}.md" for s in SCALES}
    for page in nav:
        assert page in generated or (ROOT / "docs" / page).is_file(), page
