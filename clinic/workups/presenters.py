"""Turn engine output (plan dicts) into what pages show: role-ordered sections, derived values with the
thresholds they cross, lab conversions, the wizard steps' extras. No database access here. Answers and people as
the reader sees them are in readable.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from clinic.core import codes
from clinic.engine import CarePlan, load_knowledge
from clinic.engine.derived import IDWG_BANDS, UF_RATE_BANDS
from clinic.engine.input_names import input_name
from clinic.engine.medicine_names import search_medicines
from clinic.engine.units import UnitError, check_plausible, classify, format_si, from_si, to_si

NEPHROLOGIST_FIRST = ("prescription", "electrolytes", "medications", "pharmacotherapy")
URGENCY_CLASS = {"emergency": "danger", "urgent": "warning", "soon": "info"}


@dataclass(frozen=True)
class DerivedValue:
    label: str
    value: float | None
    unit: str
    crossed: str | None  # the label of the highest threshold crossed, if any
    level: str  # "ok" | "warn" | "high" | "missing"


def derived_values(derived: Mapping[str, Any]) -> list[DerivedValue]:
    """UF rate and IDWG with the band the engine already computed, and the threshold that band stands for."""
    k = load_knowledge()
    rows = []
    for key, band_key, label, unit, bands in (
        ("uf_rate_ml_kg_h", "uf_rate_band", "UF rate", "mL/kg/h", UF_RATE_BANDS),
        ("idwg_percent", "idwg_band", "Weight gain since last session (IDWG)", "% of dry weight", IDWG_BANDS),
    ):
        value, band = derived.get(key), derived.get(band_key)
        crossed, level = None, "missing" if value is None else "ok"
        tid = dict(bands).get(band or "")
        if value is not None and tid is not None:
            threshold = k.t(tid)
            crossed = f"{threshold.label}: {threshold.text}"
            level = "high" if band == bands[0][0] else "warn"
        rows.append(DerivedValue(label, value, unit, crossed, level))
    return rows


def banner_flags(plan: CarePlan | None) -> list[dict[str, str]]:
    """The red flags raised so far, for the wizard's banner: straight from the engine's plan, nothing else."""
    if plan is None:
        return []
    return [
        {"code": f.code, "urgency": f.urgency, "title": f.title, "css": URGENCY_CLASS.get(f.urgency, "secondary")}
        for f in plan.red_flags
    ]


def plan_view(plan: Mapping[str, Any], role: str | None) -> dict[str, Any]:
    """Everything the care plan page needs, ordered for the viewer's role (the plan JSON itself is unchanged)."""
    k = load_knowledge()
    steps = []
    for step in plan.get("steps", []):
        actions = [
            {
                **action,
                "shown_text": (action.get("nurse_text") or action["text"]) if role == "nurse" else action["text"],
            }
            for action in step["actions"]
        ]
        steps.append({**step, "actions": actions})
    flags = [{**flag, "css": URGENCY_CLASS.get(flag["urgency"], "secondary")} for flag in plan.get("red_flags", [])]
    if role == "nurse" and "do_now" in plan:  # the engine's list: at most 5 lines, most urgent first
        start_here = [{"shown_text": item["text"], "who": "nurse", "code": item["code"]} for item in plan["do_now"]]
        start_title = "What you can do now (most urgent first)"
    elif role == "nurse":  # a plan saved before the engine made the list
        start_here = [a for s in steps for a in s["actions"] if a["who"] == "nurse"]
        start_title = "What you can do now (within standing orders)"
    else:
        start_here = [
            a for s in steps if s["code"] in NEPHROLOGIST_FIRST for a in s["actions"] if a["who"] == "nephrologist"
        ]
        start_title = "Prescription and drug decisions"
    drugs = [
        {
            **drug,
            "name": drug.get("name") or k.drug_names.get(drug["drug"], drug["drug"]),
        }
        for drug in plan.get("drugs", [])
    ]
    if role != "nurse":
        drugs.sort(key=lambda d: {"avoid": 0, "caution": 1, "usable": 2}.get(d["verdict"], 3))
    derived = plan.get("derived", {})
    labs_si = [
        {
            "name": codes.analyte_name(code),
            "text": format_si(code, value),
            # the engine's badge, decided on the unit the value was entered in; older plans did not store it
            "badge": derived.get("lab_flags", {}).get(code) or classify(code, value),
        }
        for code, value in derived.get("labs_si", {}).items()
    ]
    return {
        "flags": flags,
        "steps": steps,
        "start_here": start_here,
        "start_title": start_title,
        "drugs": drugs,
        "derived": derived_values(derived),
        "corrected_calcium": derived.get("corrected_calcium_mmol_l"),
        "labs_si": labs_si,
        "missing": [describe_missing(item) for item in plan.get("missing", [])],
        "missing_groups": missing_groups(list(plan.get("missing", []))),
        "warnings": plan.get("warnings", []),
        "input_checks": plan.get("input_checks", []),
    }


def missing_groups(items: list[str]) -> list[tuple[str, list[str]]]:
    """Missing inputs grouped for a compact printout: [("Labs", ["Magnesium", ...]), ...]."""
    k = load_knowledge()
    groups: dict[str, list[str]] = {}
    for item in items:
        section = item.partition(".")[0]
        groups.setdefault(MISSING_TITLES.get(section, section.capitalize()), []).append(input_name(item, k))
    return list(groups.items())


