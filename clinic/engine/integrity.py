"""Cross-checks between the knowledge files, the contract and the Python implementation.

``check_integrity(k)`` returns a list of problems (empty = OK). It is run by the test-suite and can be run by a
Django system check at start-up.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import fields
from pathlib import Path

from .actions import TRIGGERS
from .contract import (
    ACTIONS,
    ANALYTES,
    CONDITIONS,
    DRUGS,
    FINDINGS,
    HARD_STOP_DRUGS,
    KINDS,
    MEDICATIONS,
    RED_FLAGS,
    SITES,
    STEPS,
    TIMINGS,
    URGENCIES,
)
from .drugs import STRICTNESS
from .factors import factor_exists
from .knowledge import Knowledge
from .lab_integrity import check_labs
from .medicine_names import check_medicine_names
from .redflags import RULES
from .screens import APPLIES
from .source_integrity import check_sources as check_reference_links
from .types import Episode, Patient

_ENGINE_DIR = Path(__file__).resolve().parent
_CALL = re.compile(r'(?:\.hit|\.value|\.lab_hit|\.t)\(\s*"([a-z0-9_]+)"|_lab_factor\("[a-z0-9_]+",\s*"([a-z0-9_]+)"')
_QUOTED = re.compile(r'["\']([a-z0-9_]+)["\']')


def _threshold_usage() -> tuple[set[str], set[str]]:
    """(ids quoted anywhere in the engine source, ids passed to threshold look-ups)."""
    quoted: set[str] = set()
    called: set[str] = set()
    for path in _ENGINE_DIR.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        quoted.update(_QUOTED.findall(text))
        called.update(a or b for a, b in _CALL.findall(text))
    return quoted, called


def _two_way(problems: list[str], what: str, declared: set[str], implemented: set[str]) -> None:
    for code in sorted(declared - implemented):
        problems.append(f"{what} '{code}' is declared in the knowledge files but has no Python implementation")
    for code in sorted(implemented - declared):
        problems.append(f"{what} '{code}' is implemented in Python but not declared in the knowledge files")


def _contract(problems: list[str], what: str, contract: tuple[str, ...], declared: set[str]) -> None:
    for code in contract:
        if code not in declared:
            problems.append(f"contract {what} '{code}' is not declared in the knowledge files")


HYPERTONIC_SALINE_HARD_CAP_ML = 20.0
_PATIENT_FIELDS = frozenset(f.name for f in fields(Patient))
_EPISODE_FIELDS = frozenset(f.name for f in fields(Episode))


def check_integrity(k: Knowledge) -> list[str]:
    problems: list[str] = []

    # contract codes are all declared
    _contract(problems, "red flag", RED_FLAGS, set(k.red_flags))
    _contract(problems, "action", ACTIONS, set(k.actions))
    _contract(problems, "step", STEPS, set(k.steps))
    _contract(problems, "drug", DRUGS, set(k.drugs))
    _contract(problems, "finding", FINDINGS, set(k.findings))
    _contract(problems, "condition", CONDITIONS, set(k.conditions))
    _contract(problems, "medication", MEDICATIONS, set(k.medications))
    _contract(problems, "analyte", ANALYTES, set(k.analytes))

    # TOML ids <-> Python implementation
    _two_way(problems, "red flag", set(k.red_flags), set(RULES))
    _two_way(problems, "action", set(k.actions), set(TRIGGERS))
    for code, drug in k.drugs.items():
        for rule in drug.tighten:
            if not factor_exists(rule.factor, k):
                problems.append(f"drug '{code}': tightening factor '{rule.factor}' has no implementation")
            if STRICTNESS[rule.verdict] <= STRICTNESS[drug.verdict] and drug.verdict != "avoid":
                problems.append(
                    f"drug '{code}': tightening factor '{rule.factor}' gives '{rule.verdict}', "
                    f"which is not stricter than the default '{drug.verdict}'"
                )
            if STRICTNESS[rule.verdict] < STRICTNESS[drug.verdict]:
                problems.append(f"drug '{code}': tightening factor '{rule.factor}' would loosen the verdict")
    for code in HARD_STOP_DRUGS:
        d = k.drugs.get(code)
        if d is not None and (not d.hard_stop or d.verdict != "avoid"):
            problems.append(f"drug '{code}' must be a hard stop with verdict 'avoid'")
    # facts.md §6a: any 23.4% NaCl volume above 20 mL is hard-blocked. A unit may lower the cap, never raise it.
    saline_cap = k.thresholds.get("hypertonic_saline_max_ml")
    if saline_cap is None or saline_cap.value > HYPERTONIC_SALINE_HARD_CAP_ML:
        problems.append(
            f"policy 'hypertonic_saline_max_ml' must exist and be at most {HYPERTONIC_SALINE_HARD_CAP_ML:g} mL "
            "(facts.md hard stop); a unit may only lower it"
        )
    for code, d in k.drugs.items():
        if d.hard_stop and d.verdict != "avoid":
            problems.append(f"drug '{code}': a hard stop must have verdict 'avoid'")
        if d.verdict != "avoid" and not d.dose:
            problems.append(f"drug '{code}': verdict '{d.verdict}' needs a dose text")

    check_rule_data(k, problems)

    # thresholds / policy numbers <-> code: every number is used, every looked-up id exists
    quoted, called = _threshold_usage()
    used = quoted | {p.split(".", 1)[1] for _, p in k.raw_placeholders}
    used |= {d.order.max_id for d in k.drugs.values() if d.order and d.order.max_id}
    for tid in sorted(set(k.thresholds) - used):
        problems.append(f"threshold/policy '{tid}' is not used by any rule or text")
    for tid in sorted(called - set(k.thresholds)):
        problems.append(f"the engine looks up threshold '{tid}', which is not in thresholds.toml or policy.toml")

    # medication groups only name known medications
    for group, members in k.medication_groups.items():
        for m in members:
            if m not in k.medications:
                problems.append(f"medication group '{group}' names unknown medication '{m}'")

    # lab thresholds: limits in every entered unit; badges never contradict a decision
    problems.extend(check_labs(k))

    # reference links: no bare IP addresses, no unmarked secondary hosts
    problems.extend(check_reference_links(k))

    # the free-text medicine-name table: known codes, resolvable sources, names without doses
    problems.extend(check_medicine_names(k))

    # evidence and sources everywhere; every source resolvable
    def check_sources(where: str, evidence: str, sources: tuple[str, ...]) -> None:
        if evidence not in ("V", "S", "U"):
            problems.append(f"{where}: evidence tag missing or invalid")
        if not sources:
            problems.append(f"{where}: no sources")
        for s in sources:
            if s not in k.references:
                problems.append(f"{where}: source '{s}' is not in references.toml")

    for code, a in k.actions.items():
        check_sources(f"action '{code}'", a.evidence, a.sources)
    for code, r in k.red_flags.items():
        check_sources(f"red flag '{code}'", r.evidence, r.sources)
        if not r.actions:
            problems.append(f"red flag '{code}': no required actions")
    for code, d in k.drugs.items():
        check_sources(f"drug '{code}'", d.evidence, d.sources)
    for tid, t in k.thresholds.items():
        check_sources(f"{t.source_file} '{tid}'", t.evidence, t.sources)

    # analytes: SI unit accepted, reference ranges inside plausibility bounds
    for code, analyte in k.analytes.items():
        for bound in (analyte.reference_low, analyte.reference_high):
            if bound is not None and not analyte.plausible_min <= bound <= analyte.plausible_max:
                problems.append(f"analyte '{code}': reference range outside the plausibility bounds")
    for code, f in k.findings.items():
        if f.group not in ("neurological", "spine", "cardiac", "electrolyte", "infection", "access", "other"):
            problems.append(f"finding '{code}': unknown group '{f.group}'")
        for condition in f.ask_when:
            if not _ask_when_ok(k, condition):
                problems.append(f"finding '{code}': ask_when condition '{condition}' is not understood")
    return problems


def _ask_when_ok(k: Knowledge, condition: str) -> bool:
    """One ``ask_when`` condition of a finding names a real episode answer, medicine, group or a year count."""
    kind, _, value = condition.partition(":")
    known: dict[str, Collection[str]] = {
        "site": SITES,
        "timing": TIMINGS,
        "kind": KINDS,
        "medication": k.medications,
        "medication_group": k.medication_groups,
    }
    if kind in known:
        return value in known[kind]
    if kind in ("vintage_under_years", "vintage_over_years"):
        return value.isdigit()
    return False


def _fires_when(problems: list[str], where: str, text: str) -> None:
    if not text.strip():
        problems.append(f"{where}: no 'fires_when' (one line saying when the rule fires)")
    elif "\n" in text:
        problems.append(f"{where}: 'fires_when' must be one line")


def check_rule_data(k: Knowledge, problems: list[str]) -> None:
    """The rule data around the triggers: conditions written out, and every reference resolvable."""
    for code, r in k.red_flags.items():
        _fires_when(problems, f"red flag '{code}'", r.fires_when)
        for covered in r.do_now_covers:
            if covered not in k.actions:
                problems.append(f"red flag '{code}': do_now_covers names unknown action '{covered}'")
    lines: dict[str, int] = {}
    for code, act in k.actions.items():
        _fires_when(problems, f"action '{code}'", act.fires_when)
        for flag in act.suppressed_by:
            if flag not in k.red_flags:
                problems.append(f"action '{code}': suppressed_by names unknown red flag '{flag}'")
        for urgency in act.suppressed_at:
            if urgency not in URGENCIES:
                problems.append(f"action '{code}': suppressed_at names unknown urgency '{urgency}'")
        for screen in act.needs_screens:
            if screen not in k.screens:
                problems.append(f"action '{code}': needs_screens names unknown screen '{screen}'")
        for analyte in act.orders:
            if analyte not in k.analytes:
                problems.append(f"action '{code}': orders unknown analyte '{analyte}'")
        if act.do_now is not None and act.who != "nurse":
            problems.append(f"action '{code}': only nurse actions can be in the 'do now' list")
        if act.drug is not None and act.drug not in k.drugs:
            problems.append(f"action '{code}': drug '{act.drug}' is not in drugs.toml")
        if act.step == "pharmacotherapy" and act.drug is not None and not act.needs_screens:
            problems.append(f"action '{code}': a drug trial must wait for the red-flag screen (needs_screens)")
        if act.line is not None:
            if act.drug is None:
                problems.append(f"action '{code}': a treatment line needs a drug")
            else:
                lines[act.drug] = act.line
    for line in sorted(set(lines.values())):
        if line > 1 and not any(v < line for v in lines.values()):
            problems.append(f"treatment line {line} has no earlier line to fail first")
    if "red_flag_60s" not in k.screens or not k.screens["red_flag_60s"].include_screen_findings:
        problems.append("screen 'red_flag_60s' must exist and include the 60-second screen findings")
    for code, sc in k.screens.items():
        if sc.applies not in APPLIES:
            problems.append(f"screen '{code}': unknown 'applies' predicate '{sc.applies}'")
        _fires_when(problems, f"screen '{code}'", sc.fires_when)
        for path in sc.items:
            section, _, key = path.partition(".")
            known = (
                (section == "findings" and key in k.findings)
                or (section == "patient" and key in _PATIENT_FIELDS)
                or (section == "episode" and key in _EPISODE_FIELDS)
            )
            if not known:
                problems.append(f"screen '{code}': unknown question '{path}'")
    for urgency in k.do_now_flag_ranks:
        if urgency == "soon":
            problems.append("do_now_flags: 'soon' red flags are not immediate actions")
