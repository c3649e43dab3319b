"""Form fields shared by the patient page and the wizard."""

from __future__ import annotations

from typing import Any

from django import forms

from clinic.core import codes


class UnitChoiceField(forms.ChoiceField):
    """A lab unit from the list. Each unit is offered once; an ASCII spelling of a listed unit ("ug/L") is still
    accepted and read as that unit ("µg/L")."""

    def to_python(self, value: Any) -> str:
        text = super().to_python(value)
        return codes.unit_aliases().get(text, text)
