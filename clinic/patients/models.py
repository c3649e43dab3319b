"""Patients and their lab results. Public URLs use ``public_id`` (a UUID), never the row id or the MRN."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from clinic.accounts.models import LabUnitSystem
from clinic.engine.validation import age_on, age_problem

if TYPE_CHECKING:
    from clinic.accounts.models import User


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Unknown"


class HepaticImpairment(models.TextChoices):
    NONE = "none", "No impairment"
    MILD = "mild", "Mild"
    MODERATE = "moderate", "Moderate"
    SEVERE = "severe", "Severe"


class Access(models.TextChoices):
    FISTULA = "fistula", "Fistula"
    GRAFT = "graft", "Graft"
    CATHETER = "catheter", "Catheter"


class PatientQuerySet(models.QuerySet["Patient"]):
    def for_user(self, user: User) -> PatientQuerySet:
        """Only the patients of the units the user is a member of: the single gate for patient access."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(unit_id__in=user.unit_ids())

    def matching(self, query: str) -> PatientQuerySet:
        """Patients whose family name, given name or MRN contains every word of ``query`` (any case)."""
        terms = models.Q()
        for word in query.split():
            terms &= (
                models.Q(family_name__icontains=word)
                | models.Q(given_name__icontains=word)
                | models.Q(mrn__icontains=word)
            )
        return self.filter(terms)


def normalise_mrn(value: str) -> str:
    """An MRN as stored: surrounding and repeated spaces removed. MRNs compare case-insensitively (mrn__iexact),
    so the patient form and the FHIR import find "dup-9 " and "DUP-9" to be the same patient."""
    return " ".join(str(value).split())


def birth_date_problem(dob: dt.date, today: dt.date) -> str | None:
    """Why a date of birth is impossible for a Chairside patient, or None. The engine's own age rule
    (clinic.engine.validation.age_problem: 18 from the knowledge base up to MAX_AGE_YEARS), which the patient form
    and the FHIR import apply, so an accepted patient can always get a care plan."""
    return age_problem(dob, today)


class Patient(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="patients")
    mrn = models.CharField("medical record number", max_length=40)
    # The identifier system the MRN came from (FHIR import), so an export names the same identifier.
    mrn_system = models.CharField("MRN identifier system", max_length=200, blank=True)
    family_name = models.CharField(max_length=100)
    given_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=10, choices=Sex, default=Sex.UNKNOWN)
    dialysis_started = models.DateField("date dialysis started", null=True, blank=True)
    sessions_completed = models.PositiveIntegerField(null=True, blank=True)
    esrd_onset = models.DateField("end-stage renal disease since", null=True, blank=True)
    dry_weight_kg = models.DecimalField("dry weight (kg)", max_digits=5, decimal_places=1, null=True, blank=True)
    dry_weight_set_on = models.DateField("dry weight set on", null=True, blank=True, editable=False)
    # None = not recorded (never read as "no").
    diabetes = models.BooleanField(null=True, blank=True)
    hepatic_impairment = models.CharField(max_length=10, choices=HepaticImpairment, blank=True)
    access = models.CharField("vascular access", max_length=10, choices=Access, blank=True)
    residual_urine_ml_per_day = models.PositiveIntegerField(null=True, blank=True)
    # Contract codes (docs/contract.md): conditions and current medications.
    conditions = models.JSONField(default=list, blank=True)
    medications = models.JSONField(default=list, blank=True)
    # From a FHIR import (Patient.deceased[x]): a deceased patient has no current medicines.
    deceased = models.BooleanField(default=False)
    deceased_on = models.DateField(null=True, blank=True)
    lab_unit_system = models.CharField(
        "lab units", max_length=2, choices=LabUnitSystem, blank=True, help_text="Leave blank to use the unit's default."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["family_name", "given_name", "id"]
        constraints = [models.UniqueConstraint(fields=["unit", "mrn"], name="mrn_unique_in_unit")]
        indexes = [
            models.Index(fields=["unit", "family_name", "given_name"], name="patient_unit_name"),
        ]

    def __str__(self) -> str:
        return f"{self.family_name}, {self.given_name}"

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def age_years(self, today: dt.date | None = None) -> int:
        return age_on(self.date_of_birth, today or timezone.localdate())

    def vintage_months(self, today: dt.date | None = None) -> int | None:
        if self.dialysis_started is None:
            return None
        today = today or timezone.localdate()
        months = (today.year - self.dialysis_started.year) * 12 + today.month - self.dialysis_started.month
        if today.day < self.dialysis_started.day:
            months -= 1
        return max(months, 0)

    def effective_lab_units(self) -> str:
        return self.lab_unit_system or self.unit.lab_unit_system


class LabSource(models.TextChoices):
    MANUAL = "manual", "Entered by hand"
    FHIR = "fhir", "FHIR import"
    DEMO = "demo", "Demo data"
    WORKUP = "workup", "Entered in a workup"


class LabResult(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="lab_results")
    analyte = models.CharField(max_length=32)
    value = models.DecimalField("value as entered", max_digits=10, decimal_places=3)
    unit = models.CharField("unit as entered", max_length=16)
    value_si = models.FloatField("value in SI units")
    taken_at = models.DateTimeField()
    source = models.CharField(max_length=10, choices=LabSource, default=LabSource.MANUAL)
    # Identifier of the originating record (e.g. a FHIR Observation id) so a re-import adds nothing twice.
    source_ref = models.CharField(max_length=200, blank=True)
    # Set when the source retracted the result (FHIR Observation status entered-in-error): kept in the history,
    # marked, and never the current result.
    retracted_at = models.DateTimeField(null=True, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-taken_at", "-id"]
        indexes = [models.Index(fields=["patient", "analyte", "-taken_at"], name="lab_patient_analyte_time")]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "source", "source_ref"],
                condition=~models.Q(source_ref=""),
                name="lab_source_ref_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.analyte} {self.value} {self.unit} at {self.taken_at:%Y-%m-%d}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        from clinic.engine.units import to_si

        self.value_si = to_si(self.analyte, float(self.value), self.unit)
        super().save(*args, **kwargs)
