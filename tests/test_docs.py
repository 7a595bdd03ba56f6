"""The user-facing documents (README.md, CHANGELOG.md, docs/*.md) hold together: every relative
link reaches a file and, where it names one, a heading; no page cites the tracker's issue numbers
(history lives in CHANGELOG.md in words); the README stays a landing page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", REPO / "CHANGELOG.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^```.*?^```", flags=re.S | re.M)
LINK = re.compile(r"\]\(([^)\s]+)\)")


def prose(path: Path) -> str:
    """The page without its fenced code blocks (a link inside one is not a link)."""
    return FENCE.sub("", path.read_text(encoding="utf-8"))


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {anchor(line.lstrip("#")) for line in prose(path).splitlines() if line.startswith("#")}


def test_the_anchor_rule_matches_github():
    assert anchor(" Backbones: `--features`") == "backbones---features"
    assert anchor("Models on disk: `create_model` and `save`") == "models-on-disk-create_model-and-save"


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(REPO)) for p in PAGES])
def test_every_relative_link_reaches_its_file_and_heading(page):
    broken = []
    for target in LINK.findall(prose(page)):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        path, _, fragment = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif fragment and file.suffix == ".md" and fragment not in anchors(file):
            broken.append(f"{target}: no heading #{fragment}")
    assert broken == []


def test_no_page_cites_issue_numbers():
    """README's table of codes is left out: it is generated from the registry's own words."""
    cited = re.compile(r"\bissues? #?\d+|\bpre-issue-\d+|(?<![\w&])#\d{1,4}\b", flags=re.I)  # not #334155
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        if page.name == "README.md":
            text = text.split("\n## Diagnostic codes", 1)[0]
        if page.name == "codes.md":
            continue
        found += [f"{page.name}: {m.group(0)}" for m in cited.finditer(text)]
    assert found == []


def test_the_readme_is_a_landing_page_that_links_every_page():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    landing = text.split("\n## Diagnostic codes", 1)[0]
    assert len(landing.splitlines()) <= 300
    for page in sorted((REPO / "docs").glob("*.md")):
        assert f"](docs/{page.name})" in text, f"README does not link docs/{page.name}"
