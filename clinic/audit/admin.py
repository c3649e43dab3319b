from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from clinic.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "username", "action", "unit", "patient_public_id", "client_ip"]
    list_filter = ["action", "unit"]
    search_fields = ["username", "patient_public_id"]
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
