"""Plan -> dict (contract shape plus optional extra fields) -> canonical JSON.

``plan_to_json`` is canonical: keys sorted, no insignificant whitespace, UTF-8 text kept as is, NaN rejected. The
same plan always gives the byte-identical string, so the CLI and the HTTP API can share it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from .types import Action, CarePlan, DoNow, DrugVerdict, RedFlag, Step


def _red_flag(r: RedFlag) -> dict[str, Any]:
    return {
        "code": r.code,
        "urgency": r.urgency,
        "title": r.title,
        "why": r.why,
        "actions": list(r.actions),
        "sources": list(r.sources),
        "evidence": r.evidence,
        "criteria": r.criteria,
    }


def _action(a: Action) -> dict[str, Any]:
    out: dict[str, Any] = {
        "code": a.code,
        "text": a.text,
        "why": a.why,
        "who": a.who,
        "evidence": a.evidence,
        "sources": list(a.sources),
    }
    if a.nurse_text is not None:
        out["nurse_text"] = a.nurse_text
    return out


def _step(s: Step) -> dict[str, Any]:
    return {"code": s.code, "title": s.title, "actions": [_action(a) for a in s.actions]}


def _drug(d: DrugVerdict) -> dict[str, Any]:
    return {
        "drug": d.drug,
        "verdict": d.verdict,
        "why": d.why,
        "dose": d.dose,
        "sources": list(d.sources),
        "name": d.name,
        "default_verdict": d.default_verdict,
        "evidence": d.evidence,
        "hard_stop": d.hard_stop,
        "tightened_by": list(d.tightened_by),
        "on_medication_list": d.on_medication_list,
        "not_assessed": list(d.not_assessed),
        "max_duration": d.max_duration,
        "monitoring": d.monitoring,
    }


def _do_now(d: DoNow) -> dict[str, Any]:
    return {"code": d.code, "text": d.text}


def plan_to_dict(plan: CarePlan) -> dict[str, Any]:
    d = plan.derived
    return {
        "schema": plan.schema,
        "knowledge_version": plan.knowledge_version,
        "red_flags": [_red_flag(r) for r in plan.red_flags],
        "steps": [_step(s) for s in plan.steps],
        "drugs": [_drug(x) for x in plan.drugs],
        "derived": {
            "uf_rate_ml_kg_h": d.uf_rate_ml_kg_h,
            "idwg_percent": d.idwg_percent,
            "corrected_calcium_mmol_l": d.corrected_calcium_mmol_l,
            "labs_si": dict(d.labs_si),
            "uf_volume_ml": d.uf_volume_ml,
            "uf_rate_band": d.uf_rate_band,
            "idwg_band": d.idwg_band,
            "sbp_fall_mmhg": d.sbp_fall_mmhg,
            "intradialytic_hypotension": d.intradialytic_hypotension,
            "lab_flags": dict(d.lab_flags),
            **({"labs_si_post_dialysis": dict(d.labs_si_post_dialysis)} if d.labs_si_post_dialysis else {}),
        },
        "missing": list(plan.missing),
        "warnings": list(plan.warnings),
        "input_checks": list(plan.input_checks),
        "knowledge_status": plan.knowledge_status,
        "knowledge_hash": plan.knowledge_hash,
        "do_now": [_do_now(x) for x in plan.do_now],
    }


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def plan_to_json(plan: CarePlan) -> str:
    return _canonical(plan_to_dict(plan))


def errors_to_json(errors: Iterable[Mapping[str, str]]) -> str:
    return _canonical({"errors": [{"field": str(e["field"]), "message": str(e["message"])} for e in errors]})
