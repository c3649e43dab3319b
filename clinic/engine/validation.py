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

from collections.abc import Mapping
from types import MappingProxyType

from .case_checks import check_lab, cross_checks
from .case_fields import (
    DIALYSIS,
    EPISODE,
    LAB_KEYS,
    MAX_AGE_YEARS,
    MAX_LIST,
    MAX_STR,
    PATIENT,
    TOP_KEYS,
    VITALS,
    Bool,
    CaseError,
    Enum,
    EnumList,
    Num,
    Spec,
    age_on,
    age_problem,
)
from .contract import CASE_SCHEMA
from .field_checks import ErrorCollector, check_section, short_text, typename, unknown_keys
from .knowledge import Knowledge, fmt_number, load_knowledge
from .medicine_names import match_medicines
from .readings import WHEN_LABELS
from .trials import parse_trials
from .types import Case, Dialysis, Episode, Lab, Patient, Vitals

# The field specs, CaseError and the age rule live in case_fields.py; they are re-exported here, the import path
# the web layer and tests have always used.
__all__ = [
    "DIALYSIS",
    "EPISODE",
    "LAB_KEYS",
    "MAX_AGE_YEARS",
    "MAX_LIST",
    "MAX_STR",
    "PATIENT",
    "TOP_KEYS",
    "VITALS",
    "Bool",
    "CaseError",
    "Enum",
    "EnumList",
    "Num",
    "Spec",
    "age_on",
    "age_problem",
    "validate_case",
]


def validate_case(data: object, knowledge: Knowledge | None = None) -> Case:
    """Validate ``data`` (parsed JSON) and return a Case; raise CaseError listing every problem."""
    k = knowledge or load_knowledge()
    c = ErrorCollector()
    if not isinstance(data, Mapping):
        raise CaseError([{"field": "case", "message": f"the case must be a JSON object, not {typename(data)}"}])

    present: set[str] = set()
    unknown_keys(data, TOP_KEYS, "", c, "field")

    schema = data.get("schema")
    if schema is None:
        c.add("schema", f'schema is required: use "{CASE_SCHEMA}"')
    elif schema != CASE_SCHEMA:
        c.add("schema", f"unsupported schema '{short_text(schema)}'; this engine reads \"{CASE_SCHEMA}\"")

    patient_specs = dict(PATIENT)
    patient_specs["conditions"] = EnumList("condition", tuple(k.conditions))
    p = check_section(data, "patient", patient_specs, c, present)
    age = p.get("age_years")
    if age is not None and k.hit("adult_age", age):
        c.add(
            "patient.age_years",
            f"Chairside's rules are for adults on haemodialysis; age {fmt_number(age)} is below "
            f"{fmt_number(k.value('adult_age'))}",
        )
    e = check_section(data, "episode", EPISODE, c, present)
    v = check_section(data, "vitals", VITALS, c, present)
    d = check_section(data, "dialysis", DIALYSIS, c, present)
    cross_checks(p, e, d, k, c)

    # findings
    findings: dict[str, bool] = {}
    raw_f = data.get("findings")
    if raw_f is not None:
        if not isinstance(raw_f, Mapping):
            c.add("findings", f"findings must be an object of yes/no answers, not {typename(raw_f)}")
        else:
            present.add("findings")
            unknown_keys(raw_f, list(k.findings), "findings", c, "finding")
            for key in k.findings:
                if key in raw_f and raw_f[key] is not None:
                    val = raw_f[key]
                    if isinstance(val, bool):
                        findings[key] = val
                    else:
                        c.add(f"findings.{key}", f"answer must be true or false, not {typename(val)}")

    # labs
    labs: list[Lab] = []
    raw_labs = data.get("labs")
    if raw_labs is not None:
        if not isinstance(raw_labs, list | tuple):
            c.add("labs", f"labs must be a list, not {typename(raw_labs)}")
        elif len(raw_labs) > MAX_LIST:
            c.add("labs", f"too many lab entries (at most {MAX_LIST})")
        else:
            present.add("labs")
            seen: dict[tuple[str, str | None], int] = {}
            for i, entry in enumerate(raw_labs):
                lab = check_lab(entry, i, k, c)
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
            c.add("medications", f"medications must be a list of names, not {typename(raw_m)}")
        elif len(raw_m) > MAX_LIST:
            c.add("medications", f"too many medications (at most {MAX_LIST})")
        else:
            present.add("medications")
            found: set[str] = set()
            for i, name in enumerate(raw_m):
                if not isinstance(name, str):
                    c.add(f"medications[{i}]", f"a medication must be a name, not {typename(name)}")
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
