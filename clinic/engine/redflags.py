"""Red-flag detection (facts.md §5). One function per red-flag code; texts and urgencies come from redflags.toml.

Each rule returns ``None`` (not triggered) or ``(tier, why)`` where tier is "base" or "escalated" and ``why``
names the inputs (with values) that triggered it. A finding that was not assessed never triggers and never
clears a flag: it is listed in ``missing`` instead.
"""

from __future__ import annotations

from collections.abc import Callable

from .contract import URGENCIES
from .derived import Ctx
from .knowledge import fmt_number
from .screens import UPPER_BODY_SITES
from .types import RedFlag

Hit = tuple[str, str] | None
RULES: dict[str, Callable[[Ctx], Hit]] = {}

NEURO_AL = (
    "speech_disturbance",
    "myoclonus",
    "motor_dyspraxia",
    "seizure",
    "personality_change",
    "confusion",
    "asterixis",
)
CORD_DEFICITS = (
    "arm_weakness_or_numbness",
    "hand_clumsiness",
    "gait_change",
    "hyperreflexia_or_clonus",
    "sphincter_change",
)
NECK_PAIN = ("neck_pain_persistent", "neck_pain_progressive")
SPINE_PAIN = (*NECK_PAIN, "back_pain_persistent")


def rule(code: str) -> Callable[[Callable[[Ctx], Hit]], Callable[[Ctx], Hit]]:
    def deco(fn: Callable[[Ctx], Hit]) -> Callable[[Ctx], Hit]:
        RULES[code] = fn
        return fn

    return deco


def _hit(tier: str, parts: list[str]) -> Hit:
    return (tier, "; ".join(p for p in parts if p))


def _items(*parts: str) -> str:
    return ", ".join(p for p in parts if p)


def _aluminium_exposure(c: Ctx) -> list[str]:
    out = []
    if c.f("aluminium_exposure"):
        out.append("aluminium exposure reported")
    meds = c.group("aluminium_sources")
    if meds:
        out.append(f"on {c.mnames(meds)}" + (" with citrate" if c.med("citrate") else ""))
    return out


@rule("redflag.aluminium")
def _aluminium(c: Ctx) -> Hit:
    exposure = _aluminium_exposure(c)
    neuro = c.any_f(*NEURO_AL)
    high = c.lab_hit("al_dfo", "aluminium")
    if not ((exposure and neuro) or high):
        return None
    parts = []
    if exposure and neuro:
        parts.append(f"{'; '.join(exposure)}, plus {c.fnames(neuro)}")
    if high:
        if c.lab_hit("al_no_dfo", "aluminium"):
            band = f"{c.k.t('al_no_dfo').text}: no DFO, intensive high-flux HD"
        else:
            band = f"{c.k.t('al_dfo').text}: DFO test band"
        parts.append(f"serum {c.labtxt('aluminium')} ({band})")
    return _hit("escalated" if c.f("seizure") else "base", parts)


def _deficits(c: Ctx) -> list[str]:
    return c.any_f(*CORD_DEFICITS)


def _vintage_text(c: Ctx) -> str:
    v = c.case.patient.dialysis_vintage_months
    if v is None:
        return "time on dialysis not recorded"
    if c.hit("vintage_dsa_high", v):
        return f"{fmt_number(v)} months on dialysis (high DSA suspicion)"
    if c.hit("vintage_dsa_screen", v):
        return f"{fmt_number(v)} months on dialysis"
    return f"{fmt_number(v)} months on dialysis (DSA less likely, but compression still needs imaging)"


@rule("redflag.dsa_cord_compression")
def _cord(c: Ctx) -> Hit:
    pain = c.any_f(*SPINE_PAIN)
    deficits = _deficits(c)
    if not (pain and deficits):
        return None
    return _hit("base", [f"{c.fnames(pain)} with {c.fnames(deficits)}", _vintage_text(c)])


@rule("redflag.dsa_suspected")
def _dsa(c: Ctx) -> Hit:
    pain = c.any_f(*SPINE_PAIN)
    v = c.case.patient.dialysis_vintage_months
    if not pain or not c.hit("vintage_dsa_screen", v) or _deficits(c):
        return None
    return _hit("base", [c.fnames(pain), _vintage_text(c), "no neurological deficit reported"])


