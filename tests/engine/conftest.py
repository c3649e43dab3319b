"""Django-free fixtures and case builders for the engine tests."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from clinic.engine import CarePlan, Knowledge, evaluate, load_knowledge
from tests.cases import baseline_case

# A complete, unremarkable case: every needed input present, nothing abnormal, no red flag. The one baseline the
# engine tests, the web tests and the benchmark share (tests/fixtures/baseline_case.json).
BASE: dict[str, Any] = baseline_case()
SCREEN_FINDINGS = tuple(BASE["findings"])

# A documented failed first-line trial: opens the second and third treatment lines (facts.md §6b).
FAILED_VITAMIN_E: list[dict[str, Any]] = [{"drug": "vitamin_e", "outcome": "no_benefit", "weeks": 10}]
# The spine (cord, spondyloarthropathy) and coronary questions, all answered "no": with neck, back or upper-body
# symptoms every drug trial waits for them.
SPINE_AND_CARDIAC_NO: dict[str, bool] = dict.fromkeys(
    (
        "neck_pain_persistent",
        "neck_pain_progressive",
        "back_pain_persistent",
        "hand_clumsiness",
        "gait_change",
        "hyperreflexia_or_clonus",
        "sphincter_change",
        "dyspnoea",
        "diaphoresis",
    ),
    False,
)

_DROP = object()


def make_case(
    overrides: dict[str, Any] | None = None,
    labs: dict[str, Any] | None = None,
    findings: dict[str, bool] | None = None,
    meds: list[str] | None = None,
    conditions: list[str] | None = None,
    drop: list[str] | None = None,
) -> dict[str, Any]:
    """Copy BASE and apply changes.

    overrides: {"patient.age_years": 70, "dialysis.uf_volume_ml": 3640}
    labs: {"potassium": 6.5} (SI) or {"magnesium": (1.7, "mg/dL")} or {"magnesium": None} to remove
    findings: {"seizure": True}; meds / conditions replace the lists; drop: dotted paths to delete.
    """
    case = copy.deepcopy(BASE)
    for path, value in (overrides or {}).items():
        section, _, key = path.partition(".")
        if key:
            case.setdefault(section, {})[key] = value
        else:
            case[section] = value
    for analyte, value in (labs or {}).items():
        case["labs"] = [lab for lab in case["labs"] if lab["analyte"] != analyte]
        if value is None:
            continue
        if isinstance(value, tuple):
            v, unit = value
        else:
            v, unit = value, load_knowledge().analytes[analyte].si_unit
        case["labs"].append({"analyte": analyte, "value": v, "unit": unit, "when": "pre_dialysis"})
    if findings:
        case["findings"].update(findings)
    if meds is not None:
        case["medications"] = meds
    if conditions is not None:
        case["patient"]["conditions"] = conditions
    for path in drop or []:
        section, _, key = path.partition(".")
        if key:
            case.get(section, {}).pop(key, None)
        else:
            case.pop(section, None)
    _keep_base_consistent(case, overrides or {})
    return case


def _keep_base_consistent(case: dict[str, Any], overrides: dict[str, Any]) -> None:
    """BASE's own episode timing details and vintage follow an override that would contradict them (the engine
    refuses contradictions, issue 17 point 7); an explicit override of the detail itself always wins."""
    episode, patient = case.get("episode", {}), case.get("patient", {})
    timing = episode.get("timing")
    if timing in ("after_dialysis", "between_sessions") and "episode.minutes_into_session" not in overrides:
        episode.pop("minutes_into_session", None)
    if timing == "between_sessions" and "episode.ongoing" not in overrides and episode.get("ongoing") is True:
        episode["ongoing"] = False
    if "patient.sessions_completed" in overrides and "patient.dialysis_vintage_months" not in overrides:
        sessions = overrides["patient.sessions_completed"]
        if isinstance(sessions, int) and sessions < 300:
            patient["dialysis_vintage_months"] = sessions // 13  # thrice weekly


def plan_for(**kwargs: Any) -> CarePlan:
    return evaluate(make_case(**kwargs))


def actions(plan: CarePlan) -> set[str]:
    return set(plan.action_codes())


def flags(plan: CarePlan) -> dict[str, str]:
    return {r.code: r.urgency for r in plan.red_flags}


def action(plan: CarePlan, code: str) -> Any:
    for s in plan.steps:
        for a in s.actions:
            if a.code == code:
                return a
    raise KeyError(code)


@pytest.fixture(scope="session")
def k() -> Knowledge:
    return load_knowledge()
