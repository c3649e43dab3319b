"""Turn untrusted JSON-like data into a ``Case`` or report EVERY problem at once.

Rules (contract v1):
- ``schema`` is required and must be "chairside.case/1".
- Unknown keys anywhere are errors (a misspelt finding must not pass silently as "not assessed").
- JSON ``null`` for an optional field means "not assessed" (the same as leaving it out).
- Numbers must be real numbers: booleans, strings, NaN and infinity are rejected; integer fields accept 3.0.
- Lab values are converted to SI and checked against physiological plausibility bounds (analytes.toml).
- The same analyte entered twice with the same ``when`` is an error (the engine will not guess which value to
  use); a pre-dialysis and a post-dialysis value of one analyte are both kept (readings.py says which rule
  reads which).
- Medication entries may be codes or free text (brand or generic names, with doses, salts, routes and
  frequencies, small spelling slips): medicine_names.py maps them to codes. Names it cannot map are accepted
  and reported as plan warnings, never dropped.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from .contract import ACCESS, BUFFERS, CASE_SCHEMA, FLUX, HEPATIC, KINDS, LAB_WHEN, SEXES, SITES, TIMINGS
from .knowledge import Knowledge, fmt_number, load_knowledge, normalise_unit
from .medicine_names import match_medicines
from .readings import WHEN_LABELS
from .trials import parse_trials
from .types import Case, Dialysis, Episode, Lab, Patient, Vitals
from .units import UnitError, check_plausible, to_si, unit_hint

MAX_LIST = 200
MAX_STR = 200
# The oldest age Chairside accepts. The youngest is the knowledge base's `adult_age` threshold (18). Both are used
# by the engine (patient.age_years), the patient form and FHIR import, through age_problem().
MAX_AGE_YEARS = 120


class CaseError(ValueError):
    """The case is invalid. ``errors`` lists every problem as {"field": path, "message": text}."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]))


@dataclass(frozen=True, slots=True)
class Num:
    label: str
    lo: float
    hi: float
    integer: bool = False
    unit: str = ""
    hint: str = ""


@dataclass(frozen=True, slots=True)
class Bool:
    label: str


@dataclass(frozen=True, slots=True)
class Enum:
    label: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EnumList:
    label: str
    values: tuple[str, ...]


Spec = Num | Bool | Enum | EnumList

