"""One Django form per wizard step. Bounds, labels and units come from the engine's validation specs and the
knowledge base, so a limit is changed in one place. Each form turns its cleaned data into JSON-safe answers
(``to_answers``) and back (``initial_from``); "not assessed" is always distinct from "no"."""

from __future__ import annotations

from typing import Any

from django import forms

from clinic.workups.forms_base import (
    CHOICE_FIELD_TEMPLATE,
    ENUM_LABELS,
    KIND_LABELS,
    SITE_LABELS,
    TIMING_LABELS,
    WHEN_LABELS,
    YES_NO_UNKNOWN,
    ChoiceButtons,
    StepForm,
    number_field,
    tri_state_field,
)
from clinic.workups.forms_episode import EpisodeForm, RedFlagForm, VitalsForm
from clinic.workups.forms_labs import DialysisForm, LabsForm
from clinic.workups.forms_medications import MedicationsForm, ReviewForm

# The step forms live in forms_base.py (shared fields and StepForm), forms_episode.py, forms_labs.py and
# forms_medications.py; they are re-exported here, the import path views, steps and tests use.
__all__ = [
    "CHOICE_FIELD_TEMPLATE",
    "ENUM_LABELS",
    "KIND_LABELS",
    "SITE_LABELS",
    "TIMING_LABELS",
    "WHEN_LABELS",
    "YES_NO_UNKNOWN",
    "AcknowledgeForm",
    "ChoiceButtons",
    "DialysisForm",
    "EpisodeForm",
    "LabsForm",
    "MedicationsForm",
    "RedFlagForm",
    "ReviewForm",
    "StepForm",
    "VitalsForm",
    "number_field",
    "tri_state_field",
]


class AcknowledgeForm(forms.Form):
    code = forms.CharField(max_length=64)
    reason = forms.ChoiceField(
        choices=[],
        widget=forms.RadioSelect,
        label="Why are you continuing?",
        error_messages={"required": "Choose what you have done about this emergency before continuing."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from clinic.workups.models import AckReason

        super().__init__(*args, **kwargs)
        self.fields["reason"].choices = AckReason.choices
