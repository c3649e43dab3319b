"""FHIR import, stage 1: read the files and validate every resource Chairside uses with fhir.resources' **R4B**
models (R4-shaped data), plus the coded values Chairside depends on (fhir.resources does not check value sets).
Also the small readers of FHIR elements (codings, dates, references, MRN, name) that the later stages share.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from clinic.engine.medicine_names import match_medicines
from clinic.interop.codes import RXNORM, CodeTables, canonical_system
from clinic.patients.models import birth_date_problem, normalise_mrn

USED_TYPES = ("Patient", "Condition", "Procedure", "MedicationRequest", "MedicationStatement", "Observation")
REFERENCE_ONLY_TYPES = ("Medication",)  # validated and used to resolve medicationReference
CONTAINER_TYPES = ("DiagnosticReport",)  # validated; the Observations it contains are read like any other
MR_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0203"
MAX_DEPTH = 64  # FHIR resources Chairside reads nest about 10 deep; far deeper is refused, not recursed into

# R4 value sets for the elements Chairside reads (fhir.resources does not check coded values).
VALUE_SETS: dict[tuple[str, str], frozenset[str]] = {
    ("Patient", "gender"): frozenset({"male", "female", "other", "unknown"}),
    ("Observation", "status"): frozenset(
        {"registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error", "unknown"}
    ),
    ("Procedure", "status"): frozenset(
        {"preparation", "in-progress", "not-done", "on-hold", "stopped", "completed", "entered-in-error", "unknown"}
    ),
    ("MedicationRequest", "status"): frozenset(
        {"active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped", "draft", "unknown"}
    ),
    ("MedicationStatement", "status"): frozenset(
        {"active", "completed", "entered-in-error", "intended", "stopped", "on-hold", "unknown", "not-taken"}
    ),
}
CLINICAL_STATUS = frozenset({"active", "recurrence", "relapse", "inactive", "remission", "resolved"})
CURRENT_CLINICAL = frozenset({"active", "recurrence", "relapse"})
VERIFICATION_STATUS = frozenset(
    {"unconfirmed", "provisional", "differential", "confirmed", "refuted", "entered-in-error"}
)
LAB_STATUSES = frozenset({"final", "amended", "corrected"})
CURRENT_MED_STATUS = {"MedicationRequest": {"active", "on-hold"}, "MedicationStatement": {"active", "intended"}}


@dataclass
class Item:
    where: str
    type: str
    data: dict[str, Any]
    full_url: str = ""
    subject_default: str = ""  # for an Observation inside a DiagnosticReport: the report's subject

    @property
    def id(self) -> str:
        return str(self.data.get("id") or "")

    @property
    def key(self) -> str:
        """What identifies this resource across imports: Type/id, else the Bundle entry's fullUrl (transaction
        Bundles often carry urn:uuid fullUrls and no ids), else nothing."""
        if self.id:
            return f"{self.type}/{self.id}"[:200]
        return self.full_url[:200]


def parse_files(files: Sequence[tuple[str, bytes]]) -> tuple[list[Item], Counter[str], list[str]]:
    """Read and validate. Returns (items Chairside uses, ignored resource type counts, errors)."""
    items: list[Item] = []
    ignored: Counter[str] = Counter()
    errors: list[str] = []
    for name, raw in files:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            errors.append(f"{name}: not UTF-8 text; export the data as FHIR JSON or ndjson.")
            continue
        for where, obj in _json_objects(name, text, errors):
            _collect(where, obj, "", items, ignored, errors)
    return items, ignored, errors


def _json_objects(name: str, text: str, errors: list[str]) -> Iterable[tuple[str, Any]]:
    """One JSON document, or ndjson (one resource per line). A file is read as ndjson when its name says so or its
    first line is a whole JSON object, so a syntax error in a pretty-printed file is one message, not one per line."""
    if not text.strip():
        errors.append(f"{name}: the file is empty.")
        return
    first = next(ln for ln in text.splitlines() if ln.strip())
    ndjson = name.lower().endswith(".ndjson") or (first.strip() != text.strip() and _is_json_object(first))
    if not ndjson:
        obj = _loads(name, text, errors)
        if obj is not None:
            yield name, obj
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            obj = _loads(f"{name} line {number}", line, errors)
            if obj is not None:
                yield f"{name} line {number}", obj


def _is_json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except (json.JSONDecodeError, RecursionError):
        return False


def _loads(where: str, text: str, errors: list[str]) -> Any:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        errors.append(f"{where}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}).")
        return None
    except RecursionError:
        errors.append(f"{where}: the JSON is nested too deeply to be FHIR data (more than {MAX_DEPTH} levels).")
        return None
    problem = _shape_problem(obj)
    if problem:
        errors.append(f"{where}: {problem}")
        return None
    return obj


def _shape_problem(obj: Any) -> str | None:
    """Nesting depth and NUL characters, walked without recursion (PostgreSQL text cannot hold NUL)."""
    stack: list[tuple[Any, int]] = [(obj, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return "it contains a NUL character (\\u0000), which clinical text cannot hold."
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                return f"the JSON is nested too deeply to be FHIR data (more than {MAX_DEPTH} levels)."
            if isinstance(value, dict):
                stack.extend((k, depth) for k in value)
                stack.extend((v, depth + 1) for v in value.values())
            else:
                stack.extend((v, depth + 1) for v in value)
    return None


def _collect(where: str, obj: Any, full_url: str, items: list[Item], ignored: Counter[str], errors: list[str]) -> None:
    if not isinstance(obj, dict) or not isinstance(obj.get("resourceType"), str):
        errors.append(f"{where}: not a FHIR resource (no resourceType).")
        return
    rtype = obj["resourceType"]
    if rtype == "Bundle":
        entries = obj.get("entry", [])
        if not isinstance(entries, list):
            errors.append(f"{where}: Bundle.entry must be a list.")
            return
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict) or "resource" not in entry:
                continue  # entries without a resource (e.g. search links) carry nothing to import
            _collect(
                f"{where} entry {index}", entry["resource"], str(entry.get("fullUrl") or ""), items, ignored, errors
            )
        return
    if rtype not in USED_TYPES and rtype not in REFERENCE_ONLY_TYPES and rtype not in CONTAINER_TYPES:
        try:
            get_fhir_model_class(rtype)
        except (KeyError, ValueError):
            errors.append(f"{where}: '{rtype}' is not a FHIR R4 resource type.")
            return
        ignored[rtype] += 1
        return
    label = f"{where} ({rtype}/{obj.get('id', '?')})"
    try:
        get_fhir_model_class(rtype).model_validate(obj)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or rtype}: {e['msg']}" for e in exc.errors()[:3])
        more = f" (+{exc.error_count() - 3} more)" if exc.error_count() > 3 else ""
        errors.append(f"{label}: does not validate as FHIR R4: {problems}{more}.")
        return
    problem = _check_codes(rtype, obj) or _check_birth_date(rtype, obj)
    if problem:
        errors.append(f"{label}: {problem}")
        return
    items.append(Item(label, rtype, obj, full_url))
    if rtype in CONTAINER_TYPES:
        _contained_observations(items[-1], items, errors)


def _contained_observations(report: Item, items: list[Item], errors: list[str]) -> None:
    """Observations carried inside a DiagnosticReport are results like any other. Their ids are local to the
    report, so their identity is the report's plus '#id' (unless they carry an identifier)."""
    subject = (report.data.get("subject") or {}).get("reference") or ""
    for contained in report.data.get("contained", []):
        if not isinstance(contained, dict) or contained.get("resourceType") != "Observation":
            continue
        local = str(contained.get("id") or "")
        where = f"{report.where} contained #{local or '?'}"
        problem = _check_codes("Observation", contained)
        if problem:
            errors.append(f"{where}: {problem}")
            continue
        data = {k: v for k, v in contained.items() if k != "id"}
        identity = f"{report.key}#{local}" if report.key and local else ""
        items.append(Item(where, "Observation", data, identity, subject_default=str(subject)))