PATIENT: dict[str, Spec] = {
    "age_years": Num("age", 0, MAX_AGE_YEARS, unit="years"),
    "sex": Enum("sex", SEXES),
    "dialysis_vintage_months": Num("time on dialysis", 0, 720, unit="months"),
    "sessions_completed": Num("sessions completed", 0, 20000, integer=True),
    "dry_weight_kg": Num("dry weight", 20, 300, unit="kg"),
    "diabetes": Bool("diabetes"),
    "residual_urine_ml_per_day": Num("residual urine", 0, 5000, unit="mL/day"),
    "hepatic_impairment": Enum("hepatic impairment", HEPATIC),
    "access": Enum("access", ACCESS),
    "conditions": EnumList("conditions", ()),  # values filled from knowledge
}
EPISODE: dict[str, Spec] = {
    "timing": Enum("timing", TIMINGS),
    "ongoing": Bool("ongoing"),
    "minutes_into_session": Num("minutes into the session", 0, 720, unit="minutes"),
    "hours_after_dialysis": Num("hours after dialysis", 0, 168, unit="hours"),
    "sites": EnumList("sites", SITES),
    "kind": Enum("kind", KINDS),
    "severity_0_10": Num("severity", 0, 10, unit="(0–10)"),
    "episodes_last_4_weeks": Num("episodes in the last 4 weeks", 0, 500, integer=True),
    "duration_weeks": Num("duration", 0, 1040, unit="weeks"),
}
VITALS: dict[str, Spec] = {
    "sbp_pre_mmhg": Num("pre-dialysis systolic blood pressure", 40, 300, unit="mmHg"),
    "sbp_nadir_mmhg": Num("lowest systolic blood pressure", 30, 300, unit="mmHg"),
    "heart_rate_bpm": Num("heart rate", 15, 250, unit="bpm"),
    "temperature_c": Num("temperature", 25, 45, unit="°C", hint="enter °C, not °F"),
}
DIALYSIS: dict[str, Spec] = {
    "pre_weight_kg": Num("pre-dialysis weight", 20, 300, unit="kg"),
    "previous_post_weight_kg": Num("previous post-dialysis weight", 20, 300, unit="kg"),
    "target_weight_kg": Num("target weight", 20, 300, unit="kg"),
    "session_minutes": Num("session length", 30, 720, unit="minutes"),
    "sessions_per_week": Num("sessions per week", 1, 7, integer=True),
    "uf_volume_ml": Num("UF volume", 0, 10000, unit="mL"),
    "dialysate_sodium_mmol_l": Num("dialysate sodium", 120, 160, unit="mmol/L"),
    "sodium_profiling": Bool("sodium profiling"),
    "dialysate_potassium_mmol_l": Num("dialysate potassium", 0, 5, unit="mmol/L"),
    "dialysate_calcium_mmol_l": Num(
        "dialysate calcium", 0.5, 2.0, unit="mmol/L", hint="enter mmol/L (for example 1.25), not mEq/L"
    ),
    "dialysate_magnesium_mmol_l": Num(
        "dialysate magnesium", 0, 1.0, unit="mmol/L", hint="enter mmol/L (for example 0.5), not mEq/L"
    ),
    "dialysate_bicarbonate_mmol_l": Num("dialysate bicarbonate", 20, 50, unit="mmol/L"),
    "buffer": Enum("buffer", BUFFERS),
    "dialysate_temperature_c": Num("dialysate temperature", 33, 40, unit="°C"),
    "blood_flow_ml_min": Num("blood flow", 50, 600, unit="mL/min"),
    "dialyser_flux": Enum("dialyser flux", FLUX),
    "missed_or_shortened_sessions_last_month": Num("missed or shortened sessions", 0, 31, integer=True),
}
TOP_KEYS = ("schema", "patient", "episode", "findings", "vitals", "labs", "dialysis", "medications", "previous_trials")
LAB_KEYS = ("analyte", "value", "unit", "when")


def _short(x: object) -> str:
    text = repr(x) if not isinstance(x, str) else x
    return text if len(text) <= 40 else text[:37] + "..."


def _join(values: tuple[str, ...] | list[str]) -> str:
    return ", ".join(values)


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _finite(x: int | float) -> bool:
    """Not NaN or infinity, and not an integer too large for a float (JSON allows 1 followed by 400 zeros)."""
    try:
        return math.isfinite(x)
    except OverflowError:
        return False


NOT_FINITE = "must be a real number (not NaN, infinity or beyond 1e308)"


def age_on(birth_date: dt.date, on_date: dt.date) -> int:
    """Completed years of age on ``on_date``."""
    return on_date.year - birth_date.year - ((on_date.month, on_date.day) < (birth_date.month, birth_date.day))


def age_problem(birth_date: dt.date, on_date: dt.date, knowledge: Knowledge | None = None) -> str | None:
    """Why a patient born on ``birth_date`` cannot be assessed on ``on_date`` (a message for the person entering
    the date of birth), or None. The one age rule: the patient form, FHIR import and the engine all apply it."""
    k = knowledge or load_knowledge()
    if birth_date > on_date:
        return "The date of birth is in the future. Check the year."
    age = age_on(birth_date, on_date)
    if k.hit("adult_age", age):
        return (
            f"Chairside's rules are for adults on haemodialysis ({fmt_number(k.value('adult_age'))} or over); "
            f"this date of birth gives {age}."
        )
    if age > MAX_AGE_YEARS:
        return f"An age of {age} is not possible here (over {MAX_AGE_YEARS}). Check the year of birth."
    return None


