"""Stable names from the engine contract (docs/contract.md, contract v1).

These tuples are the *contract*: the knowledge files must declare every one of them (checked by
``integrity.check_integrity``) and the engine must never rename or drop one. New optional codes may be
added to the knowledge files; they are then checked against the Python implementation instead.
"""

from __future__ import annotations

from typing import Final

CASE_SCHEMA: Final = "chairside.case/1"
PLAN_SCHEMA: Final = "chairside.plan/1"

SEXES: Final = ("female", "male", "other", "unknown")
HEPATIC: Final = ("none", "mild", "moderate", "severe")
ACCESS: Final = ("fistula", "graft", "catheter")
TIMINGS: Final = ("during_dialysis", "after_dialysis", "between_sessions")
SITES: Final = ("neck", "shoulders", "back", "legs", "arms", "hands", "face", "generalised")  # face includes the jaw
KINDS: Final = ("cramp", "spasm", "jerks", "twitching", "stiffness")
LAB_WHEN: Final = ("pre_dialysis", "post_dialysis", "other")
BUFFERS: Final = ("bicarbonate", "acetate")
FLUX: Final = ("high", "low")

URGENCIES: Final = ("emergency", "urgent", "soon")  # most urgent first
VERDICTS: Final = ("usable", "caution", "avoid")  # least strict first: index = strictness
WHO: Final = ("nurse", "nephrologist")
EVIDENCE: Final = ("V", "S", "U")

ANALYTES: Final = (
    "magnesium",
    "calcium_ionised",
    "calcium_total",
    "albumin",
    "potassium",
    "sodium",
    "phosphate",
    "bicarbonate",
    "aluminium",
    "glucose",
    "urea",
    "creatine_kinase_x_uln",
    "qtc",
    "carnitine_free",
    "beta2_microglobulin",
)

FINDINGS: Final = (
    "speech_disturbance",
    "personality_change",
    "confusion",
    "drowsiness",
    "myoclonus",
    "seizure",
    "motor_dyspraxia",
    "asterixis",
    "neck_pain_persistent",
    "neck_pain_progressive",
    "back_pain_persistent",
    "arm_weakness_or_numbness",
    "hand_clumsiness",
    "gait_change",
    "sphincter_change",
    "hyperreflexia_or_clonus",
    "fever",
    "chest_pain",
    "dyspnoea",
    "diaphoresis",
    "palpitations",
    "syncope",
    "carpopedal_spasm",
    "perioral_tingling",
    "chvostek_or_trousseau",
    "shivering_or_rigors",
    "access_hand_ischaemia",
    "headache",
    "nausea",
    "restlessness",
    "urge_to_move_relieved_by_movement",
    "torticollis",
    "focal_deficit",
    "sudden_severe_headache",
    "neck_stiffness",
    "intradialytic_hypotension",
    "hyporeflexia",
    "severe_muscle_pain_or_weakness",
    "agitation_or_hyperthermia",
    "aluminium_exposure",
)

CONDITIONS: Final = (
    "heart_failure",
    "heart_block",
    "arrhythmia",
    "recent_myocardial_infarction",
    "hyperthyroidism",
    "glaucoma",
    "urinary_retention",
    "supine_hypertension",
    "parathyroidectomy_recent",
    "spinal_cord_injury",
    "multiple_sclerosis",
    "stroke",
)

MEDICATIONS: Final = (
    "baclofen",
    "tizanidine",
    "carisoprodol",
    "metaxalone",
    "orphenadrine",
    "dantrolene",
    "diazepam",
    "cyclobenzaprine",
    "methocarbamol",
    "gabapentin",
    "pregabalin",
    "quinine",
    "quinidine",
    "vitamin_e",
    "vitamin_c",
    "levocarnitine",
    "midodrine",
    "magnesium_oral",
    "magnesium_antacid_or_laxative",
    "aluminium_hydroxide",
    "sucralfate",
    "citrate",
    "cinacalcet",
    "etelcalcetide",
    "cefepime",
    "metoclopramide",
    "antipsychotic",
    "ssri_or_snri",
    "tramadol",
    "maoi",
    "opioid",
    "benzodiazepine",
    "warfarin",
    "antiplatelet",
    "statin",
    "fibrate",
    "colchicine",
    "diuretic",
    "insulin",
    "sulfonylurea",
    "qt_prolonging_other",
    "sevelamer",
    "calcium_acetate",
    "lanthanum",
)