def _check_codes(rtype: str, obj: dict[str, Any]) -> str | None:
    for (vtype, element), allowed in VALUE_SETS.items():
        if vtype == rtype and element in obj and obj[element] not in allowed:
            return f"{element} '{obj[element]}' is not an R4 {vtype}.{element} code."
    if rtype == "Condition":
        for element, allowed in (("clinicalStatus", CLINICAL_STATUS), ("verificationStatus", VERIFICATION_STATUS)):
            for coding in (obj.get(element) or {}).get("coding", []):
                if coding.get("code") not in allowed:
                    return f"{element} '{coding.get('code')}' is not an R4 Condition.{element} code."
    return None


def _check_birth_date(rtype: str, obj: dict[str, Any]) -> str | None:
    """The patient form's rule (clinic.patients.models.birth_date_problem), so an imported patient can always get
    a care plan."""
    birth = obj.get("birthDate") if rtype == "Patient" else None
    if not isinstance(birth, str) or len(birth) != 10:
        return None
    problem = birth_date_problem(dt.date.fromisoformat(birth), timezone.localdate())
    return f"birthDate {birth}: {problem}" if problem else None


# ------------------------------------------------------------------------------------------------ helpers


def codings(concept: Any) -> list[tuple[str | None, str | None]]:
    """(system, code) pairs, with a code system's other official names (e.g. LOINC's OID) read as its FHIR URI."""
    if not isinstance(concept, dict):
        return []
    coding = concept.get("coding")
    if not isinstance(coding, list):
        return []
    return [(canonical_system(c.get("system")), c.get("code")) for c in coding if isinstance(c, dict)]


