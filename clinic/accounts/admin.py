from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from clinic.accounts.models import Membership, Unit, User
from clinic.audit.models import Action
from clinic.audit.services import record


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["unit"]


@admin.register(User)
class ChairsideUserAdmin(UserAdmin):
    inlines = [MembershipInline]
    list_display = ["username", "first_name", "last_name", "is_active", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    actions = ["deactivate_users", "reactivate_users"]

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # Accounts are switched off (is_active), never deleted: the audit trail must keep pointing at them.
        return False

    def _set_active(self, request: HttpRequest, queryset: QuerySet[User], active: bool) -> int:
        changed = 0
        for user in queryset.exclude(is_active=active).exclude(pk=request.user.pk):
            user.is_active = active
            user.save(update_fields=["is_active"])
            change = "reactivate" if active else "deactivate"
            record(Action.STAFF_CHANGE, request=request, detail={"change": change, "staff": user.pk})
            changed += 1
        return changed

    @admin.action(description="Deactivate selected users (signed out everywhere at their next request)")
    def deactivate_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        count = self._set_active(request, queryset, False)
        self.message_user(request, f"Deactivated {count} user(s). Your own account is never changed here.")

    @admin.action(description="Reactivate selected users")
    def reactivate_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        count = self._set_active(request, queryset, True)
        self.message_user(request, f"Reactivated {count} user(s).", messages.SUCCESS)


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "lab_unit_system"]
    search_fields = ["name", "code"]
