"""Issue 17 point 11 on screen and on paper: a secondary source carries the facts sheet's mark beside it."""

from __future__ import annotations

from clinic.engine.knowledge import SECONDARY_MARK
from clinic.workups.templatetags.plan_tags import sources, sources_text


def test_plan_sources_block_marks_secondary_sources_only() -> None:
    html = str(sources("S", ["R60", "R12"]))
    r60, r12 = html.split("<li>")[1], html.split("<li>")[2]
    assert SECONDARY_MARK in r60 and SECONDARY_MARK not in r12
    assert "pubmed.ncbi.nlm.nih.gov/1768504" in r12


def test_printed_source_ids_star_secondary_sources() -> None:
    assert sources_text(["R12", "R60", "R82"]) == "R12, R60*, R82*"
    assert sources_text(None) == ""
