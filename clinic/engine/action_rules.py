"""What every action trigger shares: the registry, the per-evaluation state and the common predicates.

A trigger returns ``None`` (not indicated), a patient-specific ``why`` string, or ``(why, text_suffix)`` when
the action text itself must name something (e.g. which labs are missing). Triggers run in the order of
actions.toml, so a later trigger may look at what earlier ones decided (``st.fired``). What a trigger may NOT do
is decide which red flag overrides it, which screen it waits for or which treatment line it belongs to: those
are reviewed data in actions.toml (``suppressed_by``, ``suppressed_at``, ``needs_screens``, ``line``) applied
by ``actions.build_steps``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .derived import Ctx
from .knowledge import fmt_number
from .types import DrugVerdict, Trial

Result = str | tuple[str, str] | None
Trigger = Callable[[Ctx, "State"], Result]


@dataclass(slots=True)
class State:
    verdicts: dict[str, DrugVerdict]
    missing: tuple[str, ...]
    open_screens: dict[str, tuple[str, ...]] = field(default_factory=dict)  # screen -> unanswered case paths
    fired: dict[str, str] = field(default_factory=dict)  # action code -> why (actions in the plan)
    suppressed: dict[str, tuple[str, ...]] = field(default_factory=dict)  # action code -> red flags
    withheld: dict[str, tuple[str, ...]] = field(default_factory=dict)  # action code -> open screens

    def verdict(self, drug: str) -> str:
        v = self.verdicts.get(drug)
        return v.verdict if v is not None else "avoid"


TRIGGERS: dict[str, Trigger] = {}


def trigger(code: str) -> Callable[[Trigger], Trigger]:
    def deco(fn: Trigger) -> Trigger:
        TRIGGERS[code] = fn
        return fn

    return deco


def join(parts: list[str]) -> str:
    text = "; ".join(p for p in parts if p)
    return text[0].upper() + text[1:] if text else text


def cramp_like(c: Ctx) -> bool:
    return c.case.episode.kind in (None, "cramp", "spasm")


def serious_flags(c: Ctx) -> list[str]:
    return [code for code, (urgency, _) in c.flags.items() if urgency in ("emergency", "urgent")]


def recurrent(c: Ctx) -> bool:
    return c.hit("recurrent_episodes_4w", c.case.episode.episodes_last_4_weeks)


def late_in_session(c: Ctx) -> bool:
    """The episode came late in a dialysis session (minutes into the session / session length)."""
    e, session = c.case.episode, c.case.dialysis.session_minutes
    if e.timing != "during_dialysis" or e.minutes_into_session is None or not session:
        return False
    return c.hit("late_session_fraction", e.minutes_into_session / session)


def episode_text(c: Ctx) -> str:
    e = c.case.episode
    kind = e.kind or "episode"
    where = f" ({', '.join(sorted(e.sites))})" if e.sites else ""
    when = f", {fmt_number(e.minutes_into_session)} minutes into the session" if e.minutes_into_session else ""
    return f"{kind}{where} happening now during dialysis{when}"


def flag_titles(c: Ctx, codes: list[str]) -> str:
    return ", ".join(c.k.red_flags[x].title.lower() for x in codes)


def failed_trials(trials: tuple[Trial, ...] | None) -> list[Trial]:
    return [t for t in trials or () if t.failed]