class _Collector:
    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []

    def add(self, field: str, message: str) -> None:
        self.errors.append({"field": field, "message": message})


def _suggest(key: str, options: tuple[str, ...] | list[str]) -> str:
    match = difflib.get_close_matches(key, options, n=1, cutoff=0.75) if len(key) <= 60 else []
    return f"; did you mean '{match[0]}'?" if match else ""


def _unknown_keys(
    data: Mapping[Any, Any], allowed: tuple[str, ...] | list[str], path: str, c: _Collector, what: str
) -> None:
    for key in data:
        if not isinstance(key, str):
            c.add(path or "case", f"keys must be text, not {type(key).__name__}")
        elif key not in allowed:
            name = key or '""'  # an empty key still gets a field path a client can show
            c.add(f"{path}.{name}" if path else name, f"unknown {what} '{_short(key)}'{_suggest(key, allowed)}")


def _check_value(spec: Spec, value: Any, field: str, c: _Collector) -> Any:
    """Validate one value; return the cleaned value or None (and record the error)."""
    if value is None:
        return None
    if isinstance(spec, Num):
        if not _is_number(value):
            c.add(field, f"{spec.label} must be a number, not {_typename(value)}")
            return None
        if not _finite(value):
            c.add(field, f"{spec.label} {NOT_FINITE}")
            return None
        if spec.integer and value != int(value):
            c.add(field, f"{spec.label} must be a whole number")
            return None
        if value < 0:
            c.add(field, f"{spec.label} cannot be negative")
            return None
        if not spec.lo <= value <= spec.hi:
            unit = f" {spec.unit}" if spec.unit else ""
            hint = f" ({spec.hint})" if spec.hint else ""
            c.add(
                field,
                f"{spec.label} {fmt_number(float(value))}{unit} is outside what is possible here "
                f"({fmt_number(spec.lo)}–{fmt_number(spec.hi)}{unit}); check the value{hint}",
            )
            return None
        return int(value) if spec.integer else float(value)
    if isinstance(spec, Bool):
        if not isinstance(value, bool):
            c.add(field, f"{spec.label} must be true or false, not {_typename(value)}")
            return None
        return value
    if isinstance(spec, Enum):
        if not isinstance(value, str) or value not in spec.values:
            c.add(
                field,
                f"'{_short(value)}' is not a valid {spec.label}; use one of: {_join(spec.values)}"
                + (_suggest(value, spec.values) if isinstance(value, str) else ""),
            )
            return None
        return value
    # EnumList
    if not isinstance(value, list | tuple):
        c.add(field, f"{spec.label} must be a list, not {_typename(value)}")
        return None
    if len(value) > MAX_LIST:
        c.add(field, f"{spec.label} has too many entries (at most {MAX_LIST})")
        return None
    out: set[str] = set()
    ok = True
    for i, item in enumerate(value):
        if not isinstance(item, str) or item not in spec.values:
            ok = False
            c.add(
                f"{field}[{i}]",
                f"'{_short(item)}' is not a valid {spec.label} entry; use one of: {_join(spec.values)}"
                + (_suggest(item, spec.values) if isinstance(item, str) else ""),
            )
        else:
            out.add(item)
    return frozenset(out) if ok else None


def _typename(value: object) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, str):
        return f"text '{_short(value)}'"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _section(
    data: Mapping[str, Any], name: str, specs: dict[str, Spec], c: _Collector, present: set[str]
) -> dict[str, Any]:
    raw = data.get(name)
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        c.add(name, f"{name} must be an object, not {_typename(raw)}")
        return {}
    present.add(name)
    _unknown_keys(raw, list(specs), name, c, f"{name} field")
    out: dict[str, Any] = {}
    for key, spec in specs.items():
        if key in raw and raw[key] is not None:
            present.add(f"{name}.{key}")
            v = _check_value(spec, raw[key], f"{name}.{key}", c)
            if v is not None:
                out[key] = v
    return out