@rule("redflag.spinal_infection")
def _spinal_infection(c: Ctx) -> Hit:
    pain = c.any_f(*SPINE_PAIN)
    if not pain:
        return None
    infection: list[str] = []
    if c.f("fever"):
        infection.append("fever")
    temp = c.case.vitals.temperature_c
    if c.hit("fever_temp", temp):
        infection.append(f"temperature {fmt_number(temp or 0)} °C")
    if c.f("shivering_or_rigors"):
        infection.append(c.fname("shivering_or_rigors"))
    if c.case.patient.access == "catheter":
        infection.append("catheter access")
    if not infection:
        return None
    parts = [c.fnames(pain), ", ".join(infection)]
    deficits = _deficits(c)
    if deficits:
        parts.append(f"neurological deficit: {c.fnames(deficits)}")
    return _hit("escalated" if deficits else "base", parts)


@rule("redflag.acute_coronary")
def _acs(c: Ctx) -> Hit:
    # facts.md §5: neck, shoulder, jaw (face) or arm "spasm" with chest pressure, breathlessness, sweating,
    # hypotension or an arrhythmia. Chest pain or pressure on its own is enough.
    assoc = c.any_f("dyspnoea", "diaphoresis", "palpitations", "syncope")
    names = [c.fname(x) for x in assoc]
    if c.idh:
        names.append(f"low blood pressure ({c.vol.idh_reason})")
    hr = c.case.vitals.heart_rate_bpm
    if c.hit("heart_rate_low", hr):
        names.append(f"heart rate {fmt_number(hr or 0)} bpm")
    if c.f("chest_pain"):
        return _hit("base", [c.fname("chest_pain") + (f" with {', '.join(names)}" if names else "")])
    sites = c.case.episode.sites or frozenset()
    upper = [s for s in UPPER_BODY_SITES if s in sites]
    if upper and names:
        return _hit("base", [f"{'/'.join(upper)} symptoms with {', '.join(names)}"])
    return None


@rule("redflag.arrhythmia_risk")
def _arrhythmia(c: Ctx) -> Hit:
    k = c.k
    parts: list[str] = []
    kval = c.lab("potassium")
    if k.hit("k_low", kval) or k.hit("k_high_urgent", kval):
        parts.append(c.labtxt("potassium"))
    dk = c.case.dialysis.dialysate_potassium_mmol_l
    if k.hit("dialysate_k_very_low", dk):
        parts.append(f"dialysate potassium {fmt_number(dk or 0)} mmol/L")
    elif k.hit("dialysate_k_low", dk) and k.hit("k_serum_for_low_bath", kval):
        parts.append(f"dialysate potassium {fmt_number(dk or 0)} mmol/L with serum {c.labtxt('potassium')}")
    dca = c.case.dialysis.dialysate_calcium_mmol_l
    if k.hit("dialysate_ca_low", dca):
        parts.append(f"dialysate calcium {fmt_number(dca or 0)} mmol/L")
    mg = c.lab("magnesium")
    if k.hit("mg_severe_low", mg) or k.hit("mg_hyper", mg):
        parts.append(c.labtxt("magnesium"))
    if k.hit("ica_low", c.lab("calcium_ionised")):
        parts.append(c.labtxt("calcium_ionised"))
    if k.hit("qtc_high", c.lab("qtc")):
        parts.append(f"QTc {fmt_number(c.labs['qtc'])} ms")
    qt = c.group("qt_prolonging")
    if qt:
        parts.append(f"QT-prolonging drug: {c.mnames(qt)}")
    if c.med("cyclobenzaprine") and (c.cond("arrhythmia") or c.cond("heart_block")):
        parts.append("cyclobenzaprine with arrhythmia or heart block")
    symptoms = c.any_f("palpitations", "syncope")
    if symptoms:
        parts.append(c.fnames(symptoms))
    if not parts:
        return None
    unstable = bool(symptoms) and (c.idh or c.f("chest_pain"))
    if unstable:
        parts.append("with hypotension or chest pain (unstable)")
    return _hit("escalated" if unstable else "base", parts)


