from __future__ import annotations

from pathlib import Path

from clinic.engine import load_knowledge
from clinic.engine.catalogue import render_markdown

CATALOGUE = Path(__file__).resolve().parents[2] / "docs" / "knowledge-catalogue.md"


def test_committed_catalogue_matches_the_knowledge_files() -> None:
    """The document clinicians review must be the rules that run: regenerate it with `make catalogue`."""
    assert CATALOGUE.read_text(encoding="utf-8") == render_markdown(load_knowledge())