def validate_case(data: object, knowledge: Knowledge | None = None) -> Case:
    """Validate ``data`` (parsed JSON) and return a Case; raise CaseError listing every problem."""
    k = knowledge or load_knowledge()
    c = _Collector()
    if not isinstance(data, Mapping):
        raise CaseError([{"field": "case", "message": f"the case must be a JSON object, not {_typename(data)}"}])

    present: set[str] = set()
    _unknown_keys(data, TOP_KEYS, "", c, "field")

    schema = data.get("schema")
    if schema is None:
        c.add("schema", f'schema is required: use "{CASE_SCHEMA}"')
    elif schema != CASE_SCHEMA:
        c.add("schema", f"unsupported schema '{_short(schema)}'; this engine reads \"{CASE_SCHEMA}\"")

    patient_specs = dict(PATIENT)
    patient_specs["conditions"] = EnumList("condition", tuple(k.conditions))
    p = _section(data, "patient", patient_specs, c, present)
    age = p.get("age_years")
    if age is not None and k.hit("adult_age", age):
        c.add(
            "patient.age_years",
            f"Chairside's rules are for adults on haemodialysis; age {fmt_number(age)} is below "
            f"{fmt_number(k.value('adult_age'))}",
        )
    e = _section(data, "episode", EPISODE, c, present)
    v = _section(data, "vitals", VITALS, c, present)
    d = _section(data, "dialysis", DIALYSIS, c, present)
    _cross_checks(p, e, d, k, c)

    # findings
    findings: dict[str, bool] = {}
    raw_f = data.get("findings")
    if raw_f is not None:
        if not isinstance(raw_f, Mapping):
            c.add("findings", f"findings must be an object of yes/no answers, not {_typename(raw_f)}")
        else:
            present.add("findings")
            _unknown_keys(raw_f, list(k.findings), "findings", c, "finding")
            for key in k.findings:
                if key in raw_f and raw_f[key] is not None:
                    val = raw_f[key]
                    if isinstance(val, bool):
                        findings[key] = val
                    else:
                        c.add(f"findings.{key}", f"answer must be true or false, not {_typename(val)}")

    # labs
    labs: list[Lab] = []
    raw_labs = data.get("labs")
    if raw_labs is not None:
        if not isinstance(raw_labs, list | tuple):
            c.add("labs", f"labs must be a list, not {_typename(raw_labs)}")
        elif len(raw_labs) > MAX_LIST:
            c.add("labs", f"too many lab entries (at most {MAX_LIST})")
        else:
            present.add("labs")
            seen: dict[tuple[str, str | None], int] = {}
            for i, entry in enumerate(raw_labs):
                lab = _lab(entry, i, k, c)
                if lab is None:
                    continue
                if (lab.analyte, lab.when) in seen:  # a pre- and a post-dialysis value are both valid
                    when = f" ({WHEN_LABELS[lab.when]})" if lab.when else ""
                    c.add(
                        f"labs[{i}].analyte",
                        f"{k.analytes[lab.analyte].short}{when} is entered twice "
                        f"(labs[{seen[(lab.analyte, lab.when)]}] and labs[{i}]); keep one value, or set 'when' "
                        "to pre_dialysis or post_dialysis",
                    )
                    continue
                seen[(lab.analyte, lab.when)] = i
                labs.append(lab)

    # medications
    meds: frozenset[str] | None = None
    unknown_meds: list[str] = []
    read_as: list[str] = []
    raw_m = data.get("medications")
    if raw_m is not None:
        if not isinstance(raw_m, list | tuple):
            c.add("medications", f"medications must be a list of names, not {_typename(raw_m)}")
        elif len(raw_m) > MAX_LIST:
            c.add("medications", f"too many medications (at most {MAX_LIST})")
        else:
            present.add("medications")
            found: set[str] = set()
            for i, name in enumerate(raw_m):
                if not isinstance(name, str):
                    c.add(f"medications[{i}]", f"a medication must be a name, not {_typename(name)}")
                    continue
                if not name.strip():
                    c.add(f"medications[{i}]", "a medication name cannot be empty")
                    continue
                if len(name) > MAX_STR:
                    c.add(f"medications[{i}]", f"medication name is too long (at most {MAX_STR} characters)")
                    continue
                match = match_medicines(name, k)
                found.update(match.codes)
                for word, listed in match.read_as:
                    note = f"'{name.strip()}' read as {listed} ('{word}' looks like a misspelling)"
                    if note not in read_as:
                        read_as.append(note)
                if not match.codes and name.strip() not in unknown_meds:
                    unknown_meds.append(name.strip())
            meds = frozenset(found)

    trials = parse_trials(data.get("previous_trials"), k, c.add)

    if c.errors:
        raise CaseError(c.errors)

    return Case(
        schema=CASE_SCHEMA,
        patient=Patient(**p),
        episode=Episode(**e),
        findings=MappingProxyType(findings),
        vitals=Vitals(**v),
        labs=tuple(labs),
        dialysis=Dialysis(**d),
        medications=meds,
        unrecognised_medications=tuple(unknown_meds),
        medication_notes=tuple(read_as),
        previous_trials=trials,
        sections=frozenset(present),
    )


