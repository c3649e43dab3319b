"""Care-plan actions: one trigger per action code (texts, who, evidence and sources come from actions.toml).

A trigger returns ``None`` (not indicated), a patient-specific ``why`` string, or ``(why, text_suffix)`` when
the action text itself must name something (e.g. which labs are missing). Triggers run in contract step order,
so a later trigger may look at what earlier ones decided (``st.fired``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .derived import Ctx
from .knowledge import fmt_number
from .redflags import NEURO_AL
from .types import Action, DrugVerdict, Step

Result = str | tuple[str, str] | None


@dataclass(slots=True)
class State:
    verdicts: dict[str, DrugVerdict]
    missing: tuple[str, ...]
    fired: dict[str, str] = field(default_factory=dict)

    def verdict(self, drug: str) -> str:
        v = self.verdicts.get(drug)
        return v.verdict if v is not None else "avoid"


TRIGGERS: dict[str, Callable[[Ctx, State], Result]] = {}


def trigger(code: str) -> Callable[[Callable[[Ctx, State], Result]], Callable[[Ctx, State], Result]]:
    def deco(fn: Callable[[Ctx, State], Result]) -> Callable[[Ctx, State], Result]:
        TRIGGERS[code] = fn
        return fn

    return deco


def _join(parts: list[str]) -> str:
    text = "; ".join(p for p in parts if p)
    return text[0].upper() + text[1:] if text else text


# --------------------------------------------------------------------------------------- shared predicates


def cramp_like(c: Ctx) -> bool:
    return c.case.episode.kind in (None, "cramp", "spasm")


def serious_flags(c: Ctx) -> list[str]:
    return [code for code, (urgency, _) in c.flags.items() if urgency in ("emergency", "urgent")]


def emergency_flags(c: Ctx) -> list[str]:
    return [code for code, (urgency, _) in c.flags.items() if urgency == "emergency"]


def recurrent(c: Ctx) -> bool:
    return c.hit("recurrent_episodes_4w", c.case.episode.episodes_last_4_weeks)


def _episode_text(c: Ctx) -> str:
    e = c.case.episode
    kind = e.kind or "episode"
    where = f" ({', '.join(sorted(e.sites))})" if e.sites else ""
    when = f", {fmt_number(e.minutes_into_session)} minutes into the session" if e.minutes_into_session else ""
    return f"{kind}{where} happening now during dialysis{when}"


def _flag_titles(c: Ctx, codes: list[str]) -> str:
    return ", ".join(c.k.red_flags[x].title.lower() for x in codes)


# ------------------------------------------------------------------------------------------------ acute


@trigger("acute.reduce_uf")
def _reduce_uf(c: Ctx, st: State) -> Result:
    if not c.intradialytic_now:
        return None
    parts = [_episode_text(c)]
    if c.vol.uf_rate is not None:
        parts.append(f"UF rate {c.vol.uf_rate:.1f} mL/kg/h")
    return _join(parts)


@trigger("acute.keep_blood_flow")
def _keep_qb(c: Ctx, st: State) -> Result:
    if not c.intradialytic_now:
        return None
    qb = c.case.dialysis.blood_flow_ml_min
    return _join([_episode_text(c), f"blood flow {fmt_number(qb)} mL/min" if qb else ""])


@trigger("acute.saline_bolus")
def _saline(c: Ctx, st: State) -> Result:
    if not c.intradialytic_now:
        return None
    if c.vol.idh is True:
        return _join(["Hypotension with the cramp: " + c.vol.idh_reason])
    if c.vol.idh is None:
        return "Blood pressure not recorded: check it now and give the bolus only if the patient is hypotensive"
    return None


@trigger("acute.hypertonic_rescue")
def _rescue(c: Ctx, st: State) -> Result:
    if not c.intradialytic_now or not cramp_like(c):
        return None
    emergencies = emergency_flags(c)
    if emergencies:
        return None  # not a simple cramp: the red-flag pathway comes first
    parts = []
    diabetes = c.case.patient.diabetes
    if diabetes is True:
        parts.append("diabetic: use 23.4% NaCl (or mannitol); dextrose is not preferred")
    elif diabetes is False:
        parts.append("not diabetic: dextrose 50% is the preferred agent")
    else:
        parts.append("diabetes status not recorded: check capillary glucose before choosing dextrose")
    for drug in ("hypertonic_saline", "dextrose_50", "mannitol"):
        v = st.verdicts.get(drug)
        if v is not None and v.tightened_by:
            parts.append(f"{v.name}: {v.verdict} for this patient (see the drug verdicts)")
    urgent = serious_flags(c)
    if urgent:
        parts.append(f"deal with the open red flag first ({_flag_titles(c, urgent)})")
    return _join(parts)


@trigger("acute.physical_measures")
def _physical(c: Ctx, st: State) -> Result:
    if not c.intradialytic_now or c.case.episode.kind not in (None, "cramp", "spasm", "stiffness"):
        return None
    return _join([_episode_text(c), "low-risk adjunct while UF is reduced"])


@trigger("acute.check_glucose")
def _glucose(c: Ctx, st: State) -> Result:
    if not c.intradialytic_now:
        return None
    parts = []
    d = c.case.patient.diabetes
    if d is True:
        parts.append("diabetic")
    elif d is None:
        parts.append("diabetes status not recorded")
    drugs = c.group("hypoglycaemic")
    if drugs:
        parts.append(f"on {c.mnames(drugs)}")
    mimics = c.any_f("confusion", "diaphoresis", "drowsiness")
    if mimics:
        parts.append(f"{c.fnames(mimics)} can be hypoglycaemia")
    return _join(parts) if parts else None


# ------------------------------------------------------------------------------------------------- labs


@trigger("labs.order_missing")
def _order_missing(c: Ctx, st: State) -> Result:
    # QTc is an ECG measurement, asked for by labs.ecg; everything else here is a blood test
    labs = [m.removeprefix("labs.") for m in st.missing if m.startswith("labs.") and m != "labs.qtc"]
    if not labs:
        return None
    names = [c.k.analytes[a].short for a in labs]
    listing = ", ".join(names)
    return (f"Not on file, so not assessed: {listing}", f" Missing: {listing}.")


@trigger("labs.use_ionised_calcium")
def _ionised(c: Ctx, st: State) -> Result:
    if "calcium_ionised" in c.labs:
        return None
    parts = []
    if "calcium_total" in c.labs:
        parts.append(f"only total calcium on file ({c.labtxt('calcium_total')})")
        if c.hit("tca_check_ica", c.labs["calcium_total"]):
            parts.append(f"total calcium < {fmt_number(c.k.value('tca_check_ica'))} mmol/L: check urgently")
    if c.lab_hit("albumin_low", "albumin"):
        parts.append(f"{c.labtxt('albumin')} makes total calcium unreliable")
    signs = c.any_f("carpopedal_spasm", "perioral_tingling", "chvostek_or_trousseau")
    if signs:
        parts.append(f"{c.fnames(signs)} without an ionised calcium")
    return _join(parts) if parts else None


@trigger("labs.aluminium_level")
def _al_level(c: Ctx, st: State) -> Result:
    if "aluminium" in c.labs:
        return None
    parts = []
    if c.f("aluminium_exposure"):
        parts.append("aluminium exposure reported")
    meds = c.group("aluminium_sources")
    if meds:
        parts.append(f"on {c.mnames(meds)}")
    neuro = c.any_f(*NEURO_AL)
    if neuro:
        parts.append(f"{c.fnames(neuro)} (possible encephalopathy)")
    return _join(parts) if parts else None


@trigger("labs.ecg")
def _ecg(c: Ctx, st: State) -> Result:
    parts = []
    for code in ("redflag.hyperkalaemia", "redflag.hypokalaemia", "redflag.arrhythmia_risk", "redflag.tetany"):
        if code in c.flags:
            parts.append(c.flags[code][1])
    kval = c.lab("potassium")
    if c.hit("k_high_mild", kval) and not c.hit("k_high_urgent", kval):
        parts.append(f"{c.labtxt('potassium')}: ECG changes at this level make it an emergency")
    if c.case.episode.kind == "jerks" or c.any_f("myoclonus", "seizure"):
        parts.append("jerks or a seizure-like event")
    if not parts:
        return None
    return _join(list(dict.fromkeys(parts)))


@trigger("labs.creatine_kinase")
def _ck(c: Ctx, st: State) -> Result:
    if "creatine_kinase_x_uln" in c.labs:
        return None
    parts = []
    if c.f("severe_muscle_pain_or_weakness"):
        parts.append(c.fname("severe_muscle_pain_or_weakness"))
    drugs = c.group("myotoxic")
    if drugs:
        parts.append(f"on {c.mnames(drugs)}")
    sev = c.case.episode.severity_0_10
    if c.hit("severity_ck_check", sev):
        parts.append(f"severity {fmt_number(sev or 0)}/10")
    return _join(parts) if parts else None


# ----------------------------------------------------------------------------------------- electrolytes


@trigger("electrolytes.magnesium_dialysate")
def _mg_dialysate(c: Ctx, st: State) -> Result:
    mg = c.lab("magnesium")
    dmg = c.case.dialysis.dialysate_magnesium_mmol_l
    target = c.k.value("dialysate_mg_raise_to")
    if c.hit("mg_high_intake", mg):
        return None
    parts = []
    if c.hit("mg_low", mg) and (dmg is None or dmg < target):
        parts.append(f"{c.labtxt('magnesium')} (< {fmt_number(c.k.value('mg_low'))})")
        parts.append(
            f"dialysate magnesium {fmt_number(dmg)} mmol/L" if dmg is not None else "dialysate magnesium not recorded"
        )
    elif c.hit("mg_low", mg) and dmg is not None:
        parts.append(
            f"{c.labtxt('magnesium')} despite dialysate magnesium {fmt_number(dmg)} mmol/L: check adherence "
            "to the bath and consider oral magnesium (nephrologist; see the magnesium_oral verdict)"
        )
    elif c.hit("dialysate_mg_low", dmg) and cramp_like(c):
        parts.append(f"dialysate magnesium {fmt_number(dmg or 0)} mmol/L in a patient who cramps")
    return _join(parts) if parts else None


@trigger("electrolytes.magnesium_before_potassium_calcium")
def _mg_first(c: Ctx, st: State) -> Result:
    if not c.lab_hit("mg_low", "magnesium"):
        return None
    low = []
    if c.lab_hit("k_low", "potassium"):
        low.append(c.labtxt("potassium"))
    ica = c.lab("calcium_ionised")
    ref = c.k.analytes["calcium_ionised"].reference_low
    if ica is not None and ref is not None and ica < ref:
        low.append(c.labtxt("calcium_ionised"))
    if not low:
        return None
    # Never for urgent situations (facts.md §0 item 6, §1 row 11): IV calcium / potassium are not delayed.
    urgent = [x for x in ("redflag.tetany", "redflag.seizure", "redflag.hypokalaemia") if x in c.flags]
    if urgent or c.lab_hit("qtc_high", "qtc") or c.any_f("palpitations", "syncope"):
        return None
    return _join([f"documented {c.labtxt('magnesium')} with {' and '.join(low)}", "no tetany, seizure or arrhythmia"])


@trigger("electrolytes.calcium_dialysate")
def _ca_dialysate(c: Ctx, st: State) -> Result:
    dca = c.case.dialysis.dialysate_calcium_mmol_l
    parts = []
    if c.hit("dialysate_ca_low", dca):
        parts.append(f"dialysate calcium {fmt_number(dca or 0)} mmol/L (below range)")
    elif c.hit("dialysate_ca_high", dca):
        parts.append(f"dialysate calcium {fmt_number(dca or 0)} mmol/L (above range)")
    if "redflag.tetany" in c.flags:
        parts.append("tetany / hypocalcaemia")
    ica = c.lab("calcium_ionised")
    ref = c.k.analytes["calcium_ionised"].reference_low
    low_ca = ica is not None and ref is not None and ica < ref
    risk = []
    if c.cond("parathyroidectomy_recent"):
        risk.append("recent parathyroidectomy")
    risk += c.group("calcimimetic")
    if risk and (low_ca or "redflag.tetany" in c.flags):
        parts.append(f"{', '.join(c.k.conditions.get(r, c.k.medications.get(r, r)) for r in risk)} with low calcium")
    return _join(list(dict.fromkeys(parts))) if parts else None


@trigger("electrolytes.potassium_dialysate")
def _k_dialysate(c: Ctx, st: State) -> Result:
    dk = c.case.dialysis.dialysate_potassium_mmol_l
    kval = c.lab("potassium")
    parts = []
    if c.hit("dialysate_k_very_low", dk):
        parts.append(f"dialysate potassium {fmt_number(dk or 0)} mmol/L")
    elif c.hit("dialysate_k_low", dk) and c.hit("k_serum_for_low_bath", kval):
        parts.append(f"dialysate potassium {fmt_number(dk or 0)} mmol/L with serum {c.labtxt('potassium')}")
    if c.hit("k_low", kval):
        parts.append(f"serum {c.labtxt('potassium')} (low; usually bath-driven in anuria)")
    return _join(parts) if parts else None


@trigger("electrolytes.bicarbonate_review")
def _bicarb(c: Ctx, st: State) -> Result:
    parts = []
    if c.lab_hit("bicarb_low", "bicarbonate"):
        parts.append(f"pre-HD {c.labtxt('bicarbonate')} (acidosis)")
    db = c.case.dialysis.dialysate_bicarbonate_mmol_l
    if c.hit("dialysate_bicarb_high", db):
        parts.append(f"dialysate bicarbonate {fmt_number(db or 0)} mmol/L")
    return _join(parts) if parts else None


@trigger("electrolytes.stop_magnesium_sources")
def _stop_mg(c: Ctx, st: State) -> Result:
    parts = []
    sources = c.group("magnesium_sources")
    if sources:
        parts.append(f"on {c.mnames(sources)}")
    if c.lab_hit("mg_high_intake", "magnesium"):
        parts.append(f"{c.labtxt('magnesium')} (> {fmt_number(c.k.value('mg_high_intake'))})")
    if "redflag.hypermagnesaemia" in c.flags:
        parts.append("hypermagnesaemia")
    return _join(list(dict.fromkeys(parts))) if parts else None


@trigger("electrolytes.sodium_caution")
def _na(c: Ctx, st: State) -> Result:
    if not c.lab_hit("na_block_high_na", "sodium"):
        return None
    return _join([f"pre-HD {c.labtxt('sodium')}"])


# ----------------------------------------------------------------------------------------- prescription


@trigger("prescription.reassess_dry_weight")
def _dry_weight(c: Ctx, st: State) -> Result:
    e = c.case.episode
    parts = []
    if c.hit("ufr_flag", c.vol.uf_rate):
        parts.append(f"UF rate {c.vol.uf_rate:.1f} mL/kg/h")
    if c.hit("idwg_counsel", c.vol.idwg):
        parts.append(f"IDWG {c.vol.idwg:.1f}% of dry weight")
    if c.idh:
        parts.append(c.vol.idh_reason)
    if cramp_like(c):
        session = c.case.dialysis.session_minutes
        if (
            e.timing == "during_dialysis"
            and e.minutes_into_session is not None
            and session
            and c.hit("late_session_fraction", e.minutes_into_session / session)
        ):
            parts.append(f"late-session cramp ({fmt_number(e.minutes_into_session)} of {fmt_number(session)} minutes)")
        if e.timing == "after_dialysis":
            parts.append("cramps after dialysis")
        if e.timing == "during_dialysis" and recurrent(c):
            parts.append(f"{fmt_number(e.episodes_last_4_weeks or 0)} episodes in 4 weeks")
    return _join(parts) if parts else None


@trigger("prescription.lower_uf_rate")
def _lower_ufr(c: Ctx, st: State) -> Result:
    ufr = c.vol.uf_rate
    if c.hit("ufr_high", ufr):
        return f"UF rate {ufr:.1f} mL/kg/h (>= {fmt_number(c.k.value('ufr_high'))}): lengthen or add a session"
    if c.hit("ufr_flag", ufr):
        return f"UF rate {ufr:.1f} mL/kg/h (> {fmt_number(c.k.value('ufr_flag'))})"
    return None


@trigger("prescription.fluid_sodium_counselling")
def _counsel(c: Ctx, st: State) -> Result:
    parts = []
    idwg = c.vol.idwg
    if c.hit("idwg_high", idwg):
        parts.append(f"IDWG {idwg:.1f}% (>= {fmt_number(c.k.value('idwg_high'))}%: nephrologist review)")
    elif c.hit("idwg_counsel", idwg):
        parts.append(f"IDWG {idwg:.1f}% (>= {fmt_number(c.k.value('idwg_counsel'))}%)")
    if c.hit("ufr_high", c.vol.uf_rate):
        parts.append(f"UF rate {c.vol.uf_rate:.1f} mL/kg/h")
    return _join(parts) if parts else None


@trigger("prescription.cool_dialysate")
def _cool(c: Ctx, st: State) -> Result:
    if not c.idh or c.f("shivering_or_rigors"):
        return None
    dt = c.case.dialysis.dialysate_temperature_c
    core = c.case.vitals.temperature_c
    if c.hit("dialysate_temp_floor", dt):
        return None
    if dt is not None and core is not None and dt <= core - c.k.value("cooling_min_below_core"):
        return None  # already cooled
    parts = [c.vol.idh_reason]
    if dt is not None:
        parts.append(f"dialysate {fmt_number(dt)} °C")
    if core is None:
        parts.append("measure core temperature first")
    else:
        lo = max(core - c.k.value("cooling_max_below_core"), c.k.value("dialysate_temp_floor"))
        hi = max(core - c.k.value("cooling_min_below_core"), c.k.value("dialysate_temp_floor"))
        parts.append(f"core {fmt_number(core)} °C: target {lo:.1f}–{hi:.1f} °C")
    return _join(parts)


@trigger("prescription.dialysate_temperature_floor")
def _floor(c: Ctx, st: State) -> Result:
    dt = c.case.dialysis.dialysate_temperature_c
    if c.hit("dialysate_temp_floor", dt):
        floor = fmt_number(c.k.value("dialysate_temp_floor"))
        return f"Dialysate set at {fmt_number(dt or 0)} °C (< {floor})"
    if c.f("shivering_or_rigors") and dt is not None and dt < c.k.value("dialysate_temp_standard"):
        return f"Shivering with dialysate at {fmt_number(dt)} °C"
    return None


@trigger("prescription.sodium_profiling_caution")
def _profiling(c: Ctx, st: State) -> Result:
    d = c.case.dialysis
    parts = []
    if c.hit("dialysate_na_high", d.dialysate_sodium_mmol_l):
        parts.append(f"dialysate sodium {fmt_number(d.dialysate_sodium_mmol_l or 0)} mmol/L")
    if d.sodium_profiling is True:
        parts.append("sodium profiling on")
    if not parts:
        return None
    if c.lab_hit("na_block_high_na", "sodium"):
        parts.append(f"CONTRAINDICATED: serum {c.labtxt('sodium')}")
    return _join(parts)


@trigger("prescription.bicarbonate_buffer")
def _buffer(c: Ctx, st: State) -> Result:
    return "Acetate buffer in use" if c.case.dialysis.buffer == "acetate" else None


@trigger("prescription.high_flux")
def _flux(c: Ctx, st: State) -> Result:
    v = c.case.patient.dialysis_vintage_months
    if c.case.dialysis.dialyser_flux == "low" and c.hit("vintage_dsa_screen", v):
        return f"{fmt_number(v or 0)} months on dialysis with a low-flux dialyser"
    return None


@trigger("prescription.adequacy_review")
def _adequacy(c: Ctx, st: State) -> Result:
    d = c.case.dialysis
    parts = []
    if c.hit("missed_sessions", d.missed_or_shortened_sessions_last_month):
        parts.append(f"{fmt_number(d.missed_or_shortened_sessions_last_month or 0)} missed or shortened sessions")
    if c.hit("session_short", d.session_minutes):
        parts.append(f"sessions of {fmt_number(d.session_minutes or 0)} minutes")
    if c.hit("sessions_per_week_low", d.sessions_per_week):
        parts.append(f"{fmt_number(d.sessions_per_week or 0)} sessions per week")
    return _join(parts) if parts else None


@trigger("prescription.intradialytic_hypotension")
def _idh(c: Ctx, st: State) -> Result:
    return _join([c.vol.idh_reason]) if c.idh else None


# ------------------------------------------------------------------------------------------ medications


@trigger("medications.taper_baclofen")
def _baclofen(c: Ctx, st: State) -> Result:
    return "Baclofen is on the medication list" if c.med("baclofen") else None


@trigger("medications.remove_aluminium_sources")
def _al_sources(c: Ctx, st: State) -> Result:
    parts = []
    meds = c.group("aluminium_sources")
    if meds:
        parts.append(f"on {c.mnames(meds)}" + (" with citrate" if c.med("citrate") else ""))
    if c.lab_hit("al_find_source", "aluminium"):
        parts.append(f"serum {c.labtxt('aluminium')}")
    if c.f("aluminium_exposure"):
        parts.append("aluminium exposure reported")
    return _join(parts) if parts else None


@trigger("medications.review_cramp_inducing")
def _cramp_drugs(c: Ctx, st: State) -> Result:
    groups = [
        ("myotoxic", "myopathy"),
        ("calcimimetic", "low calcium"),
        ("dystonia_inducing", "dystonia"),
    ]
    parts = []
    for group, why in groups:
        meds = c.group(group)
        if meds:
            parts.append(f"{c.mnames(meds)} ({why})")
    if c.med("cefepime"):
        parts.append("Cefepime (neurotoxicity)")
    if c.med("diuretic"):
        urine = c.case.patient.residual_urine_ml_per_day
        if c.hit("residual_urine_significant", urine):
            parts.append(f"Diuretic with residual urine {fmt_number(urine or 0)} mL/day (volume, K and Mg losses)")
        elif urine is not None:
            parts.append(f"Diuretic with residual urine {fmt_number(urine)} mL/day (little expected benefit)")
        else:
            parts.append("Diuretic (residual urine not recorded)")
    gaba = c.group("gabapentinoid")
    if len(gaba) > 1:
        parts.append("gabapentin AND pregabalin (never combine)")
    elif gaba and c.group("sedative_respiratory"):
        parts.append(f"{c.mnames(gaba)} with {c.mnames(c.group('sedative_respiratory'))} (respiratory depression)")
    return _join(parts) if parts else None


@trigger("medications.review_qt_drugs")
def _qt(c: Ctx, st: State) -> Result:
    meds = c.group("qt_prolonging")
    if not meds:
        return None
    parts = [f"on {c.mnames(meds)}"]
    if "qtc" in c.labs:
        parts.append(f"QTc {fmt_number(c.labs['qtc'])} ms")
    else:
        parts.append("no QTc on file")
    return _join(parts)


# ----------------------------------------------------------------------------------------- differential


@trigger("differential.restless_legs")
def _rls(c: Ctx, st: State) -> Result:
    if not c.f("urge_to_move_relieved_by_movement"):
        return None
    return "Urge to move that is relieved by movement"


@trigger("differential.spasticity")
def _spasticity(c: Ctx, st: State) -> Result:
    parts = []
    if c.f("hyperreflexia_or_clonus"):
        parts.append(c.fname("hyperreflexia_or_clonus"))
    conds = [x for x in ("spinal_cord_injury", "multiple_sclerosis", "stroke") if c.cond(x)]
    if conds:
        parts.append(", ".join(c.k.conditions[x].lower() for x in conds))
    if c.case.episode.kind == "stiffness":
        parts.append("stiffness rather than cramp")
    if c.med("baclofen"):
        parts.append("baclofen on the list (usually prescribed for spasticity)")
    return _join(parts) if parts else None


@trigger("differential.dystonia_or_myoclonus")
def _dystonia(c: Ctx, st: State) -> Result:
    parts = []
    if c.case.episode.kind in ("jerks", "twitching"):
        parts.append(f"the episode is described as {c.case.episode.kind}")
    signs = c.any_f("myoclonus", "torticollis", "asterixis")
    if signs:
        parts.append(c.fnames(signs))
    return _join(parts) if parts else None


# -------------------------------------------------------------------------------------- pharmacotherapy


def _pharm_gate(c: Ctx, st: State) -> str | None:
    """Common gate for drug trials: recurrent cramps, no open emergency/urgent red flag. Returns a prefix."""
    if not cramp_like(c) or not recurrent(c) or serious_flags(c):
        return None
    pending = [
        code for code in st.fired if code.startswith(("prescription.", "electrolytes.")) or code == "labs.order_missing"
    ]
    n = fmt_number(c.case.episode.episodes_last_4_weeks or 0)
    if pending:
        return f"{n} episodes in 4 weeks; only if cramps persist after the lab, dialysate and prescription steps above"
    return f"{n} episodes in 4 weeks; no pending prescription change found in the data given"


@trigger("pharmacotherapy.vitamin_e")
def _vit_e(c: Ctx, st: State) -> Result:
    gate = _pharm_gate(c, st)
    if gate is None or st.verdict("vitamin_e") == "avoid":
        return None
    v = st.verdicts["vitamin_e"]
    return _join([gate, "bleeding risk: prescriber to weigh it" if v.tightened_by else ""])


@trigger("pharmacotherapy.vitamin_c_short")
def _vit_c(c: Ctx, st: State) -> Result:
    gate = _pharm_gate(c, st)
    if gate is None or st.verdict("vitamin_c") == "avoid":
        return None
    return _join([gate, "short course only (oxalate)"])


@trigger("pharmacotherapy.levocarnitine")
def _carnitine(c: Ctx, st: State) -> Result:
    if not c.lab_hit("carnitine_low", "carnitine_free") or st.verdict("levocarnitine") == "avoid":
        return None
    if serious_flags(c) or not cramp_like(c) or not (recurrent(c) or c.idh):
        return None
    return _join(
        [
            f"{c.labtxt('carnitine_free')} (< {fmt_number(c.k.value('carnitine_low'))})",
            _pharm_gate(c, st) or c.vol.idh_reason,
        ]
    )


@trigger("pharmacotherapy.midodrine")
def _midodrine(c: Ctx, st: State) -> Result:
    if not c.idh or st.verdict("midodrine") == "avoid" or serious_flags(c) or not cramp_like(c):
        return None
    if not (recurrent(c) or c.case.episode.timing == "during_dialysis"):
        return None
    return _join(
        [
            f"cramps with intradialytic hypotension ({c.vol.idh_reason})",
            "only if IDH persists after the prescription steps",
        ]
    )


@trigger("pharmacotherapy.gabapentin_post_dialysis")
def _gabapentin(c: Ctx, st: State) -> Result:
    gate = _pharm_gate(c, st)
    if gate is None or st.verdict("gabapentin") == "avoid":
        return None
    if not c.hit("frequent_episodes_4w", c.case.episode.episodes_last_4_weeks):
        return None
    return _join([gate, "third line: only after a vitamin E trial has failed"])


@trigger("pharmacotherapy.cyclobenzaprine_short")
def _cyclo(c: Ctx, st: State) -> Result:
    e = c.case.episode
    if not e.sites or not ({"neck", "back"} & e.sites) or e.kind not in ("spasm", "stiffness"):
        return None
    if e.timing in (None, "during_dialysis") or c.flags or st.verdict("cyclobenzaprine") == "avoid":
        return None
    sites = "/".join(sorted({"neck", "back"} & e.sites))
    return _join([f"acute {sites} {e.kind} outside dialysis", "no red flag found in the data given"])


# ------------------------------------------------------------------------------------------- monitoring


@trigger("monitoring.cramp_diary")
def _diary(c: Ctx, st: State) -> Result:
    e = c.case.episode
    parts = ["track the pattern and the effect of every change"]
    if e.episodes_last_4_weeks is not None:
        parts.append(f"{fmt_number(e.episodes_last_4_weeks)} episodes in the last 4 weeks")
    return _join(parts)


@trigger("monitoring.magnesium_after_change")
def _mg_monitor(c: Ctx, st: State) -> Result:
    parts = []
    if "electrolytes.magnesium_dialysate" in st.fired:
        parts.append("dialysate magnesium change proposed")
    if c.med("magnesium_oral"):
        parts.append("on oral magnesium")
    return _join(parts) if parts else None


@trigger("monitoring.aluminium_schedule")
def _al_monitor(c: Ctx, st: State) -> Result:
    parts = []
    meds = c.group("aluminium_sources")
    if meds:
        parts.append(f"on {c.mnames(meds)}: every 3 months")
    if c.lab_hit("al_find_source", "aluminium"):
        parts.append(f"serum {c.labtxt('aluminium')}")
    if c.f("aluminium_exposure"):
        parts.append("aluminium exposure reported")
    return _join(parts) if parts else None


@trigger("monitoring.drug_trial_review")
def _trial_review(c: Ctx, st: State) -> Result:
    trials = [code.split(".", 1)[1] for code in st.fired if code.startswith("pharmacotherapy.")]
    on = [m for m in ("gabapentin", "pregabalin", "vitamin_e", "vitamin_c", "levocarnitine", "midodrine") if c.med(m)]
    parts = []
    if trials:
        parts.append("proposed: " + ", ".join(t.replace("_", " ") for t in trials))
    if on:
        parts.append("already on: " + c.mnames(on))
    return _join(parts) if parts else None


@trigger("monitoring.ecg")
def _ecg_monitor(c: Ctx, st: State) -> Result:
    parts = []
    if "labs.ecg" in st.fired:
        parts.append("ECG indicated now")
    meds = c.group("qt_prolonging")
    if meds:
        parts.append(f"on {c.mnames(meds)}")
    return _join(parts) if parts else None


# ------------------------------------------------------------------------------------------ run all


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
        if isinstance(result, tuple):
            why, suffix = result
        else:
            why, suffix = result, ""
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