RED_FLAGS: Final = (
    "redflag.aluminium",
    "redflag.dsa_suspected",
    "redflag.dsa_cord_compression",
    "redflag.spinal_infection",
    "redflag.acute_coronary",
    "redflag.arrhythmia_risk",
    "redflag.hyperkalaemia",
    "redflag.hypokalaemia",
    "redflag.tetany",
    "redflag.baclofen_toxicity",
    "redflag.gabapentinoid_toxicity",
    "redflag.seizure",
    "redflag.cefepime_neurotoxicity",
    "redflag.cool_dialysate_or_rigors",
    "redflag.hyponatraemia",
    "redflag.hypoglycaemia",
    "redflag.access_ischaemia",
    "redflag.disequilibrium",
    "redflag.hypermagnesaemia",
    "redflag.myopathy",
    "redflag.drug_dystonia",
    "redflag.stroke",
    "redflag.serotonin_syndrome",
)

STEPS: Final = (
    "acute",
    "labs",
    "electrolytes",
    "prescription",
    "medications",
    "differential",
    "pharmacotherapy",
    "monitoring",
)

ACTIONS: Final = (
    "acute.reduce_uf",
    "acute.keep_blood_flow",
    "acute.saline_bolus",
    "acute.hypertonic_rescue",
    "acute.physical_measures",
    "acute.check_glucose",
    "labs.order_missing",
    "labs.use_ionised_calcium",
    "labs.aluminium_level",
    "labs.ecg",
    "labs.creatine_kinase",
    "electrolytes.magnesium_dialysate",
    "electrolytes.magnesium_before_potassium_calcium",
    "electrolytes.calcium_dialysate",
    "electrolytes.potassium_dialysate",
    "electrolytes.bicarbonate_review",
    "electrolytes.stop_magnesium_sources",
    "electrolytes.sodium_caution",
    "prescription.reassess_dry_weight",
    "prescription.lower_uf_rate",
    "prescription.fluid_sodium_counselling",
    "prescription.cool_dialysate",
    "prescription.dialysate_temperature_floor",
    "prescription.sodium_profiling_caution",
    "prescription.bicarbonate_buffer",
    "prescription.high_flux",
    "prescription.adequacy_review",
    "prescription.intradialytic_hypotension",
    "medications.taper_baclofen",
    "medications.remove_aluminium_sources",
    "medications.review_cramp_inducing",
    "medications.review_qt_drugs",
    "differential.restless_legs",
    "differential.spasticity",
    "differential.dystonia_or_myoclonus",
    "pharmacotherapy.vitamin_e",
    "pharmacotherapy.vitamin_c_short",
    "pharmacotherapy.levocarnitine",
    "pharmacotherapy.midodrine",
    "pharmacotherapy.gabapentin_post_dialysis",
    "pharmacotherapy.cyclobenzaprine_short",
    "monitoring.cramp_diary",
    "monitoring.magnesium_after_change",
    "monitoring.aluminium_schedule",
    "monitoring.drug_trial_review",
    "monitoring.ecg",
)

DRUGS: Final = (
    "baclofen",
    "tizanidine",
    "carisoprodol",
    "metaxalone",
    "orphenadrine",
    "dantrolene",
    "diazepam",
    "cyclobenzaprine",
    "methocarbamol",
    "gabapentin",
    "pregabalin",
    "quinine",
    "quinidine",
    "vitamin_e",
    "vitamin_c",
    "levocarnitine",
    "midodrine",
    "hypertonic_saline",
    "dextrose_50",
    "mannitol",
    "magnesium_dialysate",
    "magnesium_oral",
    "magnesium_iv",
)

# Drugs that no input can ever make orderable (facts.md §0 items 1 and 10).
HARD_STOP_DRUGS: Final = ("baclofen", "quinine", "quinidine")