@rule("redflag.hyperkalaemia")
def _hyperk(c: Ctx) -> Hit:
    kval = c.lab("potassium")
    if c.hit("k_high_emergency", kval):
        return _hit("escalated", [f"{c.labtxt('potassium')} ({c.k.t('k_high_emergency').text})"])
    if c.hit("k_high_urgent", kval):
        return _hit("base", [f"{c.labtxt('potassium')} ({c.k.t('k_high_urgent').text})"])
    return None


@rule("redflag.hypokalaemia")
def _hypok(c: Ctx) -> Hit:
    kval = c.lab("potassium")
    if c.hit("k_low_emergency", kval):
        return _hit("escalated", [f"{c.labtxt('potassium')} ({c.k.t('k_low_emergency').text})"])
    if c.hit("k_low_urgent", kval):
        return _hit("base", [f"{c.labtxt('potassium')} ({c.k.t('k_low_urgent').text})"])
    return None


def hypocalcaemia_triggers(c: Ctx) -> list[str]:
    out = []
    if c.cond("parathyroidectomy_recent"):
        out.append("recent parathyroidectomy (hungry bone)")
    calcimimetics = c.group("calcimimetic")
    if calcimimetics:
        out.append(f"on {c.mnames(calcimimetics)}")
    dca = c.case.dialysis.dialysate_calcium_mmol_l
    if c.hit("dialysate_ca_low", dca):
        out.append(f"dialysate calcium {fmt_number(dca or 0)} mmol/L")
    db = c.case.dialysis.dialysate_bicarbonate_mmol_l
    if c.hit("dialysate_bicarb_high", db):
        out.append(f"dialysate bicarbonate {fmt_number(db or 0)} mmol/L (alkalosis)")
    if c.med("citrate"):
        out.append("citrate")
    return out


@rule("redflag.tetany")
def _tetany(c: Ctx) -> Hit:
    signs = c.any_f("carpopedal_spasm", "perioral_tingling", "chvostek_or_trousseau")
    ica = c.lab("calcium_ionised")
    parts: list[str] = []
    if signs:
        parts.append(c.fnames(signs))
    if c.hit("ica_critical", ica):
        parts.append(f"{c.labtxt('calcium_ionised')} (critical)")
    elif c.hit("ica_low", ica) and (signs or c.f("seizure")):
        parts.append(c.labtxt("calcium_ionised"))
    if c.cond("parathyroidectomy_recent") and c.lab_hit("tca_ptx_iv", "calcium_total"):
        parts.append(f"{c.labtxt('calcium_total')} after parathyroidectomy")
    if not parts:
        return None
    triggers = hypocalcaemia_triggers(c)
    if triggers:
        parts.append("possible triggers: " + ", ".join(triggers))
    return _hit("base", parts)


@rule("redflag.baclofen_toxicity")
def _baclofen(c: Ctx) -> Hit:
    if not c.med("baclofen"):
        return None
    signs = c.any_f("drowsiness", "confusion", "myoclonus", "seizure", "hyporeflexia", "personality_change")
    extra = []
    hr = c.case.vitals.heart_rate_bpm
    if c.hit("heart_rate_low", hr):
        extra.append(f"heart rate {fmt_number(hr or 0)} bpm")
    if c.idh:
        extra.append("low blood pressure")
    t = c.case.vitals.temperature_c
    if c.hit("core_temp_low", t):
        extra.append(f"temperature {fmt_number(t or 0)} °C")
    if not signs and not extra:
        return None
    return _hit("base", ["on baclofen", _items(c.fnames(signs), *extra)])


@rule("redflag.gabapentinoid_toxicity")
def _gaba(c: Ctx) -> Hit:
    drugs = c.group("gabapentinoid")
    if not drugs:
        return None
    signs = c.any_f("drowsiness", "confusion", "myoclonus", "asterixis", "gait_change")
    if not signs:
        return None
    sedatives = c.group("sedative_respiratory")
    parts = [f"on {c.mnames(drugs)}", c.fnames(signs)]
    escalate = c.f("drowsiness") and bool(sedatives)
    if escalate:
        parts.append(f"drowsy while also on {c.mnames(sedatives)} (respiratory depression risk)")
    return _hit("escalated" if escalate else "base", parts)


