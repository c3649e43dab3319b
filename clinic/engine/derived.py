"""Derived values (UF rate, IDWG, corrected calcium, SI labs) and the evaluation context shared by all rules.

Rounding: output values are rounded for display (1 dp for UF rate and IDWG, the analyte's precision for labs,
2 dp for corrected calcium). Every threshold comparison uses the UNROUNDED value held in ``Ctx``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from .knowledge import Knowledge, fmt_number, normalise_unit
from .readings import WHEN_LABELS, LabValue, Reading
from .types import Case, Derived
from .units import classify, round_si

# The bands the plan reports for UF rate and IDWG: (band, threshold id), most severe first; below every
# threshold the band is "acceptable". Presenters read the band from the plan and the threshold from here.
UF_RATE_BANDS: tuple[tuple[str, str], ...] = (("high", "ufr_high"), ("elevated", "ufr_flag"))
IDWG_BANDS: tuple[tuple[str, str], ...] = (("high", "idwg_high"), ("elevated", "idwg_counsel"))


def band_of(k: Knowledge, bands: tuple[tuple[str, str], ...], value: float | None) -> str | None:
    if value is None:
        return None
    return next((band for band, tid in bands if k.hit(tid, value)), "acceptable")


@dataclass(frozen=True, slots=True)
class Volume:
    uf_volume_ml: float | None
    uf_rate: float | None  # mL/kg/h, unrounded
    idwg: float | None  # % of dry weight, unrounded
    sbp_fall: float | None
    idh: bool | None  # True/False when assessable, None when not
    idh_reason: str


def volume(case: Case, k: Knowledge) -> Volume:
    d, p, v = case.dialysis, case.patient, case.vitals
    uf_ml: float | None = d.uf_volume_ml
    if uf_ml is None and d.pre_weight_kg is not None and d.target_weight_kg is not None:
        uf_ml = max(0.0, (d.pre_weight_kg - d.target_weight_kg) * 1000.0)
    weight = d.target_weight_kg if d.target_weight_kg is not None else p.dry_weight_kg
    uf_rate = None
    if uf_ml is not None and weight and d.session_minutes:
        uf_rate = uf_ml / (weight * d.session_minutes / 60.0)
    dry = p.dry_weight_kg if p.dry_weight_kg is not None else d.target_weight_kg
    idwg = None
    if d.pre_weight_kg is not None and d.previous_post_weight_kg is not None and dry:
        idwg = (d.pre_weight_kg - d.previous_post_weight_kg) / dry * 100.0

    fall = None
    if v.sbp_pre_mmhg is not None and v.sbp_nadir_mmhg is not None:
        fall = v.sbp_pre_mmhg - v.sbp_nadir_mmhg
    reasons: list[str] = []
    if case.findings.get("intradialytic_hypotension") is True:
        reasons.append("intradialytic hypotension reported")
    if k.hit("idh_nadir_sbp", v.sbp_nadir_mmhg):
        reasons.append(f"nadir systolic BP {fmt_number(v.sbp_nadir_mmhg or 0)} mmHg")
    # A symptomatic fall counts as IDH with the cramp as the symptom, but never against the nurse's recorded
    # "no intradialytic hypotension": the cramp itself does not document hypotension.
    nurse_said_no = case.findings.get("intradialytic_hypotension") is False
    if (
        fall is not None
        and k.hit("idh_sbp_fall", fall)
        and case.episode.timing == "during_dialysis"
        and not nurse_said_no
    ):
        reasons.append(f"systolic BP fell {fmt_number(fall)} mmHg with symptoms")
    idh: bool | None
    if reasons:
        idh = True
    elif case.findings.get("intradialytic_hypotension") is False or v.sbp_nadir_mmhg is not None:
        idh = False
    else:
        idh = None
    # round(.., 9) removes binary float noise (73.0 - 70.2 = 2.799999999999997) so that a value a clinician
    # would compute as exactly 4.0 % meets ">= 4"; it is not a clinical rounding.
    return Volume(
        uf_ml,
        None if uf_rate is None else round(uf_rate, 9),
        None if idwg is None else round(idwg, 9),
        fall,
        idh,
        "; ".join(reasons),
    )


@dataclass(slots=True)
class Ctx:
    """Everything a rule may read. Built once per evaluation."""

    case: Case
    k: Knowledge
    labs: dict[str, float]  # SI, unrounded
    vol: Volume
    findings: Mapping[str, bool]
    meds: frozenset[str]
    meds_known: bool
    conds: frozenset[str]
    conds_known: bool
    flags: dict[str, tuple[str, str]] = field(default_factory=dict)  # code -> (tier, why)

    # --- helpers ------------------------------------------------------------------------------------
    def f(self, code: str) -> bool:
        """Finding answered YES. (No / not assessed both return False; missing is tracked separately.)"""
        return self.findings.get(code) is True

    def any_f(self, *codes: str) -> list[str]:
        return [c for c in codes if self.findings.get(c) is True]

    def lab(self, analyte: str) -> float | None:
        return self.labs.get(analyte)

    def hit(self, tid: str, x: float | None) -> bool:
        return self.k.thresholds[tid].hit(x)

    def lab_hit(self, tid: str, analyte: str) -> bool:
        return self.k.thresholds[tid].hit(self.labs.get(analyte))

    def med(self, code: str) -> bool:
        return code in self.meds

    def group(self, name: str) -> list[str]:
        return [m for m in self.k.medication_groups[name] if m in self.meds]

    def cond(self, code: str) -> bool:
        return code in self.conds

    def labtxt(self, analyte: str) -> str:
        """'potassium 4.2 mmol/L'; with samples at several times, each is named ('... (post-dialysis)')."""
        a = self.k.analytes[analyte]
        v = self.labs[analyte]
        readings = v.readings if isinstance(v, LabValue) else (Reading(v, "", v, "pre_dialysis"),)
        if len(readings) == 1 and readings[0].when in ("pre_dialysis", None):
            return f"{a.short} {round_si(a, v):.{a.decimals}f} {a.si_unit}"
        parts = [f"{round_si(a, r.si):.{a.decimals}f} {a.si_unit} ({WHEN_LABELS[r.when]})" for r in readings]
        return f"{a.short} " + ", ".join(parts)

    def has_pre_dialysis(self, analyte: str) -> bool:
        """A sample other than a post-dialysis one is on file (what the pre-dialysis workup needs)."""
        v = self.labs.get(analyte)
        if v is None:
            return False
        return not isinstance(v, LabValue) or any(r.when != "post_dialysis" for r in v.readings)

    def fname(self, code: str) -> str:
        return self.k.findings[code].name.lower()

    def fnames(self, codes: list[str]) -> str:
        return ", ".join(self.fname(c) for c in codes)

    def mname(self, code: str) -> str:
        return self.k.medications.get(code, code).lower() if code in self.k.medications else code

    def mnames(self, codes: list[str]) -> str:
        return ", ".join(self.k.medications.get(c, c) for c in codes)

    @property
    def intradialytic_now(self) -> bool:
        e = self.case.episode
        return e.timing == "during_dialysis" and e.ongoing is True

    @property
    def idh(self) -> bool:
        return self.vol.idh is True


def build_ctx(case: Case, k: Knowledge) -> Ctx:
    samples: dict[str, list[Reading]] = {}
    for lab in case.labs:
        samples.setdefault(lab.analyte, []).append(Reading(lab.value, normalise_unit(lab.unit), lab.si_value, lab.when))
    labs: dict[str, float] = {analyte: LabValue(analyte, rs) for analyte, rs in samples.items()}
    return Ctx(
        case=case,
        k=k,
        labs=labs,
        vol=volume(case, k),
        findings=case.findings,
        meds=case.medications or frozenset(),
        meds_known=case.medications is not None,
        conds=case.patient.conditions or frozenset(),
        conds_known=case.patient.conditions is not None,
    )


def derived_output(ctx: Ctx) -> Derived:
    k, vol = ctx.k, ctx.vol
    labs_si = {a: round_si(k.analytes[a], v) for a, v in sorted(ctx.labs.items())}
    post = {
        a: round_si(k.analytes[a], r.si)
        for a, v in sorted(ctx.labs.items())
        if isinstance(v, LabValue)
        for r in v.readings
        if r.when == "post_dialysis" and r is not v.primary
    }
    flags = {}
    for a, v in sorted(ctx.labs.items()):
        badge = classify(a, v, k)
        if badge is not None:
            flags[a] = badge
    corrected = None
    ca, alb = ctx.labs.get("calcium_total"), ctx.labs.get("albumin")
    if ca is not None and alb is not None:
        corrected = round(ca + 0.02 * (40.0 - alb), 2)
    band = band_of(k, UF_RATE_BANDS, vol.uf_rate)
    idwg_band = band_of(k, IDWG_BANDS, vol.idwg)
    return Derived(
        uf_rate_ml_kg_h=None if vol.uf_rate is None else round(vol.uf_rate, 1),
        idwg_percent=None if vol.idwg is None else round(vol.idwg, 1),
        corrected_calcium_mmol_l=corrected,
        labs_si=MappingProxyType(labs_si),
        uf_volume_ml=None if vol.uf_volume_ml is None else round(vol.uf_volume_ml),
        uf_rate_band=band,
        idwg_band=idwg_band,
        sbp_fall_mmhg=vol.sbp_fall,
        intradialytic_hypotension=vol.idh,
        lab_flags=MappingProxyType(flags),
        labs_si_post_dialysis=MappingProxyType(post),
    )
