from __future__ import annotations

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "clinic.audit"
    label = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from clinic.audit import signals  # noqa: F401  (connects login/logout receivers)