MISSING_TITLES = {
    "labs": "Labs",
    "findings": "Red-flag questions",
    "dialysis": "Dialysis",
    "vitals": "Vital signs",
    "patient": "Patient",
    "episode": "Episode",
    "medications": "Medicines",
    "previous_trials": "Medicines",
}
MISSING_PREFIX = MISSING_TITLES | {"labs": "Lab", "findings": "Red-flag question"}


def describe_missing(item: str) -> str:
    """One line of the plan's "what is missing" list, in words: "Dialysis: Dialysate temperature"."""
    section = item.partition(".")[0]
    if section == "previous_trials":
        return "Medicines: drug trials already tried for the cramps (and how they ended)"
    return f"{MISSING_PREFIX.get(section, section.capitalize())}: {input_name(item, load_knowledge())}"


@dataclass(frozen=True)
class LabPreview:
    text: str
    badge: str | None
    error: str | None


def lab_preview(analyte: str, raw_value: str, unit: str) -> LabPreview:
    if not raw_value.strip():
        return LabPreview("", None, None)
    try:
        value = float(raw_value.replace(",", "."))
        si = to_si(analyte, value, unit)
    except (ValueError, UnitError) as exc:
        message = str(exc) if isinstance(exc, UnitError) else "Enter a number."
        return LabPreview("", None, message[:1].upper() + message[1:])
    problem = check_plausible(analyte, si, entered_value=value, entered_unit=unit)
    if problem:
        return LabPreview("", None, problem[:1].upper() + problem[1:])
    analyte_def = load_knowledge().analytes[analyte]
    others = []
    for unit_def in analyte_def.units:
        other = unit_def.unit
        if other in {unit, analyte_def.si_unit} or unit_def.to_si == 1.0:
            continue  # the same number under another name (mEq/L for potassium, ug/L for µg/L) adds nothing
        try:
            others.append(f"{from_si(analyte, si, other):.{max(analyte_def.decimals, 1)}f} {other}")
        except UnitError:
            continue
    text = " = ".join([format_si(analyte, si), *others])
    return LabPreview(text, classify(analyte, si, entered_value=value, entered_unit=unit), None)


def lab_rows(form: Any, recent: Mapping[str, Any], fresh_days: int, now: dt.datetime) -> list[tuple[Any, ...]]:
    """The labs step's table: per analyte its value, unit and time fields, the latest result on file, whether
    that result is older than the unit's freshness window (stale: shown, marked, not in "Use all"), and an
    optional second result taken after dialysis."""
    cutoff = now - dt.timedelta(days=fresh_days)
    rows = []
    for code, name in form.rows:
        last = recent.get(code)
        stale = last is not None and last.taken_at < cutoff
        rows.append(
            (
                code,
                name,
                form[f"{code}__value"],
                form[f"{code}__unit"],
                form[f"{code}__when"],
                last,
                stale,
                form[f"{code}__post_value"],
            )
        )
    return rows


def titled_acknowledgements(acknowledgements: Iterable[Any]) -> list[Any]:
    """Emergency acknowledgements with the red flag's title (its code if the knowledge no longer has it)."""
    red_flags = load_knowledge().red_flags
    titled = list(acknowledgements)
    for ack in titled:
        ack.title = red_flags[ack.code].title if ack.code in red_flags else ack.code
    return titled


def redflag_layout(form: Any, shown: set[str]) -> dict[str, Any]:
    """The red-flag step's groups: those relevant to this episode (plus anything answered) shown, the rest
    behind one "more questions" tap."""
    shown = shown | form.answered()
    hidden = set(load_knowledge().findings) - shown
    more = form.groups(hidden) if hidden else []
    return {"groups": form.groups(shown), "more": more, "more_count": len(hidden)}


@dataclass(frozen=True)
class WeightNote:
    recorded_kg: float | None  # the patient's current dry weight
    set_on: dt.date | None
    target_kg: float | None  # as typed on the dialysis step
    differs: bool


def weight_note(patient: Any, raw_target: object) -> WeightNote:
    """The recorded dry weight beside the session's target, and whether they differ (shown as a warning)."""
    recorded = float(patient.dry_weight_kg) if patient.dry_weight_kg is not None else None
    try:
        target: float | None = float(str(raw_target).replace(",", "."))
    except ValueError:
        target = None
    differs = recorded is not None and target is not None and abs(recorded - target) >= 0.05
    return WeightNote(recorded, patient.dry_weight_set_on, target, differs)


def medicine_chips(form: Any) -> list[tuple[str, str]]:
    """The medicines chosen on the medicines step, as (code, name) chips in the order given."""
    names = load_knowledge().medications
    value = form["medications"].value() or []
    return [(code, names[code]) for code in dict.fromkeys(value) if code in names]


def medicine_search(query: str) -> dict[str, Any]:
    """Type-ahead results: (code, the name matched, the medicine's own name), best first."""
    names = load_knowledge().medications
    hits = search_medicines(query, limit=8) if query else []
    return {"results": [(code, shown, names.get(code, code)) for code, shown in hits]}