def concept_label(concept: Any) -> str:
    if not isinstance(concept, dict):
        return "(no code)"
    if isinstance(concept.get("text"), str) and concept["text"].strip():
        return str(concept["text"])
    coding = concept.get("coding")
    for c in coding if isinstance(coding, list) else []:
        if isinstance(c, dict) and (c.get("display") or c.get("code")):
            return str(c.get("display") or c.get("code"))
    return "(no code)"


def parse_fhir_datetime(value: str | None) -> dt.datetime | None:
    """FHIR dateTime/instant/date (YYYY, YYYY-MM, YYYY-MM-DD, or with time and zone) -> aware datetime."""
    if not isinstance(value, str) or not value:
        return None
    try:
        if len(value) == 4:
            return dt.datetime(int(value), 1, 1, tzinfo=dt.UTC)
        if len(value) == 7:
            return dt.datetime(int(value[:4]), int(value[5:7]), 1, tzinfo=dt.UTC)
        if len(value) == 10:
            return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def date_of(value: str | None) -> dt.date | None:
    """The calendar date as written in the source (its own time zone), not shifted to UTC."""
    parsed = parse_fhir_datetime(value)
    if parsed is None or value is None:
        return None
    return dt.date.fromisoformat(value[:10]) if len(value) >= 10 else parsed.date()


def reference_keys(item: Item) -> set[str]:
    """How other resources in the same import may point at this one: Type/id, the Bundle entry's fullUrl, or (for
    a Patient) a logical reference by its MRN."""
    keys = {f"{item.type}/{item.id}"} if item.id else set()
    if item.full_url:
        keys.add(item.full_url)
    if item.type == "Patient" and (mrn := mrn_of(item.data)) is not None:
        keys.add(mrn_key(mrn[0]))
    return keys


def mrn_key(mrn: str) -> str:
    """A logical reference by MRN, compared as the patient form compares MRNs (spaces and case ignored)."""
    return "identifier|" + normalise_mrn(mrn).casefold()


