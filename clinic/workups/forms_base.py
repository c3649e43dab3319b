"""What every wizard step form shares: the choice labels, the number, tri-state and choice-button fields built
from the engine's validation specs, and StepForm, the base that turns cleaned data into answers and back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

from django import forms
from django.http import QueryDict

from clinic.core.fields import PlainNumberInput
from clinic.engine import CaseError, validate_case
from clinic.engine.contract import CASE_SCHEMA, SITES
from clinic.engine.validation import Num

YES_NO_UNKNOWN = [("yes", "Yes"), ("no", "No"), ("", "Not assessed")]
TIMING_LABELS = {
    "during_dialysis": "During dialysis",
    "after_dialysis": "After dialysis (same day)",
    "between_sessions": "Between sessions",
}
SITE_LABELS = {s: s.capitalize() for s in SITES} | {"face": "Face or jaw", "generalised": "All over (generalised)"}
KIND_LABELS = {
    "cramp": "Cramp (painful tightening)",
    "spasm": "Spasm",
    "jerks": "Jerks (sudden brief movements)",
    "twitching": "Twitching",
    "stiffness": "Stiffness",
}
WHEN_LABELS = {"pre_dialysis": "Pre-HD", "post_dialysis": "Post-HD", "other": "Other"}
ENUM_LABELS = {
    "bicarbonate": "Bicarbonate",
    "acetate": "Acetate",
    "high": "High-flux",
    "low": "Low-flux",
}


def bool_to_choice(value: object) -> str:
    return {True: "yes", False: "no"}.get(value, "")  # type: ignore[call-overload]


def choice_to_bool(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


def number_field(spec: Num) -> forms.Field:
    unit = f" ({spec.unit})" if spec.unit and not spec.unit.startswith("(") else ""
    label = spec.label[:1].upper() + spec.label[1:] + unit
    bounds = f"Enter a number from {spec.lo:g} to {spec.hi:g}{' ' + spec.unit if spec.unit else ''}."
    if spec.hint:
        bounds += f" ({spec.hint[:1].upper() + spec.hint[1:]}.)"
    messages = {"min_value": bounds, "max_value": bounds, "invalid": "Enter a number, for example 12 or 0.5."}
    field: forms.Field
    if spec.integer:
        field = forms.IntegerField(
            min_value=int(spec.lo), max_value=int(spec.hi), required=False, label=label, widget=PlainNumberInput
        )
        messages["invalid"] = "Enter a whole number."
    else:
        field = forms.FloatField(
            min_value=spec.lo, max_value=spec.hi, required=False, label=label, widget=PlainNumberInput
        )
    field.error_messages.update(messages)
    field.widget.attrs.update({"inputmode": "numeric" if spec.integer else "decimal", "step": "any"})
    return field


class ChoiceButtons(forms.RadioSelect):
    """Radio choices as large Bootstrap toggle buttons ("yes" in red, "not assessed" in grey): Django's own
    widget rendering with a template of ours. Fields using it render with ``{{ field.as_field_group }}``."""

    template_name = "workups/choice_buttons.html"


CHOICE_FIELD_TEMPLATE = "workups/choice_field.html"  # a fieldset, its legend, the buttons and the errors


def tri_state_field(label: str) -> forms.ChoiceField:
    return forms.ChoiceField(
        choices=YES_NO_UNKNOWN,
        required=False,
        label=label,
        widget=ChoiceButtons,
        template_name=CHOICE_FIELD_TEMPLATE,
    )


class StepForm(forms.Form):
    """Base: the answer conversion contract (its fields render with ``{{ field.as_field_group }}``).
    ``unit_system`` (the patient's lab units, SI or conventional) matters to the labs form only; every step form
    takes it so callers need not know which step they build."""

    number_fields: ClassVar[dict[str, Num]] = {}

    def __init__(
        self, *args: Any, unit_system: str = "SI", record: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.unit_system = unit_system
        self.record = dict(record or {})  # facts from the patient record the step's checks compare with

    # The case section this step fills. The engine's cross-field checks (clinic/engine/validation.py) run on it
    # when the step is saved, so a contradiction is refused on the field to correct, with the engine's words.
    engine_section: ClassVar[str | None] = None

    def to_answers(self) -> dict[str, Any]:
        raise NotImplementedError

    def engine_case(self) -> dict[str, Any]:
        return {self.engine_section: self.to_answers()} if self.engine_section else {}

    def full_clean(self) -> None:
        super().full_clean()
        if self.engine_section is None or not self.is_bound or self.errors:
            return
        try:
            validate_case({"schema": CASE_SCHEMA, **self.engine_case()})
        except CaseError as exc:
            for error in exc.errors:
                name = error["field"].rsplit(".", 1)[-1]
                message = error["message"][:1].upper() + error["message"][1:] + "."
                self.add_error(name if name in self.fields else None, message)

    @classmethod
    def initial_from(cls, answers: dict[str, Any]) -> dict[str, Any]:
        return dict(answers)

    @classmethod
    def bound_to(cls, initial: Mapping[str, Any], **kwargs: Any) -> Self:
        """The form bound to initial values as if they had been posted again (to validate or list them)."""
        query = QueryDict(mutable=True)
        for key, value in initial.items():
            if value is None:
                continue
            if isinstance(value, bool):
                query[key] = "yes" if value else "no"
            elif isinstance(value, list):
                query.setlist(key, [str(v) for v in value])
            else:
                query[key] = str(value)
        return cls(query, **kwargs)

    @classmethod
    def from_answers(cls, answers: dict[str, Any], **kwargs: Any) -> Self:
        """The form bound to a step's saved answers: re-validates them with today's rules."""
        return cls.bound_to(cls.initial_from(answers), **kwargs)
