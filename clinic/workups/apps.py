from __future__ import annotations

from django.apps import AppConfig


class WorkupsConfig(AppConfig):
    name = "clinic.workups"
    label = "workups"
    verbose_name = "Workups and care plans"
