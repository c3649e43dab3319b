"""The nephrologist's decisions of a signed plan, as rows for the care plan page."""

from __future__ import annotations

from typing import Any

from django import template

from clinic.workups.decisions import decision_items

register = template.Library()


@register.simple_tag
def decision_rows(signed: Any) -> list[dict[str, Any]]:
    """[{"text", "decision", "note", "drug_option"}] in plan order; empty for plans signed before decisions."""
    if signed is None or not signed.decisions:
        return []
    rows = []
    for item in decision_items(signed.plan_json):
        decided = signed.decisions.get(item.code) or {}
        rows.append(
            {
                "text": item.text,
                "decision": decided.get("decision", ""),
                "note": decided.get("note", ""),
                "drug_option": item.drug_option,
            }
        )
    return rows
