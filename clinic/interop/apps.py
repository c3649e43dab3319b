from __future__ import annotations

from django.apps import AppConfig


class InteropConfig(AppConfig):
    name = "clinic.interop"
    label = "interop"
    verbose_name = "Interoperability (FHIR, CDS Hooks)"
    default_auto_field = "django.db.models.BigAutoField"
