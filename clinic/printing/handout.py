"""The patient handout: assembled only from the reviewed text blocks in clinic/knowledge/handout.toml, selected by
the plan's codes, the nephrologist's decisions, the case (sites, medicines) and the unit's settings.

A draft (unsigned) plan shows only nurse-scope advice. A signed plan adds the team's changes the nephrologist
accepted (a declined recommendation never reaches the patient). A patient already on baclofen is told not to stop
it on their own, never only to keep away from it."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

HANDOUT_FILE = Path(__file__).resolve().parents[1] / "knowledge" / "handout.toml"
LOCALES = ("en-GB", "en-US")
STRETCH_ORDER = ("neck", "shoulder", "back", "hand", "thigh", "calf", "foot")


@cache
def handout_text() -> Mapping[str, Any]:
    with HANDOUT_FILE.open("rb") as handle:
        return tomllib.load(handle)


@dataclass(frozen=True)
class UnitInfo:
    """What the handout prints about the patient's unit (from Unit settings)."""

    name: str = ""
    phone: str = ""
    hours: str = ""
    locale: str = "en-GB"


@dataclass(frozen=True)
class Handout:
    title: str
    notice: str
    signed: bool
    headings: Mapping[str, str]
    intro: tuple[str, ...]
    team_changes: tuple[str, ...]
    home: tuple[str, ...]
    stretch_intro: str
    stretches: tuple[str, ...]
    next_steps: tuple[str, ...]
    baclofen: tuple[str, ...]
    avoid_intro: str
    avoid: tuple[str, ...]
    avoid_outro: str
    emergency_intro: str
    emergency: tuple[str, ...]
    unit_intro: str
    unit: tuple[str, ...]
    unit_contact: tuple[str, ...]
    locale: str

    def lines(self) -> list[str]:
        """Every sentence the patient reads (for the reading-grade tests)."""
        return [
            *self.intro,
            *self.team_changes,
            *self.home,
            self.stretch_intro if self.stretches else "",
            *self.stretches,
            *self.next_steps,
            *self.baclofen,
            self.avoid_intro,
            *self.avoid,
            self.avoid_outro,
            self.emergency_intro,
            *self.emergency,
            self.unit_intro,
            *self.unit,
            *self.unit_contact,
        ]


def plan_actions(plan: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [action for step in plan.get("steps", []) for action in step.get("actions", [])]


def accepted_codes(plan: Mapping[str, Any], decisions: Mapping[str, Any] | None) -> set[str]:
    """The recommendations that count for the patient: nurse-scope ones always; nephrologist-scope ones only if
    accepted. ``decisions`` None (a plan signed before per-item decisions) keeps every recommendation."""
    if decisions is None:
        return {action["code"] for action in plan_actions(plan)}
    return {
        action["code"]
        for action in plan_actions(plan)
        if action.get("who") != "nephrologist" or (decisions.get(action["code"]) or {}).get("decision") == "accepted"
    }


def stretch_sites(sites: Iterable[str]) -> list[str]:
    table = handout_text()["sites"]
    wanted = {block for site in sites for block in table.get(site, [])}
    return [site for site in STRETCH_ORDER if site in wanted]


def takes_baclofen(plan: Mapping[str, Any], case: Mapping[str, Any] | None) -> bool:
    on_list = any(d.get("drug") == "baclofen" and d.get("on_medication_list") for d in plan.get("drugs", []))
    return on_list or "baclofen" in ((case or {}).get("medications") or [])


def _localise(text: str, words: Mapping[str, str]) -> str:
    for old in sorted(words, key=len, reverse=True):
        text = text.replace(old, words[old])
    return text


def build_handout(
    plan: Mapping[str, Any],
    signed: bool,
    *,
    decisions: Mapping[str, Any] | None = None,
    case: Mapping[str, Any] | None = None,
    unit: UnitInfo | None = None,
) -> Handout:
    text = handout_text()
    unit = unit or UnitInfo()
    locale = unit.locale if unit.locale in LOCALES else "en-GB"
    words = text["locale"][locale].get("words", {})
    codes = [action["code"] for action in plan_actions(plan)]
    accepted = accepted_codes(plan, decisions if signed else None)
    nurse_scope = {a["code"] for a in plan_actions(plan) if a.get("who") != "nephrologist"}
    usable = accepted if signed else nurse_scope

    team = [text["team"][code]["text"] for code in codes if code in text["team"] and code in accepted] if signed else []
    home: list[str] = list(text["home"]["always"]["lines"])
    for code in codes:
        block = text["home"].get(code)
        if block and code in usable and (signed or block.get("scope") == "nurse"):
            home.extend(line for line in block["lines"] if line not in home)
    sites = ((case or {}).get("episode") or {}).get("sites") or []
    stretches = [line for site in stretch_sites(sites) for line in text["stretch"][site]["lines"]]
    next_steps = list(dict.fromkeys(text["next"][code] for code in codes if code in text["next"] and code in usable))

    baclofen_user = takes_baclofen(plan, case)
    avoid_items = dict(text["avoid"]["items"])
    if baclofen_user:
        avoid_items.pop("baclofen")  # said in its own section: keep taking it until the team lowers it
    emergency = list(text["help"]["always_emergency"])
    unit_lines = list(text["help"]["always_unit"])
    for flag in plan.get("red_flags", []):
        lay = text["help"]["flags"].get(flag["code"])
        if lay is None:
            continue
        target = emergency if lay["go"] == "emergency" or flag.get("urgency") == "emergency" else unit_lines
        if lay["text"] not in target:
            target.append(lay["text"])
    contact = [text["unit"]["phone"].format(phone=unit.phone)] if unit.phone else [text["unit"]["no_phone"]]
    if unit.hours:
        contact.append(text["unit"]["hours"].format(hours=unit.hours))

    def local(lines: Iterable[str]) -> tuple[str, ...]:
        return tuple(_localise(line, words) for line in lines)

    meta = text["meta"]
    headings = {key: _localise(value, words) for key, value in meta.items() if key.endswith("_heading")}
    return Handout(
        title=meta["title"],
        notice=meta["signed_notice"] if signed else meta["draft_notice"],
        signed=signed,
        headings=headings,
        intro=local(text["intro"]["lines"]),
        team_changes=local(dict.fromkeys(team)),
        home=local(home),
        stretch_intro=meta["stretch_intro"],
        stretches=local(stretches),
        next_steps=local(next_steps),
        baclofen=local(text["baclofen"]["lines"]) if baclofen_user else (),
        avoid_intro=text["avoid"]["intro"],
        avoid=local(avoid_items.values()),
        avoid_outro=text["avoid"]["outro"],
        emergency_intro=text["locale"][locale]["emergency_intro"],
        emergency=local(emergency),
        unit_intro=_localise(text["help"]["call_unit_intro"], words),
        unit=local(unit_lines),
        unit_contact=local(contact),
        locale=locale,
    )
