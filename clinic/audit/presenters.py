"""An audit event's detail in words for the audit log page: labelled parts, codes as names, never a Python repr.
The stored detail (JSON) is unchanged; this is only how the page shows it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import FieldDoesNotExist

from clinic.accounts.models import Role
from clinic.engine import load_knowledge
from clinic.engine.input_names import input_name
from clinic.engine.validation import PATIENT

LABELS = {
    "workup": "Workup",
    "kind": "Document",
    "paper": "Paper",
    "page": "Page",
    "route": "Page address",
    "method": "Method",
    "status": "HTTP status",
    "slug": "Step",
    "section": "Section",
    "fields": "Fields changed",
    "analyte": "Test",
    "change": "Change",
    "staff": "Staff id",
    "role": "Role",
    "token": "Token",
    "via": "Through",
    "search": "Search",
    "results": "Results",
    "filters": "Filters used",
    "awaiting": "Awaiting review",
    "returned": "Returned",
    "drafts": "Drafts",
    "service": "Service",
    "reason": "Reason",
    "object": "Object",
    "resource": "Resource",
}


def _field_name(name: str) -> str:
    from clinic.patients.models import Patient

    if name in PATIENT:
        return input_name(f"patient.{name}", load_knowledge())
    try:
        return str(Patient._meta.get_field(name).verbose_name).capitalize()
    except FieldDoesNotExist:
        return name.replace("_", " ").capitalize()


def _value(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_value(key, item) for item in value) or "none"
    if isinstance(value, Mapping):
        return "; ".join(f"{LABELS.get(k, k.replace('_', ' '))}: {_value(k, v)}" for k, v in value.items())
    text = str(value)
    analytes = load_knowledge().analytes
    if key == "analyte" and text in analytes:
        return analytes[text].name
    if key == "role" and text in Role.values:
        return str(Role(text).label)
    if key == "fields":
        return _field_name(text)
    return text.replace("_", " ") if "_" in text and " " not in text else text


def detail_parts(detail: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """[(label, value in words), ...] in the stored order."""
    parts = (detail or {}).items()
    return [(LABELS.get(key, key.replace("_", " ").capitalize()), _value(key, value)) for key, value in parts]
