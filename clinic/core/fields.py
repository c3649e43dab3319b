"""Form fields shared by the patient page and the wizard."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from clinic.core import codes
from clinic.engine.knowledge_types import fmt_number


class UnitChoiceField(forms.ChoiceField):
    """A lab unit from the list. Each unit is offered once; an ASCII spelling of a listed unit ("ug/L") is still
    accepted and read as that unit ("µg/L")."""

    def to_python(self, value: Any) -> str:
        text = super().to_python(value)
        return codes.unit_aliases().get(text, text)


def plain_number(value: Any) -> Any:
    """A number as a person writes it: 70 not 70.0, 0.62 not 0.620 (other values unchanged)."""
    if isinstance(value, bool) or not isinstance(value, float | int | Decimal):
        return value
    return fmt_number(float(value))


class PlainNumberInput(forms.NumberInput):
    """A number field that shows a saved 70.0 as 70 (Django renders a float or a Decimal with its ``.0``)."""

    def format_value(self, value: Any) -> str | None:
        return super().format_value(plain_number(value))


class PlainTextNumberInput(forms.TextInput):
    """The same for numbers typed into a text box (decimal keyboard, no browser spinner)."""

    def format_value(self, value: Any) -> str | None:
        return super().format_value(plain_number(value))


class CheckList(forms.CheckboxSelectMultiple):
    """Checkboxes as a list of Bootstrap form-checks, in a fieldset with a legend: Django's widget with a template
    of ours (``chairside/check_list.html``), rendered by ``{{ field.as_field_group }}``."""

    template_name = "chairside/check_list.html"

    def __init__(self, attrs: dict[str, Any] | None = None, choices: Any = ()) -> None:
        super().__init__(attrs={"class": "form-check-input", **(attrs or {})}, choices=choices)
