"""Screens: question sets that must be answered before the actions that depend on them are offered.

The questions of each screen and which actions wait for it are data (actions.toml ``[screens.*]`` and each
action's ``needs_screens``). Python only says WHEN a screen applies (the ``applies`` predicate ids below) and
whether a case path was answered. "Not assessed" never counts as "no red flag" (facts.md §6a step 1).
"""

from __future__ import annotations

from collections.abc import Callable

from .derived import Ctx
from .knowledge import Knowledge, ScreenDef

UPPER_BODY_SITES = ("neck", "shoulders", "face", "arms")


def _sites(c: Ctx) -> frozenset[str]:
    return c.case.episode.sites or frozenset()


def _neck_symptoms(c: Ctx) -> bool:
    return "neck" in _sites(c) or c.f("neck_pain_persistent") or c.f("neck_pain_progressive")


def _back_symptoms(c: Ctx) -> bool:
    return "back" in _sites(c) or c.f("back_pain_persistent")


def _upper_body_sites(c: Ctx) -> bool:
    return bool(_sites(c) & set(UPPER_BODY_SITES))


APPLIES: dict[str, Callable[[Ctx], bool]] = {
    "always": lambda c: True,
    "neck_symptoms": _neck_symptoms,
    "back_symptoms": _back_symptoms,
    "upper_body_sites": _upper_body_sites,
}


def screen_items(screen: ScreenDef, k: Knowledge) -> tuple[str, ...]:
    """The case paths a screen asks for (its own items, plus the 60-second screen findings if it includes them)."""
    items = list(screen.items)
    if screen.include_screen_findings:
        items += [f"findings.{code}" for code in k.screen_findings]
    return tuple(dict.fromkeys(items))


def answered(c: Ctx, path: str) -> bool:
    """Was this case path given at all? (A "no" answer counts as answered; an absent one does not.)"""
    section, _, key = path.partition(".")
    if section == "findings":
        return key in c.findings
    if section == "patient":
        return getattr(c.case.patient, key) is not None
    if section == "episode":
        return getattr(c.case.episode, key) is not None
    raise KeyError(f"screens cannot ask for '{path}'")


def open_screens(c: Ctx) -> dict[str, tuple[str, ...]]:
    """Every screen that applies to this case and still has unanswered questions, with those questions."""
    out: dict[str, tuple[str, ...]] = {}
    for code, screen in c.k.screens.items():
        if not APPLIES[screen.applies](c):
            continue
        unanswered = tuple(p for p in screen_items(screen, c.k) if not answered(c, p))
        if unanswered:
            out[code] = unanswered
    return out


def describe(c: Ctx, path: str) -> str:
    """A readable name for a screen question."""
    section, _, key = path.partition(".")
    if section == "findings" and key in c.k.findings:
        return c.k.findings[key].name.lower()
    return key.replace("_", " ")
