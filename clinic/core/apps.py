from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "clinic.core"
    label = "core"
    verbose_name = "Chairside core"

    def ready(self) -> None:
        from clinic.core import checks  # noqa: F401  (registers system checks)
