"""The wizard's medicines-and-conditions step, and the (empty) review step."""

from __future__ import annotations

from typing import Any

from django import forms

from clinic.core import codes
from clinic.core.fields import CheckList
from clinic.engine import load_knowledge
from clinic.workups.forms_base import (
    StepForm,
    bool_to_choice,
    choice_to_bool,
    tri_state_field,
)


class MedicationsForm(StepForm):
    # Chosen by type-ahead search and shown as chips (templates/workups/_medicines.html): hidden inputs.
    medications = forms.MultipleChoiceField(required=False, widget=forms.MultipleHiddenInput, label="Current medicines")
    other_medications = forms.CharField(
        required=False,
        max_length=500,
        label="Other medicines (as written)",
        help_text="Separate with commas. Names Chairside does not recognise are listed as such, never dropped.",
    )
    conditions = forms.MultipleChoiceField(required=False, widget=CheckList, label="Conditions")
    diabetes = tri_state_field("Diabetes")
    failed_trials = forms.MultipleChoiceField(
        required=False,
        widget=CheckList,
        label="Cramp drug trials already tried that did not help (or were not tolerated)",
        help_text="Second- and third-line drugs are offered only after a first-line trial that did not help.",
    )
    hepatic_impairment = forms.ChoiceField(
        choices=[
            ("", "Not recorded"),
            ("none", "No impairment"),
            ("mild", "Mild"),
            ("moderate", "Moderate"),
            ("severe", "Severe"),
        ],
        required=False,
        label="Liver impairment",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["medications"].choices = codes.medication_choices()
        self.fields["conditions"].choices = codes.condition_choices()
        k = load_knowledge()
        trial_drugs = dict.fromkeys(a.drug for a in k.actions.values() if a.drug is not None and a.line is not None)
        self.fields["failed_trials"].choices = [(d, k.drugs[d].name) for d in trial_drugs if d]

    def clean_other_medications(self) -> list[str]:
        raw: str = self.cleaned_data.get("other_medications", "")
        names = [" ".join(part.split()) for part in raw.split(",")]
        return [name[:80] for name in names if name][:20]

    def to_answers(self) -> dict[str, Any]:
        data = self.cleaned_data
        answers: dict[str, Any] = {
            "medications": list(data.get("medications", [])),
            "other_medications": data.get("other_medications", []),
            "conditions": list(data.get("conditions", [])),
        }
        if data.get("failed_trials"):
            answers["failed_trials"] = list(data["failed_trials"])
        diabetes = choice_to_bool(data.get("diabetes", ""))
        if diabetes is not None:
            answers["diabetes"] = diabetes
        if data.get("hepatic_impairment"):
            answers["hepatic_impairment"] = data["hepatic_impairment"]
        return answers

    @classmethod
    def initial_from(cls, answers: dict[str, Any]) -> dict[str, Any]:
        initial = dict(answers)
        initial["diabetes"] = bool_to_choice(answers.get("diabetes"))
        initial["other_medications"] = ", ".join(answers.get("other_medications", []))
        return initial


class ReviewForm(StepForm):
    def to_answers(self) -> dict[str, Any]:
        return {}
