"""The patient handout: assembled only from the reviewed text blocks in clinic/knowledge/handout.toml,
selected by the plan's codes. A draft (unsigned) plan shows only nurse-scope advice."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

HANDOUT_FILE = Path(__file__).resolve().parents[1] / "knowledge" / "handout.toml"


@cache
def handout_text() -> Mapping[str, Any]:
    with HANDOUT_FILE.open("rb") as handle:
        return tomllib.load(handle)


@dataclass(frozen=True)
class Handout:
    title: str
    notice: str
    signed: bool
    intro: tuple[str, ...]
    team_changes: tuple[str, ...]
    home: tuple[str, ...]
    avoid: tuple[str, ...]
    emergency_intro: str
    emergency: tuple[str, ...]
    unit_intro: str
    unit: tuple[str, ...]


def _codes(plan: Mapping[str, Any]) -> list[str]:
    return [action["code"] for step in plan.get("steps", []) for action in step.get("actions", [])]


def build_handout(plan: Mapping[str, Any], signed: bool) -> Handout:
    text = handout_text()
    codes = _codes(plan)
    team = [text["team"][code]["text"] for code in codes if code in text["team"]] if signed else []
    home: list[str] = list(text["home"]["always"]["lines"])
    for code in codes:
        block = text["home"].get(code)
        if block and (signed or block.get("scope") == "nurse"):
            home.extend(line for line in block["lines"] if line not in home)
    emergency = list(text["help"]["always_emergency"])
    unit = list(text["help"]["always_unit"])
    for flag in plan.get("red_flags", []):
        lay = text["help"]["flags"].get(flag["code"])
        if lay is None:
            continue
        target = emergency if lay["go"] == "emergency" or flag.get("urgency") == "emergency" else unit
        if lay["text"] not in target:
            target.append(lay["text"])
    return Handout(
        title=text["meta"]["title"],
        notice=text["meta"]["signed_notice"] if signed else text["meta"]["draft_notice"],
        signed=signed,
        intro=tuple(text["intro"]["lines"]),
        team_changes=tuple(dict.fromkeys(team)),
        home=tuple(home),
        avoid=tuple(text["avoid"]["lines"]),
        emergency_intro=text["help"]["emergency_intro"],
        emergency=tuple(emergency),
        unit_intro=text["help"]["call_unit_intro"],
        unit=tuple(unit),
    )
