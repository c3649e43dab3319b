"""The care plan page at a glance: below the do-now card every section is folded behind a one-line summary
("Medicines: 2 to avoid, 1 caution"), except a section that holds an emergency or a hard stop for this patient,
which is never folded. For a nurse the medicines section lists only the avoid/caution verdicts for the patient's
own medicines (the full drug table one tap away). Works on ``presenters.plan_view``'s output; no database access.

The printed plan does not use any of this: print shows everything.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from clinic.workups.presenters import describe_missing

URGENCIES = ("emergency", "urgent", "soon")
VERDICTS = (("avoid", "to avoid"), ("caution", "caution"), ("usable", "usable"))
SHORT_LABELS = {"Weight gain since last session (IDWG)": "IDWG"}
LEVELS = {"high": "high", "warn": "raised"}


START_MAX = 5  # lines on the do-now card (the engine's nurse list is already at most this long)


@dataclass(frozen=True)
class Section:
    summary: str  # one line, shown while the section is folded
    alarm: bool = False  # holds an emergency or a hard stop for this patient: never folded, marked red
    open: bool = False  # never folded for another reason (a nurse's own-medicine list is the glance itself)

    @property
    def pinned(self) -> bool:
        return self.alarm or self.open


def plan_glance(plan: Mapping[str, Any], view: Mapping[str, Any], role: str | None) -> dict[str, Any]:
    """Per section of the plan page its one-line summary and whether it is pinned open; the nurse's own-medicine
    verdicts; the hard-stop drugs, named in the medicines summary whether or not the table is open."""
    nurse = role == "nurse"
    drugs = list(view["drugs"])
    meds_assessed = "medications" not in plan.get("missing", [])
    on_hard_stop = any(d.get("hard_stop") and d.get("on_medication_list") for d in drugs)
    # The patient's own avoid/caution verdicts: the nurse's view of the medicines; for anyone else only shown (above
    # the table, which is then one tap away) when a hard stop on the list keeps the section open.
    shows_own = nurse or on_hard_stop
    own = [own_medicine(d) for d in drugs if shows_own and d.get("on_medication_list") and needs_attention(d)]
    drug_summary = own_summary(own, meds_assessed) if nurse else table_summary(drugs)
    start, start_title = list(view["start_here"]), view["start_title"]
    if not nurse and flag_lines(view["flags"]):  # the engine's do-now list leads with the red flags; decisions do not
        start = [*flag_lines(view["flags"]), *start]
        start_title = "Prescription and drug decisions, after the red flags"
    return {
        "start_here": start[:START_MAX],
        "start_title": start_title,
        "start_more": max(len(start) - START_MAX, 0),
        "flags": flags_section(view["flags"]),
        "steps": steps_section(view["steps"]),
        # a nurse's list is a few lines with the table one tap away, so it is not folded itself
        "drugs": Section(drug_summary, alarm=on_hard_stop, open=nurse),
        "derived": derived_section(view),
        "missing": missing_section(view["missing_groups"], view["warnings"]),
        "own_drugs": own,
        "shows_own": shows_own,
        "meds_assessed": meds_assessed,
        "hard_stops": [d["name"] for d in drugs if d.get("hard_stop")],
        "nurse": nurse,
    }


def flag_lines(flags: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Emergency and urgent red flags as do-now lines for a prescriber: an emergency's title and first action, an
    urgent flag's title (its actions are one tap away in the red flags section)."""
    return [
        {
            "shown_text": f"{flag['title']}: {flag['actions'][0]}"
            if urgency == "emergency" and flag["actions"]
            else flag["title"],
            "who": urgency,
        }
        for urgency in URGENCIES[:2]
        for flag in flags
        if flag["urgency"] == urgency
    ]


def counted(counts: Counter[str], labels: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(f"{counts[key]} {label}" for key, label in labels if counts[key])


def flags_section(flags: list[Mapping[str, Any]]) -> Section:
    if not flags:
        return Section("none raised by the answers given")
    counts = Counter(flag["urgency"] for flag in flags)
    parts = []
    for urgency in URGENCIES:
        titles = [flag["title"] for flag in flags if flag["urgency"] == urgency]
        if titles:  # every raised flag's title shows even while the section is folded
            parts.append(f"{len(titles)} {urgency}: {', '.join(titles)}")
    return Section("; ".join(parts) or f"{len(flags)} raised", alarm=counts["emergency"] > 0)


def steps_section(steps: list[Mapping[str, Any]]) -> Section:
    who = Counter(action["who"] for step in steps for action in step["actions"])
    total = sum(who.values())
    if not total:
        return Section("no action")
    parts = counted(who, (("nurse", "for the nurse"), ("nephrologist", "for the nephrologist")))
    plural = "s" if total != 1 else ""
    return Section(f"{total} action{plural} in {len(steps)} step{'s' if len(steps) != 1 else ''}: {parts}")


def needs_attention(drug: Mapping[str, Any]) -> bool:
    """Avoid or caution, or a verdict some of whose inputs were not assessed (shown as such, never hidden)."""
    return drug["verdict"] in {"avoid", "caution"} or bool(drug.get("not_assessed"))


def own_medicine(drug: Mapping[str, Any]) -> dict[str, Any]:
    return {**drug, "not_assessed_text": [describe_missing(item) for item in drug.get("not_assessed") or ()]}


def own_summary(own: list[Mapping[str, Any]], meds_assessed: bool) -> str:
    if not meds_assessed:
        return "not assessed: no medication list was given"
    counts = Counter(d["verdict"] for d in own if d["verdict"] in {"avoid", "caution"})
    unassessed = sum(1 for d in own if d["not_assessed_text"])
    parts = [p for p in (counted(counts, VERDICTS[:2]), f"{unassessed} not fully assessed" if unassessed else "") if p]
    if not parts:
        return "none of this patient's medicines is to avoid or use with caution"
    return ", ".join(parts) + " among this patient's medicines"


def table_summary(drugs: list[Mapping[str, Any]]) -> str:
    return counted(Counter(d["verdict"] for d in drugs), VERDICTS) or "no drug verdict"


def derived_section(view: Mapping[str, Any]) -> Section:
    parts = []
    for d in view["derived"]:
        name = SHORT_LABELS.get(d.label, d.label)
        if d.value is None:
            parts.append(f"{name} not calculated")
        else:
            unit = "%" if d.unit.startswith("%") else d.unit
            value = f"{round(d.value, 1):g}"  # 10.7, and 10 rather than 10.0
            parts.append(f"{name} {value} {unit}" + (f" ({LEVELS[d.level]})" if d.level in LEVELS else ""))
    labs = view["labs_si"]
    if labs:
        off = sum(1 for lab in labs if lab["badge"] in {"low", "high"})
        results = f"{len(labs)} lab result{'s' if len(labs) != 1 else ''}"
        parts.append(results + (f", {off} out of range" if off else ""))
    return Section("; ".join(parts))


def missing_section(groups: list[tuple[str, list[str]]], warnings: list[str]) -> Section:
    total = sum(len(names) for _title, names in groups)
    summary = "nothing the rules need is missing"
    if total:
        by_group = ", ".join(f"{title.lower()} {len(names)}" for title, names in groups)
        summary = f"{total} not assessed ({by_group})"
    if warnings:
        summary += f"; {len(warnings)} warning{'s' if len(warnings) != 1 else ''}"
    return Section(summary)
