"""The case contract's field specifications: what each section of a case may hold, with its bounds.

Also the one age rule (age_on, age_problem), shared by the engine, the patient form and FHIR import, and the
CaseError that validation raises. validation.py applies these specs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .contract import ACCESS, BUFFERS, FLUX, HEPATIC, KINDS, SEXES, SITES, TIMINGS
from .knowledge import Knowledge, fmt_number, load_knowledge

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
