from __future__ import annotations

from django.apps import AppConfig


class PrintingConfig(AppConfig):
    name = "clinic.printing"
    label = "printing"
    verbose_name = "Printing and PDFs"