_TIMING_LABELS = {
    "during_dialysis": "during dialysis",
    "after_dialysis": "after dialysis",
    "between_sessions": "between sessions",
}


def _cross_checks(p: dict[str, Any], e: dict[str, Any], d: dict[str, Any], k: Knowledge, c: _Collector) -> None:
    """Fields that are each possible but contradict each other: refused, naming the field to correct.

    A contradiction would otherwise silently drop part of the plan (the acute step needs "during dialysis").
    """
    timing: str | None = e.get("timing")
    said = f"the timing '{_TIMING_LABELS.get(timing or '', timing)}'"
    if e.get("ongoing") is True and timing == "between_sessions":
        c.add(
            "episode.ongoing",
            f"'ongoing in the chair' contradicts {said}; if the patient is on dialysis now, set timing to "
            "during dialysis, otherwise answer no",
        )
    minutes = e.get("minutes_into_session")
    if minutes is not None and timing in ("after_dialysis", "between_sessions"):
        c.add(
            "episode.minutes_into_session",
            f"{fmt_number(minutes)} minutes into the session contradicts {said}; clear it or set timing to "
            "during dialysis",
        )
    if e.get("hours_after_dialysis") is not None and timing == "during_dialysis":
        c.add(
            "episode.hours_after_dialysis",
            f"hours after dialysis contradicts {said}; clear it or set timing to after dialysis",
        )
    session = d.get("session_minutes")
    if minutes is not None and session is not None and timing == "during_dialysis" and minutes > session:
        c.add(
            "episode.minutes_into_session",
            f"{fmt_number(minutes)} minutes into the session is longer than the {fmt_number(session)}-minute "
            "session; check both",
        )

    vintage, sessions = p.get("dialysis_vintage_months"), p.get("sessions_completed")
    if vintage is not None and sessions is not None:
        fewest = math.floor(max(0.0, vintage - 1) * k.value("sessions_per_month_min"))
        most = math.ceil((vintage + 1) * k.value("sessions_per_month_max"))
        if sessions < fewest or sessions > most:
            c.add(
                "patient.sessions_completed",
                f"{sessions} sessions completed does not fit {fmt_number(vintage)} months on dialysis (expected "
                f"{fewest}–{most}); check the sessions completed and the time on dialysis",
            )

    gap = k.t("weight_gap_typo_kg")
    target = d.get("target_weight_kg")
    reference = ("target weight", target) if target is not None else ("dry weight", p.get("dry_weight_kg"))
    pairs = [
        ("dialysis.pre_weight_kg", "pre-dialysis weight", d.get("pre_weight_kg"), *reference),
        (
            "dialysis.previous_post_weight_kg",
            "previous post-dialysis weight",
            d.get("previous_post_weight_kg"),
            *reference,
        ),
        (
            "dialysis.pre_weight_kg",
            "pre-dialysis weight",
            d.get("pre_weight_kg"),
            "previous post-dialysis weight",
            d.get("previous_post_weight_kg"),
        ),
        ("dialysis.target_weight_kg", "target weight", target, "dry weight", p.get("dry_weight_kg")),
    ]
    flagged: set[str] = set()
    for field_name, label, value, other_label, other in pairs:
        if value is None or other is None or field_name in flagged or not gap.hit(round(abs(value - other), 9)):
            continue  # round(.., 9): 64.6612 - 57.6612 is 7.000000000000001 in binary floating point
        flagged.add(field_name)
        c.add(
            field_name,
            f"{label} {fmt_number(value)} kg is {fmt_number(round(abs(value - other), 1))} kg from the "
            f"{other_label} {fmt_number(other)} kg (more than {fmt_number(gap.value)} kg): probably a typo; check "
            "both weights",
        )


