"""Unit admins manage their unit's staff: add an account (new or existing), change a role, remove someone from
the unit, and unlock a sign-in that django-axes locked. Every change is audited."""

from __future__ import annotations

from axes.models import AccessAttempt
from axes.utils import reset
from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from clinic.accounts.forms_staff import AddStaffForm, ChangeRoleForm
from clinic.accounts.models import Locale, Membership, Role, Unit, User
from clinic.audit.models import Action
from clinic.audit.services import record


def admin_units(user: User) -> list[Unit]:
    return [m.unit for m in user.cached_memberships() if m.role == Role.UNIT_ADMIN]


def admin_unit(request: HttpRequest, code: str) -> Unit:
    unit = next((u for u in admin_units(request.user) if u.code == code), None)
    if unit is None:
        raise Http404("No such unit.")
    return unit


LAST_ADMIN = "{user} is the last unit admin of {unit}: make someone else unit admin first."


def _leaves_no_admin(unit: Unit, membership: Membership, new_role: str | None) -> bool:
    """Would giving ``membership`` ``new_role`` (None: removing it) leave the unit without a unit admin? Locks the
    unit's admin memberships until the transaction ends, so two admins demoting each other at once cannot both
    succeed (on PostgreSQL the second waits, then sees the first's change)."""
    admins = list(
        Membership.objects.select_for_update().filter(unit=unit, role=Role.UNIT_ADMIN).values_list("pk", flat=True)
    )
    return membership.pk in admins and new_role != Role.UNIT_ADMIN and len(admins) == 1


@require_GET
def staff_list(request: HttpRequest) -> HttpResponse:
    units = admin_units(request.user)
    if not units:
        raise Http404("Only unit admins manage staff.")
    memberships = list(
        Membership.objects.filter(unit__in=units)
        .select_related("user", "unit")
        .order_by("unit__name", "user__username")
    )
    locked = set(
        AccessAttempt.objects.filter(
            username__in=[m.user.username for m in memberships], failures_since_start__gte=settings.AXES_FAILURE_LIMIT
        ).values_list("username", flat=True)
    )
    context = {
        "units": units,
        "memberships": memberships,
        "locked": locked,
        "add_form": AddStaffForm(),
        "roles": Role.choices,
        "locales": Locale.choices,
    }
    return render(request, "accounts/staff.html", context)


@require_POST
def staff_add(request: HttpRequest, code: str) -> HttpResponse:
    unit = admin_unit(request, code)
    form = AddStaffForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{form.fields[field].label if field in form.fields else ''}: {' '.join(errors)}")
        return redirect("staff")
    user = form.existing
    if user is None:
        user = User.objects.create_user(
            username=form.cleaned_data["username"].strip(),
            password=form.cleaned_data["password"],
            first_name=form.cleaned_data["first_name"],
            last_name=form.cleaned_data["last_name"],
        )
    with transaction.atomic():
        current = Membership.objects.filter(user=user, unit=unit).first()
        if current is not None and _leaves_no_admin(unit, current, form.cleaned_data["role"]):
            messages.error(request, LAST_ADMIN.format(user=user.username, unit=unit.name))
            return redirect("staff")
        Membership.objects.update_or_create(user=user, unit=unit, defaults={"role": form.cleaned_data["role"]})
    record(
        Action.STAFF_CHANGE,
        request=request,
        unit=unit,
        detail={"change": "add", "staff": user.pk, "role": form.cleaned_data["role"]},
    )
    messages.success(request, f"{user.username} is now {Role(form.cleaned_data['role']).label.lower()} in {unit.name}.")
    return redirect("staff")


@require_POST
def staff_change(request: HttpRequest, code: str, membership_id: int) -> HttpResponse:
    unit = admin_unit(request, code)
    membership = get_object_or_404(Membership.objects.select_related("user"), pk=membership_id, unit=unit)
    if request.POST.get("remove"):
        if membership.user == request.user:
            messages.error(request, "You cannot remove yourself from the unit.")
            return redirect("staff")
        with transaction.atomic():
            if _leaves_no_admin(unit, membership, None):
                messages.error(request, LAST_ADMIN.format(user=membership.user.username, unit=unit.name))
                return redirect("staff")
            membership.delete()
        record(
            Action.STAFF_CHANGE, request=request, unit=unit, detail={"change": "remove", "staff": membership.user_id}
        )
        messages.success(request, f"{membership.user.username} was removed from {unit.name}.")
        return redirect("staff")
    form = ChangeRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a valid role.")
        return redirect("staff")
    with transaction.atomic():
        if _leaves_no_admin(unit, membership, form.cleaned_data["role"]):
            messages.error(request, LAST_ADMIN.format(user=membership.user.username, unit=unit.name))
            return redirect("staff")
        membership.role = form.cleaned_data["role"]
        membership.save(update_fields=["role"])
    record(
        Action.STAFF_CHANGE,
        request=request,
        unit=unit,
        detail={"change": "role", "staff": membership.user_id, "role": membership.role},
    )
    messages.success(request, f"{membership.user.username} is now {membership.get_role_display().lower()}.")
    return redirect("staff")


@require_POST
def staff_unlock(request: HttpRequest, code: str, membership_id: int) -> HttpResponse:
    unit = admin_unit(request, code)
    membership = get_object_or_404(Membership.objects.select_related("user"), pk=membership_id, unit=unit)
    reset(username=membership.user.username)
    record(Action.STAFF_CHANGE, request=request, unit=unit, detail={"change": "unlock", "staff": membership.user_id})
    messages.success(request, f"Sign-in unlocked for {membership.user.username}.")
    return redirect("staff")