@rule("redflag.seizure")
def _seizure(c: Ctx) -> Hit:
    if not c.f("seizure"):
        return None
    causes = []
    s = c.case.patient.sessions_completed
    if c.hit("first_sessions", s):
        causes.append("first sessions")
    if c.hit("missed_sessions", c.case.dialysis.missed_or_shortened_sessions_last_month):
        causes.append("missed sessions")
    for tid, analyte in (
        ("urea_disequilibrium", "urea"),
        ("glucose_low", "glucose"),
        ("na_block_high_na", "sodium"),
        ("ica_low", "calcium_ionised"),
        ("al_find_source", "aluminium"),
    ):
        if c.lab_hit(tid, analyte):
            causes.append(c.labtxt(analyte))
    drugs = c.group("seizure_threshold") + [m for m in ("gabapentin", "pregabalin") if c.med(m)]
    if drugs:
        causes.append("drugs: " + c.mnames(drugs))
    return _hit("base", ["seizure reported", ("look first at: " + ", ".join(causes)) if causes else ""])


@rule("redflag.cefepime_neurotoxicity")
def _cefepime(c: Ctx) -> Hit:
    if not c.med("cefepime"):
        return None
    signs = c.any_f("confusion", "myoclonus", "drowsiness", "seizure")
    if not signs:
        return None
    return _hit("base", ["on cefepime", c.fnames(signs)])


@rule("redflag.cool_dialysate_or_rigors")
def _cold(c: Ctx) -> Hit:
    parts = []
    rigors = c.f("shivering_or_rigors")
    if rigors:
        parts.append(c.fname("shivering_or_rigors"))
    dt = c.case.dialysis.dialysate_temperature_c
    if c.hit("dialysate_temp_floor", dt):
        parts.append(f"dialysate set at {fmt_number(dt or 0)} °C")
    t = c.case.vitals.temperature_c
    if c.hit("core_temp_low", t):
        parts.append(f"core temperature {fmt_number(t or 0)} °C")
    if not parts:
        return None
    sepsis = []
    if rigors:
        if c.f("fever") or c.hit("fever_temp", t):
            sepsis.append("fever")
        if c.case.patient.access == "catheter":
            sepsis.append("catheter access")
        if c.idh:
            sepsis.append("low blood pressure")
    if sepsis:
        parts.append("possible bacteraemia: rigors with " + ", ".join(sepsis))
    return _hit("escalated" if sepsis else "base", parts)


@rule("redflag.hyponatraemia")
def _hypona(c: Ctx) -> Hit:
    na = c.lab("sodium")
    if c.hit("na_severe", na):
        return _hit("base", [f"{c.labtxt('sodium')} ({c.k.t('na_severe').text})"])
    neuro = c.any_f("confusion", "drowsiness", "seizure", "headache", "nausea")
    if c.hit("na_block_high_na", na) and neuro:
        return _hit("base", [f"{c.labtxt('sodium')} with {c.fnames(neuro)}"])
    return None


@rule("redflag.hypoglycaemia")
def _hypoglycaemia(c: Ctx) -> Hit:
    g = c.lab("glucose")
    if not c.hit("glucose_low", g):
        return None
    drugs = c.group("hypoglycaemic")
    return _hit("base", [c.labtxt("glucose"), f"on {c.mnames(drugs)}" if drugs else ""])


@rule("redflag.access_ischaemia")
def _access(c: Ctx) -> Hit:
    if not c.f("access_hand_ischaemia"):
        return None
    access = c.case.patient.access
    return _hit("base", [c.fname("access_hand_ischaemia"), f"{access} access" if access else ""])


@rule("redflag.disequilibrium")
def _diseq(c: Ctx) -> Hit:
    risks = []
    s = c.case.patient.sessions_completed
    if c.hit("first_sessions", s):
        risks.append(f"session number {fmt_number(s or 0)}")
    if c.lab_hit("urea_disequilibrium", "urea"):
        risks.append(c.labtxt("urea"))
    missed = c.case.dialysis.missed_or_shortened_sessions_last_month
    if c.hit("missed_sessions", missed):
        risks.append(f"{fmt_number(missed or 0)} missed or shortened sessions")
    if not risks:
        return None
    symptoms = c.any_f("headache", "nausea", "restlessness", "confusion", "seizure", "myoclonus")
    if c.case.episode.kind == "twitching":
        symptoms.append("twitching")
    if not symptoms:
        return None
    names = [c.fname(s) if s in c.k.findings else s for s in symptoms]
    return _hit("escalated" if c.f("seizure") else "base", [", ".join(risks), "with " + ", ".join(names)])


