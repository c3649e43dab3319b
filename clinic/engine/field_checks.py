"""Per-field validation of a case: the error collector, value checks against a spec, and a whole section.

Used by validation.py (the case as a whole) and case_checks.py (labs and cross-field checks).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from typing import Any

from .case_fields import MAX_LIST, Bool, Enum, Num, Spec
from .knowledge import fmt_number


def short_text(x: object) -> str:
    text = repr(x) if not isinstance(x, str) else x
    return text if len(text) <= 40 else text[:37] + "..."


def comma_list(values: tuple[str, ...] | list[str]) -> str:
    return ", ".join(values)


def is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def is_finite(x: int | float) -> bool:
    """Not NaN or infinity, and not an integer too large for a float (JSON allows 1 followed by 400 zeros)."""
    try:
        return math.isfinite(x)
    except OverflowError:
        return False


NOT_FINITE = "must be a real number (not NaN, infinity or beyond 1e308)"


class ErrorCollector:
    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []

    def add(self, field: str, message: str) -> None:
        self.errors.append({"field": field, "message": message})


def did_you_mean(key: str, options: tuple[str, ...] | list[str]) -> str:
    match = difflib.get_close_matches(key, options, n=1, cutoff=0.75) if len(key) <= 60 else []
    return f"; did you mean '{match[0]}'?" if match else ""


def unknown_keys(
    data: Mapping[Any, Any], allowed: tuple[str, ...] | list[str], path: str, c: ErrorCollector, what: str
) -> None:
    for key in data:
        if not isinstance(key, str):
            c.add(path or "case", f"keys must be text, not {type(key).__name__}")
        elif key not in allowed:
            name = key or '""'  # an empty key still gets a field path a client can show
            c.add(f"{path}.{name}" if path else name, f"unknown {what} '{short_text(key)}'{did_you_mean(key, allowed)}")


def _check_value(spec: Spec, value: Any, field: str, c: ErrorCollector) -> Any:
    """Validate one value; return the cleaned value or None (and record the error)."""
    if value is None:
        return None
    if isinstance(spec, Num):
        if not is_number(value):
            c.add(field, f"{spec.label} must be a number, not {typename(value)}")
            return None
        if not is_finite(value):
            c.add(field, f"{spec.label} {NOT_FINITE}")
            return None
        if spec.integer and value != int(value):
            c.add(field, f"{spec.label} must be a whole number")
            return None
        if value < 0:
            c.add(field, f"{spec.label} cannot be negative")
            return None
        if not spec.lo <= value <= spec.hi:
            unit = f" {spec.unit}" if spec.unit else ""
            hint = f" ({spec.hint})" if spec.hint else ""
            c.add(
                field,
                f"{spec.label} {fmt_number(float(value))}{unit} is outside what is possible here "
                f"({fmt_number(spec.lo)}–{fmt_number(spec.hi)}{unit}); check the value{hint}",
            )
            return None
        return int(value) if spec.integer else float(value)
    if isinstance(spec, Bool):
        if not isinstance(value, bool):
            c.add(field, f"{spec.label} must be true or false, not {typename(value)}")
            return None
        return value
    if isinstance(spec, Enum):
        if not isinstance(value, str) or value not in spec.values:
            c.add(
                field,
                f"'{short_text(value)}' is not a valid {spec.label}; use one of: {comma_list(spec.values)}"
                + (did_you_mean(value, spec.values) if isinstance(value, str) else ""),
            )
            return None
        return value
    # EnumList
    if not isinstance(value, list | tuple):
        c.add(field, f"{spec.label} must be a list, not {typename(value)}")
        return None
    if len(value) > MAX_LIST:
        c.add(field, f"{spec.label} has too many entries (at most {MAX_LIST})")
        return None
    out: set[str] = set()
    ok = True
    for i, item in enumerate(value):
        if not isinstance(item, str) or item not in spec.values:
            ok = False
            c.add(
                f"{field}[{i}]",
                f"'{short_text(item)}' is not a valid {spec.label} entry; use one of: {comma_list(spec.values)}"
                + (did_you_mean(item, spec.values) if isinstance(item, str) else ""),
            )
        else:
            out.add(item)
    return frozenset(out) if ok else None


def typename(value: object) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, str):
        return f"text '{short_text(value)}'"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def check_section(
    data: Mapping[str, Any], name: str, specs: dict[str, Spec], c: ErrorCollector, present: set[str]
) -> dict[str, Any]:
    raw = data.get(name)
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        c.add(name, f"{name} must be an object, not {typename(raw)}")
        return {}
    present.add(name)
    unknown_keys(raw, list(specs), name, c, f"{name} field")
    out: dict[str, Any] = {}
    for key, spec in specs.items():
        if key in raw and raw[key] is not None:
            present.add(f"{name}.{key}")
            v = _check_value(spec, raw[key], f"{name}.{key}", c)
            if v is not None:
                out[key] = v
    return out
