"""The documentation's generated picture matches its source; the README's links lead somewhere."""

from __future__ import annotations

import hashlib
import re

from tests.unit.cli import REPO

DOCS = REPO / "docs"


def test_architecture_svg_was_generated_from_the_current_source() -> None:
    source = hashlib.sha256((DOCS / "architecture.dot").read_bytes()).hexdigest()
    svg = (DOCS / "architecture.svg").read_text()
    recorded = re.search(r"generated from docs/architecture\.dot sha256:([0-9a-f]{64})", svg)
    assert recorded, "docs/architecture.svg lacks its source hash; run make docs-picture"
    assert recorded[1] == source, "docs/architecture.dot changed since the SVG was made; run make docs-picture"
    nodes = re.findall(r"^\s*(\w+) \[label=", (DOCS / "architecture.dot").read_text(), re.M)
    assert nodes and all(f"<title>{node}</title>" in svg for node in nodes)
    assert svg.rstrip().endswith("</svg>")


def test_every_relative_link_in_readme_and_docs_points_at_a_file() -> None:
    broken = []
    for page in [REPO / "README.md", *sorted(DOCS.glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            path = (page.parent / target).resolve()
            if not target.startswith(("http://", "https://")) and not path.exists():
                broken.append(f"{page.relative_to(REPO)} -> {target}")
    assert broken == []