def _lab(entry: object, i: int, k: Knowledge, c: _Collector) -> Lab | None:
    path = f"labs[{i}]"
    if not isinstance(entry, Mapping):
        c.add(path, f"each lab must be an object with analyte, value and unit, not {_typename(entry)}")
        return None
    before = len(c.errors)
    _unknown_keys(entry, LAB_KEYS, path, c, "lab field")
    analyte = entry.get("analyte")
    a = k.analytes.get(analyte) if isinstance(analyte, str) else None
    if analyte is None:
        c.add(f"{path}.analyte", "analyte is required")
    elif a is None:
        c.add(
            f"{path}.analyte",
            f"'{_short(analyte)}' is not a lab test Chairside knows"
            + (_suggest(analyte, list(k.analytes)) if isinstance(analyte, str) else ""),
        )
    when = entry.get("when")
    if when is not None and when not in LAB_WHEN:
        c.add(f"{path}.when", f"'{_short(when)}' is not valid; use one of: {_join(LAB_WHEN)}")
    value = entry.get("value")
    if value is None:
        c.add(f"{path}.value", "value is required")
    elif not _is_number(value):
        c.add(f"{path}.value", f"value must be a number, not {_typename(value)}")
        value = None
    elif not _finite(value):
        c.add(f"{path}.value", f"value {NOT_FINITE}")
        value = None
    unit = entry.get("unit")
    if a is not None and unit is None:
        if len({normalise_unit(u.unit) for u in a.units}) == 1:
            unit = a.si_unit  # only one possible unit (e.g. QTc in ms)
        else:
            c.add(f"{path}.unit", f"unit is required for {a.short}; use {_units(a)}")
    elif unit is not None and not isinstance(unit, str):
        c.add(f"{path}.unit", f"unit must be text, not {_typename(unit)}")
        unit = None
    if a is None or value is None or unit is None or len(c.errors) > before:
        return None
    try:
        si = to_si(a.code, float(value), unit, k)
    except UnitError as exc:
        c.add(f"{path}.unit", str(exc))
        return None
    if value < 0:
        c.add(f"{path}.value", f"{a.short} cannot be negative; check the value")
        return None
    problem = check_plausible(a.code, si, k)
    if problem is not None:
        entered = f"{fmt_number(float(value))} {unit.strip()}"
        c.add(
            f"{path}.value",
            f"{a.short} {entered} is not possible in a living patient; check the value and the unit "
            f"(possible range {fmt_number(a.plausible_min)}–{fmt_number(a.plausible_max)} {a.si_unit})"
            + unit_hint(a, float(value), unit),
        )
        return None
    canonical = a.unit_lookup[normalise_unit(unit)].unit
    return Lab(analyte=a.code, value=float(value), unit=canonical, si_value=si, when=when)


def _units(a: Any) -> str:
    names: list[str] = []
    for u in a.units:
        if u.unit not in names:
            names.append(u.unit)
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]
