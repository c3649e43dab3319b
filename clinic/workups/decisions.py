"""The recommendations a nephrologist decides on when reviewing a plan (accept or decline each), and the check
that a set of decisions is complete. Pure: no database, no HTTP."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from clinic.engine import load_knowledge

ACCEPTED, DECLINED = "accepted", "declined"


@dataclass(frozen=True)
class Item:
    """One recommendation the nephrologist decides on."""

    code: str
    text: str
    why: str
    step_title: str
    drug_option: bool
    hard_stop: bool  # related to a hard-stop drug: declining it needs a note

    @property
    def field(self) -> str:
        return f"decision__{self.code}"

    @property
    def note_field(self) -> str:
        return f"note__{self.code}"


def _hard_stop_words() -> list[str]:
    knowledge = load_knowledge()
    words = []
    for code, drug in knowledge.drugs.items():
        if drug.hard_stop:
            words.extend([code.split("_")[0].lower(), drug.name.split()[0].lower()])
    return sorted(set(words))


def decision_items(plan: Mapping[str, Any]) -> list[Item]:
    """Every nephrologist-scope action of the plan, drug options (pharmacotherapy) included, in plan order."""
    words = _hard_stop_words()
    items = []
    for step in plan.get("steps", []):
        for action in step.get("actions", []):
            if action.get("who") != "nephrologist":
                continue
            haystack = f"{action['code']} {action.get('text', '')}".lower()
            items.append(
                Item(
                    code=action["code"],
                    text=action.get("text", ""),
                    why=action.get("why", ""),
                    step_title=step.get("title", ""),
                    drug_option=step.get("code") == "pharmacotherapy",
                    hard_stop=any(word in haystack for word in words),
                )
            )
    return items


def missing_decisions(plan: Mapping[str, Any], decisions: Mapping[str, Mapping[str, str]]) -> list[str]:
    """The item codes without a valid decision (empty when the decisions are complete and only name items of the
    plan), plus any hard-stop item declined without a note."""
    items = decision_items(plan)
    problems = [
        item.code for item in items if (decisions.get(item.code) or {}).get("decision") not in (ACCEPTED, DECLINED)
    ]
    problems += [
        item.code
        for item in items
        if item.hard_stop
        and (decisions.get(item.code) or {}).get("decision") == DECLINED
        and not str((decisions.get(item.code) or {}).get("note", "")).strip()
    ]
    problems += sorted(set(decisions) - {item.code for item in items})
    return problems
