"""Triggers of the "electrolytes" and "prescription" steps (facts.md §4, §6b orders 1–2). Texts: actions.toml."""

from __future__ import annotations

from .action_rules import Result, State, cramp_like, join, late_in_session, recurrent, trigger
from .derived import Ctx
from .knowledge import fmt_number

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
        parts.append(f"{c.labtxt('magnesium')} ({c.k.t('mg_low').text})")
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
    return join(parts) if parts else None


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
    return join([f"documented {c.labtxt('magnesium')} with {' and '.join(low)}", "no tetany, seizure or arrhythmia"])


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
    return join(list(dict.fromkeys(parts))) if parts else None


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
    return join(parts) if parts else None


@trigger("electrolytes.bicarbonate_review")
def _bicarb(c: Ctx, st: State) -> Result:
    parts = []
    if c.lab_hit("bicarb_low", "bicarbonate"):
        parts.append(f"pre-HD {c.labtxt('bicarbonate')} (acidosis)")
    db = c.case.dialysis.dialysate_bicarbonate_mmol_l
    if c.hit("dialysate_bicarb_high", db):
        parts.append(f"dialysate bicarbonate {fmt_number(db or 0)} mmol/L")
    return join(parts) if parts else None


@trigger("electrolytes.stop_magnesium_sources")
def _stop_mg(c: Ctx, st: State) -> Result:
    parts = []
    sources = c.group("magnesium_sources")
    if sources:
        parts.append(f"on {c.mnames(sources)}")
    if c.lab_hit("mg_high_intake", "magnesium"):
        parts.append(f"{c.labtxt('magnesium')} ({c.k.t('mg_high_intake').text})")
    if "redflag.hypermagnesaemia" in c.flags:
        parts.append("hypermagnesaemia")
    return join(list(dict.fromkeys(parts))) if parts else None


@trigger("electrolytes.sodium_caution")
def _na(c: Ctx, st: State) -> Result:
    if not c.lab_hit("na_block_high_na", "sodium"):
        return None
    return join([f"pre-HD {c.labtxt('sodium')}"])


# ----------------------------------------------------------------------------------------- prescription


@trigger("prescription.reassess_dry_weight")
def _dry_weight(c: Ctx, st: State) -> Result:
    # facts.md §4: recurrent late-session cramps, or hypotension, suggest the target weight is set too low.
    # A high UF rate or weight gain alone is handled by lower_uf_rate / fluid_sodium_counselling.
    e = c.case.episode
    parts = []
    if c.idh:
        parts.append(c.vol.idh_reason)
    if cramp_like(c) and recurrent(c) and late_in_session(c):
        parts.append(
            f"recurrent late-session cramps ({fmt_number(e.episodes_last_4_weeks or 0)} in 4 weeks; this one "
            f"{fmt_number(e.minutes_into_session or 0)} of {fmt_number(c.case.dialysis.session_minutes or 0)} minutes)"
        )
    return join(parts) if parts else None


@trigger("prescription.lower_uf_rate")
def _lower_ufr(c: Ctx, st: State) -> Result:
    ufr = c.vol.uf_rate
    if c.hit("ufr_high", ufr):
        return f"UF rate {ufr:.1f} mL/kg/h ({c.k.t('ufr_high').text}): lengthen or add a session"
    if c.hit("ufr_flag", ufr):
        return f"UF rate {ufr:.1f} mL/kg/h ({c.k.t('ufr_flag').text})"
    return None


@trigger("prescription.fluid_sodium_counselling")
def _counsel(c: Ctx, st: State) -> Result:
    parts = []
    idwg = c.vol.idwg
    if c.hit("idwg_high", idwg):
        parts.append(f"IDWG {idwg:.1f}% ({c.k.t('idwg_high').text}: nephrologist review)")
    elif c.hit("idwg_counsel", idwg):
        parts.append(f"IDWG {idwg:.1f}% ({c.k.t('idwg_counsel').text})")
    if c.hit("ufr_high", c.vol.uf_rate):
        parts.append(f"UF rate {c.vol.uf_rate:.1f} mL/kg/h")
    return join(parts) if parts else None


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
    return join(parts)


@trigger("prescription.dialysate_temperature_floor")
def _floor(c: Ctx, st: State) -> Result:
    dt = c.case.dialysis.dialysate_temperature_c
    if c.hit("dialysate_temp_floor", dt):
        return f"Dialysate set at {fmt_number(dt or 0)} °C ({c.k.t('dialysate_temp_floor').text})"
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
    return join(parts)


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
    return join(parts) if parts else None


@trigger("prescription.intradialytic_hypotension")
def _idh(c: Ctx, st: State) -> Result:
    return join([c.vol.idh_reason]) if c.idh else None
