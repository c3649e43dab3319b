"""Which red-flag questions the wizard shows first for this episode. Each finding's ``ask_when`` conditions (in
clinic/knowledge/codes.toml) name the episode's sites, timing and kind, the patient's medicines and the time on
dialysis; the 60-second screen and any question already answered are always shown. This only orders the page:
a question not shown stays "not assessed", never "no"."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from clinic.engine import load_knowledge


def episode_facts(answers: Mapping[str, Any], patient: Any, today: dt.date) -> dict[str, set[str]]:
    """The conditions that hold for this workup, as ``{"site": {"neck"}, "medication": {...}, ...}``."""
    k = load_knowledge()
    episode = answers.get("episode", {})
    saved_medicines = answers.get("medications", {}).get("medications")
    medicines = set(saved_medicines if saved_medicines is not None else patient.medications or [])
    facts: dict[str, set[str]] = {
        "site": set(episode.get("sites", [])),
        "timing": {episode["timing"]} if episode.get("timing") else set(),
        "kind": {episode["kind"]} if episode.get("kind") else set(),
        "medication": medicines,
        "medication_group": {name for name, members in k.medication_groups.items() if medicines & set(members)},
        "vintage_under_years": set(),
        "vintage_over_years": set(),
    }
    started = getattr(patient, "dialysis_started", None)
    if started is not None:
        years = (today - started).days / 365.25
        for condition in {c for f in k.findings.values() for c in f.ask_when}:
            kind, _, value = condition.partition(":")
            if (kind == "vintage_under_years" and years < int(value)) or (
                kind == "vintage_over_years" and years > int(value)
            ):
                facts[kind].add(value)
    return facts


def shown_findings(answers: Mapping[str, Any], patient: Any, today: dt.date) -> set[str]:
    """The findings to show by default: the screen, anything answered, and those whose conditions hold."""
    facts = episode_facts(answers, patient, today)
    answered = set(answers.get("redflags", {}))
    shown = set()
    for code, finding in load_knowledge().findings.items():
        conditions = (c.partition(":") for c in finding.ask_when)
        if finding.screen or code in answered or any(value in facts.get(kind, set()) for kind, _, value in conditions):
            shown.add(code)
    return shown