@rule("redflag.hypermagnesaemia")
def _hypermg(c: Ctx) -> Hit:
    mg = c.lab("magnesium")
    sources = c.group("magnesium_sources")
    parts = []
    if c.hit("mg_hyper", mg):
        parts.append(f"{c.labtxt('magnesium')} ({c.k.t('mg_hyper').text})")
    elif c.f("hyporeflexia") and (c.hit("mg_high_intake", mg) or sources):
        parts.append(f"{c.fname('hyporeflexia')} with " + (c.labtxt("magnesium") if mg is not None else "magnesium"))
    if not parts:
        return None
    if sources:
        parts.append(f"on {c.mnames(sources)}")
    severe = c.f("hyporeflexia") or c.idh or c.hit("heart_rate_low", c.case.vitals.heart_rate_bpm)
    return _hit("escalated" if severe and c.hit("mg_hyper", mg) else "base", parts)


@rule("redflag.myopathy")
def _myopathy(c: Ctx) -> Hit:
    parts = []
    if c.f("severe_muscle_pain_or_weakness"):
        parts.append(c.fname("severe_muscle_pain_or_weakness"))
    if c.lab_hit("ck_high", "creatine_kinase_x_uln"):
        parts.append(f"creatine kinase {fmt_number(round(c.labs['creatine_kinase_x_uln'], 1))} × ULN")
    if not parts:
        return None
    culprits = c.group("myotoxic")
    if culprits:
        parts.append(f"on {c.mnames(culprits)}")
    return _hit("base", parts)


@rule("redflag.drug_dystonia")
def _dystonia(c: Ctx) -> Hit:
    if not c.f("torticollis"):
        return None
    drugs = c.group("dystonia_inducing")
    if drugs:
        return _hit("base", [f"{c.fname('torticollis')} on {c.mnames(drugs)}"])
    if not c.meds_known:
        return _hit("base", [f"{c.fname('torticollis')}; medication list not recorded, so a drug cause is open"])
    return None


@rule("redflag.stroke")
def _stroke(c: Ctx) -> Hit:
    signs = c.any_f("focal_deficit", "sudden_severe_headache", "neck_stiffness")
    if not signs:
        return None
    return _hit("base", [c.fnames(signs)])


@rule("redflag.serotonin_syndrome")
def _serotonin(c: Ctx) -> Hit:
    drugs = c.group("serotonergic")
    if len(drugs) < 2:
        return None
    signs = c.any_f("hyperreflexia_or_clonus", "agitation_or_hyperthermia", "myoclonus")
    t = c.case.vitals.temperature_c
    extra = [f"temperature {fmt_number(t or 0)} °C"] if c.hit("fever_temp", t) else []
    if not signs and not extra:
        return None
    return _hit("base", [f"on {c.mnames(drugs)}", _items(c.fnames(signs), *extra)])


def detect(ctx: Ctx) -> tuple[RedFlag, ...]:
    """Run every red-flag rule, record hits on ctx.flags and return them most urgent first."""
    k = ctx.k
    out: list[tuple[int, int, RedFlag]] = []
    for code, definition in k.red_flags.items():
        fn = RULES.get(code)
        if fn is None:
            continue
        hit = fn(ctx)
        if hit is None:
            continue
        tier, why = hit
        urgency = definition.urgency.get(tier) or definition.urgency["base"]
        ctx.flags[code] = (urgency, why)
        out.append(
            (
                URGENCIES.index(urgency),
                definition.order,
                RedFlag(
                    code=code,
                    urgency=urgency,  # type: ignore[arg-type]
                    title=definition.title,
                    why=why[0].upper() + why[1:] if why else definition.criteria,
                    actions=definition.actions,
                    sources=definition.sources,
                    evidence=definition.evidence,  # type: ignore[arg-type]
                    criteria=definition.criteria,
                ),
            )
        )
    out.sort(key=lambda t: (t[0], t[1]))
    return tuple(r for _, _, r in out)
