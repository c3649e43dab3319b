"""Care-plan actions: run every trigger, then apply the reviewed rules of actions.toml around it.

The triggers (one per action code, in ``actions_acute``, ``actions_review`` and ``actions_care``) say whether an
action is clinically indicated for the case. This module then applies, in this order and only from data:

1. ``suppressed_by`` / ``suppressed_at``: a raised red flag that conflicts with the action leaves it out
   (a seizure or disequilibrium plan never says "keep the blood flow and the session length");
2. ``drug``: a drug action is left out when the drug's verdict for this patient is "avoid", when the patient is
   already on it, or when a documented trial of it failed or is under way;
3. ``line``: a later-line drug only after a documented failed trial of an earlier-line drug (facts.md §6b);
4. ``needs_screens``: while a screen it depends on has unanswered questions the action is withheld ("not
   assessed" never satisfies "red flags excluded"), and the plan says so.

It also builds the nurse's "do now" list: the first actions of the emergency and urgent red flags and the
actions with a ``do_now`` entry, most urgent first, at most ``DO_NOW_MAX`` lines. Every emergency keeps its
line; any other item is dropped when what it does is already listed (``do_now_covers`` in redflags.toml).
"""

from __future__ import annotations

from . import actions_acute, actions_care, actions_review  # noqa: F401  (each registers its triggers)
from .action_rules import TRIGGERS, State, failed_trials
from .derived import Ctx
from .knowledge import ActionDef
from .types import Action, DoNow, RedFlag, Step

__all__ = ["DO_NOW_MAX", "TRIGGERS", "State", "build_do_now", "build_steps"]

DO_NOW_MAX = 5


def suppressing_flags(c: Ctx, definition: ActionDef) -> tuple[str, ...]:
    """The raised red flags that leave this action out (from its suppressed_by / suppressed_at data)."""
    return tuple(
        code
        for code, (urgency, _) in c.flags.items()
        if code in definition.suppressed_by or urgency in definition.suppressed_at
    )


def _drug_allowed(c: Ctx, st: State, definition: ActionDef) -> bool:
    drug = definition.drug
    if drug is None:
        return True
    if st.verdict(drug) == "avoid" or c.med(drug):
        return False
    tried = [t for t in c.case.previous_trials or () if t.drug == drug]
    if any(t.failed or t.outcome == "ongoing" for t in tried):
        return False
    if definition.line is not None and definition.line > 1:
        lines = drug_lines(c)
        return any(lines.get(t.drug, definition.line) < definition.line for t in failed_trials(c.case.previous_trials))
    return True


def drug_lines(c: Ctx) -> dict[str, int]:
    """drug code -> treatment line, from the pharmacotherapy actions' data."""
    return {a.drug: a.line for a in c.k.actions.values() if a.drug is not None and a.line is not None}


def build_steps(c: Ctx, st: State) -> tuple[Step, ...]:
    k = c.k
    by_step: dict[str, list[Action]] = {code: [] for code in k.steps}
    for code, definition in k.actions.items():
        fn = TRIGGERS.get(code)
        if fn is None:
            continue
        result = fn(c, st)
        if result is None:
            continue
        blocked = suppressing_flags(c, definition)
        if blocked:
            st.suppressed[code] = blocked
            continue
        if not _drug_allowed(c, st, definition):
            continue
        waiting = tuple(s for s in definition.needs_screens if s in st.open_screens)
        if waiting:
            st.withheld[code] = waiting
            continue
        why, suffix = result if isinstance(result, tuple) else (result, "")
        if definition.line is not None and definition.line > 1:
            failed = [k.drugs[t.drug].name for t in failed_trials(c.case.previous_trials) if t.drug in k.drugs]
            why += f"; line {definition.line}: documented failed trial of {', '.join(failed)}"
        st.fired[code] = why
        by_step[definition.step].append(
            Action(
                code=code,
                text=definition.text + suffix,
                why=why,
                who=definition.who,  # type: ignore[arg-type]
                evidence=definition.evidence,  # type: ignore[arg-type]
                sources=definition.sources,
                nurse_text=(definition.nurse_text + suffix) if definition.nurse_text else None,
            )
        )
    return tuple(
        Step(code=code, title=k.steps[code].title, actions=tuple(actions))
        for code, actions in by_step.items()
        if actions
    )


def build_do_now(c: Ctx, red_flags: tuple[RedFlag, ...], steps: tuple[Step, ...]) -> tuple[DoNow, ...]:
    """The nurse's immediate actions: at most DO_NOW_MAX one-line items, most urgent first, no repeats."""
    k = c.k
    flag_ranks = k.do_now_flag_ranks
    candidates: list[tuple[int, int, DoNow, frozenset[str]]] = []
    for i, flag in enumerate(red_flags):
        rank = flag_ranks.get(flag.urgency)
        if rank is None:
            continue
        covers = frozenset(k.red_flags[flag.code].do_now_covers)
        candidates.append((rank, i, DoNow(flag.code, f"{flag.title}: {flag.actions[0]}"), covers))
    order = {code: i for i, code in enumerate(k.actions)}
    for step in steps:
        for a in step.actions:
            dn = k.actions[a.code].do_now
            if dn is None or a.who != "nurse":
                continue
            text = f"{dn.text} ({a.why})" if dn.with_why else dn.text
            candidates.append((dn.rank, len(red_flags) + order[a.code], DoNow(a.code, text), frozenset({a.code})))
    candidates.sort(key=lambda t: (t[0], t[1]))
    out: list[DoNow] = []
    done: set[str] = set()
    seen_text: set[str] = set()
    emergencies = {f.code for f in red_flags if f.urgency == "emergency"}
    for _, _, item, covers in candidates:
        # every emergency keeps its own line; anything else is dropped once what it does is already listed
        repeated = bool(covers) and covers <= done and item.code not in emergencies
        if repeated or item.text in seen_text:
            continue
        done |= covers
        seen_text.add(item.text)
        out.append(item)
    return tuple(out[:DO_NOW_MAX])
