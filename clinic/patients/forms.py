"""Patient and lab forms. Field-level messages are written for a nurse, not a developer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone

from clinic.accounts.models import Unit, User
from clinic.core import codes
from clinic.core.fields import PlainNumberInput, UnitChoiceField
from clinic.engine.knowledge import fmt_number
from clinic.engine.validation import PATIENT
from clinic.patients.models import LabResult, Patient, birth_date_problem, normalise_mrn

DRY_WEIGHT, RESIDUAL_URINE = PATIENT["dry_weight_kg"], PATIENT["residual_urine_ml_per_day"]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class PatientForm(forms.ModelForm):
    diabetes = forms.TypedChoiceField(
        choices=[("", "Not recorded"), ("yes", "Yes"), ("no", "No")],
        coerce=lambda value: {"yes": True, "no": False}.get(value),
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )
    conditions = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    medications = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = Patient
        fields = [
            "unit",
            "mrn",
            "given_name",
            "family_name",
            "date_of_birth",
            "sex",
            "dialysis_started",
            "sessions_completed",
            "dry_weight_kg",
            "diabetes",
            "hepatic_impairment",
            "access",
            "residual_urine_ml_per_day",
            "conditions",
            "medications",
            "lab_unit_system",
        ]
        widgets = {"date_of_birth": DateInput(), "dialysis_started": DateInput(), "dry_weight_kg": PlainNumberInput}
        labels = {"residual_urine_ml_per_day": "Residual urine (mL/day)", "mrn": "Medical record number (MRN)"}

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        units = Unit.objects.filter(pk__in=user.unit_ids())
        unit_field = self.fields["unit"]
        assert isinstance(unit_field, forms.ModelChoiceField)
        unit_field.queryset = units
        unit_field.empty_label = None
        if self.instance.pk:
            # Moving a patient between units changes who may see them: an admin task, not a form field.
            del self.fields["unit"]
        self.fields["conditions"].choices = codes.condition_choices()
        self.fields["medications"].choices = codes.medication_choices()
        if self.instance.pk:
            self.initial["diabetes"] = {True: "yes", False: "no"}.get(self.instance.diabetes, "")
        self.fields["dry_weight_kg"].widget.attrs.update({"step": "0.1", "inputmode": "decimal"})
        self.fields["hepatic_impairment"].choices = [
            ("", "Not recorded"),
            *self.fields["hepatic_impairment"].choices[1:],
        ]
        self.fields["access"].choices = [("", "Not recorded"), *self.fields["access"].choices[1:]]
        self.fields["lab_unit_system"].choices = [
            ("", "The unit's default"),
            *self.fields["lab_unit_system"].choices[1:],
        ]

    def clean_mrn(self) -> str:
        mrn = normalise_mrn(self.cleaned_data["mrn"])
        if not mrn:
            raise forms.ValidationError("Enter the medical record number.")
        return mrn

    def clean_date_of_birth(self) -> dt.date:
        dob: dt.date = self.cleaned_data["date_of_birth"]
        problem = birth_date_problem(dob, timezone.localdate())
        if problem:
            raise forms.ValidationError(problem)
        return dob

    def clean_dialysis_started(self) -> dt.date | None:
        started: dt.date | None = self.cleaned_data.get("dialysis_started")
        if started is not None and started > timezone.localdate():
            raise forms.ValidationError("The dialysis start date is in the future.")
        return started

    def clean_dry_weight_kg(self) -> Decimal | None:
        weight: Decimal | None = self.cleaned_data.get("dry_weight_kg")
        if weight is None:
            return None
        if weight <= 0:
            raise forms.ValidationError("Dry weight must be more than 0 kg.")
        low, high = DRY_WEIGHT.lo, DRY_WEIGHT.hi  # the engine's own bounds: a weight it would refuse is refused here
        if not Decimal(str(low)) <= weight <= Decimal(str(high)):
            raise forms.ValidationError(
                f"Dry weight must be between {fmt_number(low)} and {fmt_number(high)} kg. "
                "Check the value and the unit (kg)."
            )
        return weight

    def clean_residual_urine_ml_per_day(self) -> int | None:
        volume: int | None = self.cleaned_data.get("residual_urine_ml_per_day")
        if volume is not None and volume > RESIDUAL_URINE.hi:
            raise forms.ValidationError(
                f"Residual urine over {fmt_number(RESIDUAL_URINE.hi)} mL a day is not plausible on haemodialysis."
            )
        return volume

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        dob = cleaned.get("date_of_birth")
        started = cleaned.get("dialysis_started")
        if dob and started and started < dob:
            self.add_error("dialysis_started", "Dialysis cannot start before the date of birth.")
        unit = cleaned.get("unit") or (self.instance.unit if self.instance.pk else None)
        mrn = cleaned.get("mrn")
        if unit and mrn:
            clash = Patient.objects.filter(unit=unit, mrn__iexact=mrn).exclude(pk=self.instance.pk)
            if clash.exists():
                self.add_error("mrn", f"Another patient in {unit.name} already has MRN {mrn}.")
        return cleaned

    def validate_unique(self) -> None:
        # The MRN clash is reported on the field in clean(); skip the generic form-level duplicate message.
        exclude = {*self._get_validation_exclusions(), "unit", "mrn"}
        try:
            self.instance.validate_unique(exclude=exclude)
        except forms.ValidationError as exc:
            self._update_errors(exc)

    def save(self, commit: bool = True) -> Patient:
        if "dry_weight_kg" in self.changed_data:
            self.instance.dry_weight_set_on = timezone.localdate() if self.instance.dry_weight_kg is not None else None
        return super().save(commit)


class LabResultForm(forms.ModelForm):
    analyte = forms.ChoiceField(label="Test")
    unit = UnitChoiceField()

    class Meta:
        model = LabResult
        fields = ["analyte", "value", "unit", "taken_at"]
        widgets = {"taken_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")}
        labels = {"taken_at": "Taken at", "value": "Value", "analyte": "Test"}

    def __init__(self, *args: Any, patient: Patient, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.patient = patient
        self.fields["analyte"].choices = [("", "Choose a test"), *codes.analyte_choices()]
        self.fields["unit"].choices = [("", "Unit"), *codes.all_unit_choices()]
        self.fields["value"].widget.attrs.update({"inputmode": "decimal", "step": "any"})
        if not self.is_bound:
            self.initial.setdefault("taken_at", timezone.localtime().replace(second=0, microsecond=0))

    def clean_taken_at(self) -> dt.datetime:
        taken_at: dt.datetime = self.cleaned_data["taken_at"]
        if taken_at > timezone.now() + dt.timedelta(minutes=5):
            raise forms.ValidationError("The time the sample was taken is in the future.")
        return taken_at

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        analyte, unit, value = cleaned.get("analyte"), cleaned.get("unit"), cleaned.get("value")
        if analyte and unit and value is not None:
            problem = codes.lab_problem(analyte, float(value), unit)
            if problem:
                field = "unit" if problem.kind == "unit" else "value"
                self.add_error(field, problem.message)
        return cleaned

    def save(self, commit: bool = True) -> LabResult:
        self.instance.patient = self.patient
        return super().save(commit=commit)
