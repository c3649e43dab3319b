"""Read and validate the knowledge TOML files (clinic/knowledge/*.toml) into a Knowledge object.

Structural problems (a missing field, an unknown placeholder, a bad operator) raise ``KnowledgeError``.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .contract import EVIDENCE, STEPS, URGENCIES, VERDICTS, WHO
from .knowledge_types import (
    ActionDef,
    Analyte,
    DoNowDef,
    DrugDef,
    FindingCode,
    Knowledge,
    KnowledgeError,
    OrderLimit,
    RedFlagDef,
    Reference,
    ScreenDef,
    StepDef,
    Threshold,
    TightenRule,
    UnitDef,
    fmt_number,
    normalise_unit,
)

FILES = (
    "meta.toml",
    "references.toml",
    "analytes.toml",
    "codes.toml",
    "thresholds.toml",
    "policy.toml",
    "redflags.toml",
    "actions.toml",
    "drugs.toml",
    "medicine_names.toml",  # read by medicine_names.py; listed here so its content is part of the hash
)
_OPS = ("<", "<=", ">", ">=")
# {threshold.ID} / {policy.ID} quote the number; {threshold.ID.text} the whole comparison ("< 0.7 mmol/L");
# {advice.ID} a sentence that several texts share (actions.toml [advice]).
_PLACEHOLDER = re.compile(r"\{(threshold|policy)\.([a-z0-9_]+)(\.text)?\}")
_ADVICE = re.compile(r"\{advice\.([a-z0-9_]+)\}")


def _req(table: Mapping[str, Any], key: str, where: str, kind: type | tuple[type, ...] = str) -> Any:
    if key not in table:
        raise KnowledgeError(f"{where}: missing '{key}'")
    value = table[key]
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise KnowledgeError(f"{where}.{key}: expected a number")
        return float(value)
    if not isinstance(value, kind):
        raise KnowledgeError(f"{where}.{key}: expected {kind}")
    return value


def _opt_float(table: Mapping[str, Any], key: str, where: str) -> float | None:
    if key not in table:
        return None
    return _req(table, key, where, float)  # type: ignore[no-any-return]


def _sources(table: Mapping[str, Any], where: str) -> tuple[str, ...]:
    src = table.get("sources")
    if not isinstance(src, list) or not all(isinstance(s, str) for s in src):
        raise KnowledgeError(f"{where}.sources: expected a list of reference ids")
    return tuple(src)


def _str_list(table: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise KnowledgeError(f"{where}.{key}: expected a list of strings")
    return tuple(value)


def _flag_ranks(table: Mapping[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for urgency, rank in table.items():
        if urgency not in URGENCIES or isinstance(rank, bool) or not isinstance(rank, int):
            raise KnowledgeError(f"do_now_flags.{urgency}: expected an urgency and a whole-number rank")
        out[urgency] = rank
    return out


def _evidence(table: Mapping[str, Any], where: str) -> str:
    ev = _req(table, "evidence", where)
    if ev not in EVIDENCE:
        raise KnowledgeError(f"{where}.evidence: must be one of {EVIDENCE}")
    return str(ev)


def build_knowledge(directory: Path) -> Knowledge:
    raw: dict[str, dict[str, Any]] = {}
    digest = hashlib.sha256()
    for name in FILES:
        data = (directory / name).read_bytes()
        digest.update(name.encode() + b"\0" + data + b"\0")
        try:
            raw[name] = tomllib.loads(data.decode("utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise KnowledgeError(f"{name}: {exc}") from exc

    meta = raw["meta.toml"]
    references = {
        rid: Reference(rid, _req(t, "title", f"references.{rid}"), t.get("url") or None, t.get("secondary") is True)
        for rid, t in raw["references.toml"].items()
    }

    # thresholds + policy: one namespace
    thresholds: dict[str, Threshold] = {}
    for fname, label in (("thresholds.toml", "thresholds"), ("policy.toml", "policy")):
        for tid, t in raw[fname].items():
            where = f"{label}.{tid}"
            if tid in thresholds:
                raise KnowledgeError(f"{where}: id also defined in {thresholds[tid].source_file}.toml")
            op = t.get("op")
            if op is not None and op not in _OPS:
                raise KnowledgeError(f"{where}.op: must be one of {_OPS}")
            thresholds[tid] = Threshold(
                id=tid,
                source_file=label,
                label=_req(t, "label", where),
                op=op,
                value=_req(t, "value", where, float),
                unit=_req(t, "unit", where),
                evidence=_evidence(t, where),
                sources=_sources(t, where),
                note=str(t.get("note", "")),
                facts_default=_opt_float(t, "facts_default", where),
                analyte=t.get("analyte"),
                in_units=MappingProxyType(
                    {normalise_unit(u): _req(t["in_units"], u, where, float) for u in t.get("in_units", {})}
                ),
                post_dialysis=bool(t.get("post_dialysis", False)),
                context=bool(t.get("context", False)),
            )

    placeholders: list[tuple[str, str]] = []
    advice = {str(key): str(value) for key, value in raw["actions.toml"].get("advice", {}).items()}

    def render(text: str | None, where: str) -> str | None:
        if text is None:
            return None

        def sub(m: re.Match[str]) -> str:
            kind, tid = m.group(1), m.group(2)
            th = thresholds.get(tid)
            if th is None or th.source_file != ("thresholds" if kind == "threshold" else "policy"):
                raise KnowledgeError(f"{where}: unknown placeholder {{{kind}.{tid}}}")
            placeholders.append((where, f"{kind}.{tid}"))
            return th.text if m.group(3) else fmt_number(th.value)

        def sub_advice(m: re.Match[str]) -> str:
            if m.group(1) not in advice:
                raise KnowledgeError(f"{where}: unknown placeholder {{advice.{m.group(1)}}}")
            return advice[m.group(1)]

        return _PLACEHOLDER.sub(sub, _ADVICE.sub(sub_advice, text))

    def render_req(text: str, where: str) -> str:
        out = render(text, where)
        assert out is not None
        return out

    # analytes
    analytes: dict[str, Analyte] = {}
    for code, t in raw["analytes.toml"].items():
        where = f"analytes.{code}"
        units: list[UnitDef] = []
        for i, u in enumerate(_req(t, "units", where, list)):
            uw = f"{where}.units[{i}]"
            to_si = _req(u, "to_si", uw, float)
            if to_si <= 0:
                raise KnowledgeError(f"{uw}.to_si must be positive")
            from_si = _opt_float(u, "from_si", uw)
            units.append(UnitDef(_req(u, "unit", uw), to_si, from_si if from_si is not None else 1.0 / to_si))
        lookup = {normalise_unit(u.unit): u for u in units}
        lo = _req(t, "plausible_min", where, float)
        hi = _req(t, "plausible_max", where, float)
        if not lo < hi:
            raise KnowledgeError(f"{where}: plausible_min must be below plausible_max")
        analytes[code] = Analyte(
            code=code,
            name=_req(t, "name", where),
            short=str(t.get("short") or _req(t, "name", where).lower()),
            si_unit=_req(t, "si_unit", where),
            decimals=int(_req(t, "decimals", where, int)),
            units=tuple(units),
            plausible_min=lo,
            plausible_max=hi,
            reference_low=_opt_float(t, "reference_low", where),
            reference_high=_opt_float(t, "reference_high", where),
            high_inclusive=bool(t.get("high_inclusive", False)),
            needed_for_cramp_workup=bool(t.get("needed_for_cramp_workup", False)),
            loinc=tuple(t.get("loinc", ())),
            unit_lookup=MappingProxyType(lookup),
            reference_in=MappingProxyType(
                {
                    normalise_unit(u): (_opt_float(r, "low", where), _opt_float(r, "high", where))
                    for u, r in t.get("reference_in", {}).items()
                }
            ),
        )
        if normalise_unit(analytes[code].si_unit) not in lookup:
            raise KnowledgeError(f"{where}: the SI unit must also be an accepted unit")

    codes = raw["codes.toml"]
    findings = {
        code: FindingCode(
            code,
            _req(t, "name", f"findings.{code}"),
            _req(t, "question", f"findings.{code}"),
            _req(t, "group", f"findings.{code}"),
            bool(t.get("screen", False)),
            tuple(str(c) for c in t.get("ask_when", ())),
        )
        for code, t in codes.get("findings", {}).items()
    }
    conditions = {str(k): str(v) for k, v in codes.get("conditions", {}).items()}
    medications = {str(k): str(v) for k, v in codes.get("medications", {}).items()}
    groups = {str(k): tuple(v) for k, v in codes.get("medication_groups", {}).items()}

    # steps and actions
    acts = raw["actions.toml"]
    steps: dict[str, StepDef] = {}
    for code, t in acts.get("steps", {}).items():
        if code not in STEPS:
            raise KnowledgeError(f"steps.{code}: not a contract step")
        steps[code] = StepDef(code, _req(t, "title", f"steps.{code}"), STEPS.index(code))
    actions: dict[str, ActionDef] = {}
    for code, t in acts.get("action", {}).items():
        where = f"action.{code}"
        step = _req(t, "step", where)
        if step not in steps or not code.startswith(step + "."):
            raise KnowledgeError(f"{where}: step '{step}' must be a declared step and prefix the code")
        who = _req(t, "who", where)
        if who not in WHO:
            raise KnowledgeError(f"{where}.who: must be one of {WHO}")
        do_now = None
        if "do_now" in t:
            dn = _req(t, "do_now", where, dict)
            do_now = DoNowDef(
                int(_req(dn, "rank", f"{where}.do_now", int)),
                render_req(_req(dn, "text", f"{where}.do_now"), where),
                bool(dn.get("with_why", False)),
            )
        line = t.get("line")
        if line is not None and (isinstance(line, bool) or not isinstance(line, int) or line < 1):
            raise KnowledgeError(f"{where}.line: expected a positive whole number")
        actions[code] = ActionDef(
            code=code,
            step=step,
            text=render_req(_req(t, "text", where), where),
            nurse_text=render(t.get("nurse_text"), where),
            who=who,
            evidence=_evidence(t, where),
            sources=_sources(t, where),
            fires_when=render_req(str(t.get("fires_when", "")), where),
            suppressed_by=_str_list(t, "suppressed_by", where),
            suppressed_at=_str_list(t, "suppressed_at", where),
            do_now=do_now,
            orders=_str_list(t, "orders", where),
            drug=t.get("drug"),
            line=line,
            needs_screens=_str_list(t, "needs_screens", where),
        )
    screens: dict[str, ScreenDef] = {}
    for code, t in acts.get("screens", {}).items():
        where = f"screens.{code}"
        screens[code] = ScreenDef(
            code=code,
            title=_req(t, "title", where),
            applies=_req(t, "applies", where),
            fires_when=render_req(_req(t, "fires_when", where), where),
            items=_str_list(t, "items", where),
            include_screen_findings=bool(t.get("include_screen_findings", False)),
        )

    # red flags
    red_flags: dict[str, RedFlagDef] = {}
    for i, (name, t) in enumerate(raw["redflags.toml"].get("redflag", {}).items()):
        code = f"redflag.{name}"
        where = code
        urgency = _req(t, "urgency", where, dict)
        if "base" not in urgency or any(u not in URGENCIES for u in urgency.values()):
            raise KnowledgeError(f"{where}.urgency: needs 'base'; values must be one of {URGENCIES}")
        red_flags[code] = RedFlagDef(
            code=code,
            title=_req(t, "title", where),
            criteria=render_req(_req(t, "criteria", where), where),
            urgency=MappingProxyType(dict(urgency)),
            actions=tuple(render_req(a, where) for a in _req(t, "actions", where, list)),
            evidence=_evidence(t, where),
            sources=_sources(t, where),
            order=i,
            fires_when=render_req(str(t.get("fires_when", "")), where),
            do_now_covers=_str_list(t, "do_now_covers", where),
        )

    # drugs
    drugs: dict[str, DrugDef] = {}
    for code, t in raw["drugs.toml"].get("drug", {}).items():
        where = f"drug.{code}"
        verdict = _req(t, "verdict", where)
        if verdict not in VERDICTS:
            raise KnowledgeError(f"{where}.verdict: must be one of {VERDICTS}")
        tighten = []
        for j, r in enumerate(t.get("tighten", [])):
            rw = f"{where}.tighten[{j}]"
            rv = _req(r, "verdict", rw)
            if rv not in VERDICTS:
                raise KnowledgeError(f"{rw}.verdict: must be one of {VERDICTS}")
            tighten.append(TightenRule(_req(r, "factor", rw), rv, _req(r, "why", rw)))
        order = None
        if "order" in t:
            o = t["order"]
            max_id = o.get("max")
            if max_id is not None and max_id not in thresholds:
                raise KnowledgeError(f"{where}.order.max: unknown policy id '{max_id}'")
            order = OrderLimit(
                tuple(_req(o, "units", f"{where}.order", list)), max_id, bool(o.get("hard_stop_above", False))
            )
        drugs[code] = DrugDef(
            code=code,
            name=_req(t, "name", where),
            verdict=verdict,
            hard_stop=bool(t.get("hard_stop", False)),
            dose=render(t.get("dose"), where),
            max_duration=render(t.get("max_duration"), where),
            monitoring=render(t.get("monitoring"), where),
            why=render_req(_req(t, "why", where), where),
            evidence=_evidence(t, where),
            sources=_sources(t, where),
            tighten=tuple(tighten),
            order=order,
        )

    return Knowledge(
        version=_req(meta, "knowledge_version", "meta"),
        status=_req(meta, "status", "meta"),
        population=str(meta.get("population", "")),
        case_schema=_req(meta, "case_schema", "meta"),
        plan_schema=_req(meta, "plan_schema", "meta"),
        evidence_tags=MappingProxyType(dict(meta.get("evidence", {}))),
        references=MappingProxyType(references),
        analytes=MappingProxyType(analytes),
        findings=MappingProxyType(findings),
        conditions=MappingProxyType(conditions),
        medications=MappingProxyType(medications),
        medication_groups=MappingProxyType(groups),
        thresholds=MappingProxyType(thresholds),
        steps=MappingProxyType(dict(sorted(steps.items(), key=lambda kv: kv[1].order))),
        actions=MappingProxyType(actions),
        red_flags=MappingProxyType(red_flags),
        drugs=MappingProxyType(drugs),
        screens=MappingProxyType(screens),
        advice=MappingProxyType(advice),
        do_now_flag_ranks=MappingProxyType(_flag_ranks(acts.get("do_now_flags", {}))),
        path=str(directory),
        content_hash=digest.hexdigest(),
        raw_placeholders=tuple(placeholders),
    )
