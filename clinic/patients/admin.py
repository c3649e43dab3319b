from __future__ import annotations

from django.contrib import admin

from clinic.patients.models import LabResult, Patient


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ["family_name", "given_name", "mrn", "unit", "date_of_birth"]
    list_filter = ["unit"]
    search_fields = ["family_name", "given_name", "mrn"]
    readonly_fields = ["public_id", "created_at", "updated_at", "created_by"]


@admin.register(LabResult)
class LabResultAdmin(admin.ModelAdmin):
    list_display = ["patient", "analyte", "value", "unit", "value_si", "taken_at", "source"]
    list_filter = ["analyte", "source"]
    raw_id_fields = ["patient"]