def subject_ref(item: Item) -> str | None:
    """The reference to the resource's patient (subject or patient), or a logical reference by identifier."""
    subject = item.data.get("subject") or item.data.get("patient")
    if isinstance(subject, dict):
        if subject.get("reference"):
            return str(subject["reference"])
        identifier = subject.get("identifier")
        if isinstance(identifier, dict) and identifier.get("value"):
            return mrn_key(str(identifier["value"]))
        return None
    return item.subject_default or None


def mrn_of(patient: dict[str, Any]) -> tuple[str, str] | None:
    """(MRN normalised like the patient form's, its identifier system): the identifier of type MR, or else the
    Patient's only identifier when it has exactly one, untyped, with a system (US Core exports often send the
    record number that way). Anything more ambiguous is no MRN."""
    identifiers = [i for i in patient.get("identifier", []) if isinstance(i, dict) and i.get("value")]
    for identifier in identifiers:
        for coding in (identifier.get("type") or {}).get("coding", []):
            if coding.get("system") == MR_TYPE_SYSTEM and coding.get("code") == "MR":
                value = normalise_mrn(str(identifier["value"]))
                if value:
                    return value, str(identifier.get("system") or "")
    if len(identifiers) == 1 and not identifiers[0].get("type") and identifiers[0].get("system"):
        value = normalise_mrn(str(identifiers[0]["value"]))
        if value:
            return value, str(identifiers[0]["system"])
    return None


def official_name(patient: dict[str, Any]) -> tuple[str, str] | None:
    names = patient.get("name") or []
    chosen = next((n for n in names if n.get("use") == "official"), names[0] if names else None)
    if not chosen:
        return None
    family = str(chosen.get("family") or "").strip()
    given = " ".join(chosen.get("given") or []).strip()
    if not family and chosen.get("text"):
        family = str(chosen["text"]).strip()
    return (family, given) if family else None


def medication_concept(order: dict[str, Any], media: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The medicine's code: medicationCodeableConcept, or the Medication a medicationReference points at (contained
    in the order, or elsewhere in the file / prefetch)."""
    if isinstance(order.get("medicationCodeableConcept"), dict):
        return order["medicationCodeableConcept"]  # type: ignore[no-any-return]
    reference = order.get("medicationReference")
    ref = str(reference.get("reference") or "") if isinstance(reference, dict) else ""
    if ref.startswith("#"):
        for contained in order.get("contained", []) or []:
            if not isinstance(contained, dict) or contained.get("resourceType") != "Medication":
                continue
            if contained.get("id") == ref[1:]:
                return contained.get("code")  # type: ignore[no-any-return]
        return None
    medication = media.get(ref)
    if medication is None and isinstance(reference, dict) and reference.get("display"):
        return {"text": str(reference["display"])}
    return medication.get("code") if medication else None


def medication_code(concept: dict[str, Any] | None, tables: CodeTables) -> tuple[tuple[str, ...], str]:
    """(Chairside medication codes, the RxNorm code seen or ''). The RxNorm table first; the names the source
    gives (text and displays) are also read through the engine's reviewed synonyms table (match_medicines), so
    "Lioresal 10 mg" is baclofen even under an RxNorm code Chairside does not list. A name can only add a code:
    a hard stop named in the text is never missed."""
    rxcuis = [code for system, code in codings(concept) if system == RXNORM and code]
    codes = [tables.rxnorm[c].med for c in rxcuis if c in tables.rxnorm][:1]
    names = [concept.get("text")] if isinstance(concept, dict) else []
    coding = concept.get("coding") if isinstance(concept, dict) else None
    names += [c.get("display") for c in coding if isinstance(c, dict)] if isinstance(coding, list) else []
    for name in names:
        if isinstance(name, str) and name.strip():
            codes += [code for code in match_medicines(name).codes if code not in codes]
    return tuple(codes), (rxcuis[0] if rxcuis else "")
