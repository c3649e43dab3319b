"""Frozen value types for the workup engine: the case going in and the care plan coming out.

Every field of the case is optional except ``schema``; ``None`` always means "not assessed" and is never
read as normal. Mappings are exposed read-only (``types.MappingProxyType``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

Urgency = Literal["emergency", "urgent", "soon"]
Verdict = Literal["usable", "caution", "avoid"]
Who = Literal["nurse", "nephrologist"]
Evidence = Literal["V", "S", "U"]

_EMPTY: Mapping[str, bool] = MappingProxyType({})


# --------------------------------------------------------------------------------------------- case


@dataclass(frozen=True, slots=True)
class Patient:
    age_years: float | None = None
    sex: str | None = None
    dialysis_vintage_months: float | None = None
    sessions_completed: int | None = None
    dry_weight_kg: float | None = None
    diabetes: bool | None = None
    residual_urine_ml_per_day: float | None = None
    hepatic_impairment: str | None = None
    access: str | None = None
    conditions: frozenset[str] | None = None  # None = not recorded; empty = recorded, none present


@dataclass(frozen=True, slots=True)
class Episode:
    timing: str | None = None
    ongoing: bool | None = None
    minutes_into_session: float | None = None
    hours_after_dialysis: float | None = None
    sites: frozenset[str] | None = None
    kind: str | None = None
    severity_0_10: float | None = None
    episodes_last_4_weeks: int | None = None
    duration_weeks: float | None = None


@dataclass(frozen=True, slots=True)
class Vitals:
    sbp_pre_mmhg: float | None = None
    sbp_nadir_mmhg: float | None = None
    heart_rate_bpm: float | None = None
    temperature_c: float | None = None


@dataclass(frozen=True, slots=True)
class Lab:
    analyte: str
    value: float  # as entered
    unit: str  # canonical spelling of the entered unit
    si_value: float  # converted, unrounded (float noise removed)
    when: str | None = None


# Outcomes of a drug trial already tried (contract field `previous_trials`). A "failed" trial opens the next
# treatment line (facts.md §6b order 6 -> 7); "ongoing" means the patient is on it now.
TRIAL_OUTCOMES = ("benefit", "no_benefit", "not_tolerated", "ongoing")
FAILED_OUTCOMES = ("no_benefit", "not_tolerated")


@dataclass(frozen=True, slots=True)
class Trial:
    drug: str  # a drug code (drugs.toml)
    outcome: str  # one of TRIAL_OUTCOMES
    weeks: float | None = None  # how long it was tried

    @property
    def failed(self) -> bool:
        return self.outcome in FAILED_OUTCOMES


@dataclass(frozen=True, slots=True)
class Dialysis:
    pre_weight_kg: float | None = None
    previous_post_weight_kg: float | None = None
    target_weight_kg: float | None = None
    session_minutes: float | None = None
    sessions_per_week: int | None = None
    uf_volume_ml: float | None = None
    dialysate_sodium_mmol_l: float | None = None
    sodium_profiling: bool | None = None
    dialysate_potassium_mmol_l: float | None = None
    dialysate_calcium_mmol_l: float | None = None
    dialysate_magnesium_mmol_l: float | None = None
    dialysate_bicarbonate_mmol_l: float | None = None
    buffer: str | None = None
    dialysate_temperature_c: float | None = None
    blood_flow_ml_min: float | None = None
    dialyser_flux: str | None = None
    missed_or_shortened_sessions_last_month: int | None = None


@dataclass(frozen=True, slots=True)
class Case:
    """A validated case. Build it with ``validate_case`` (which also converts labs to SI)."""

    schema: str = "chairside.case/1"
    patient: Patient = field(default_factory=Patient)
    episode: Episode = field(default_factory=Episode)
    findings: Mapping[str, bool] = _EMPTY  # only assessed findings are present
    vitals: Vitals = field(default_factory=Vitals)
    labs: tuple[Lab, ...] = ()
    dialysis: Dialysis = field(default_factory=Dialysis)
    medications: frozenset[str] | None = None  # recognised medication codes; None = list not recorded
    unrecognised_medications: tuple[str, ...] = ()
    medication_notes: tuple[str, ...] = ()  # free text read as a listed name despite a spelling slip
    previous_trials: tuple[Trial, ...] | None = None  # None = not recorded; () = recorded, none tried
    # which top-level sections / nested keys were present at all (for "missing")
    sections: frozenset[str] = frozenset()


# --------------------------------------------------------------------------------------------- plan


@dataclass(frozen=True, slots=True)
class RedFlag:
    code: str
    urgency: Urgency
    title: str
    why: str
    actions: tuple[str, ...]
    sources: tuple[str, ...]
    evidence: Evidence
    criteria: str


@dataclass(frozen=True, slots=True)
class Action:
    code: str
    text: str
    why: str
    who: Who
    evidence: Evidence
    sources: tuple[str, ...]
    nurse_text: str | None = None


@dataclass(frozen=True, slots=True)
class Step:
    code: str
    title: str
    actions: tuple[Action, ...]


@dataclass(frozen=True, slots=True)
class DoNow:
    """One line of the nurse's "do now" list: the red flag or action it comes from, and what to do."""

    code: str
    text: str


@dataclass(frozen=True, slots=True)
class DrugVerdict:
    drug: str
    verdict: Verdict
    why: str
    dose: str | None
    sources: tuple[str, ...]
    name: str
    default_verdict: Verdict
    evidence: Evidence
    hard_stop: bool
    tightened_by: tuple[str, ...]  # factor ids that made the verdict stricter
    on_medication_list: bool
    not_assessed: tuple[str, ...]  # case inputs a tightening rule needed but did not get
    max_duration: str | None = None
    monitoring: str | None = None


@dataclass(frozen=True, slots=True)
class Derived:
    uf_rate_ml_kg_h: float | None = None
    idwg_percent: float | None = None
    corrected_calcium_mmol_l: float | None = None
    labs_si: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    uf_volume_ml: float | None = None
    uf_rate_band: str | None = None  # "acceptable" (<= ufr_flag) | "elevated" (> ufr_flag) | "high" (>= ufr_high)
    idwg_band: str | None = None  # "acceptable" | "elevated" (>= idwg_counsel) | "high" (>= idwg_high)
    sbp_fall_mmhg: float | None = None
    intradialytic_hypotension: bool | None = None
    lab_flags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # post-dialysis samples of analytes that also have an earlier sample (labs_si shows the earlier one)
    labs_si_post_dialysis: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class CarePlan:
    schema: str
    knowledge_version: str
    red_flags: tuple[RedFlag, ...]
    steps: tuple[Step, ...]
    drugs: tuple[DrugVerdict, ...]
    derived: Derived
    missing: tuple[str, ...]
    warnings: tuple[str, ...]
    knowledge_status: str = ""
    knowledge_hash: str = ""
    # inputs that are possible but rarely real (an IDWG above 10 %): computed as entered, shown first to check
    input_checks: tuple[str, ...] = ()
    do_now: tuple[DoNow, ...] = ()  # at most 5, most urgent first (actions.DO_NOW_MAX)

    def action_codes(self) -> tuple[str, ...]:
        return tuple(a.code for s in self.steps for a in s.actions)

    def red_flag_codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.red_flags)

    def verdict(self, drug: str) -> DrugVerdict:
        for d in self.drugs:
            if d.drug == drug:
                return d
        raise KeyError(drug)


@dataclass(frozen=True, slots=True)
class OrderCheck:
    allowed: bool
    hard_stop: bool
    message: str
    sources: tuple[str, ...]
