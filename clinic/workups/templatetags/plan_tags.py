"""Template tags for the care plan: the evidence and sources block of a recommendation, rendered once per process.

A plan shows the same knowledge-derived "Evidence V · sources R1, R2" block dozens of times, and it depends only
on the evidence tag, the reference ids and the knowledge base. Rendering ``workups/_sources.html`` through an
include for each item was about a third of the care plan body's time, so the result is memoised per
(knowledge hash, evidence, ids); the markup still lives in that one template.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from clinic.engine import load_knowledge
from clinic.engine.knowledge import SECONDARY_MARK

register = template.Library()


@functools.lru_cache(maxsize=4096)  # distinct (evidence, ids) pairs: a few hundred in practice
def _sources_html(knowledge_hash: str, evidence: str, ids: tuple[str, ...]) -> SafeString:
    refs = load_knowledge().references
    items = [
        {
            "id": rid,
            "title": refs[rid].title if rid in refs else rid,
            "url": refs[rid].url if rid in refs else None,
            "mark": SECONDARY_MARK if rid in refs and refs[rid].secondary else "",
        }
        for rid in ids
    ]
    return SafeString(render_to_string("workups/_sources.html", {"items": items, "evidence": evidence}))


@register.simple_tag
def sources(evidence: str, ids: Iterable[str] | None) -> SafeString:
    return _sources_html(load_knowledge().content_hash, str(evidence), tuple(str(i) for i in ids or ()))


@register.filter
def sources_text(ids: Iterable[str] | None) -> str:
    """'R12, R60*' for the printed plan: * marks a secondary source (the page's footnote spells it out)."""
    refs = load_knowledge().references
    return ", ".join(f"{rid}*" if rid in refs and refs[rid].secondary else str(rid) for rid in ids or ())
