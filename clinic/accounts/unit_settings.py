"""Unit admins edit what the patient handout prints about their unit: phone number, opening hours, and the
locale (en-GB or en-US wording, A4 or US Letter paper by default). Audited like every staff-screen change."""

from __future__ import annotations

import re

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from clinic.accounts.models import Unit
from clinic.accounts.staff import admin_unit
from clinic.audit.models import Action
from clinic.audit.services import record

PHONE = re.compile(r"^\+?[0-9][0-9 ()\-.]{4,38}$")


class UnitSettingsForm(forms.ModelForm):
    class Meta:
        model = Unit
        fields = ["phone", "hours", "locale"]

    def clean_phone(self) -> str:
        phone = self.cleaned_data.get("phone", "").strip()
        if phone and not PHONE.match(phone):
            raise forms.ValidationError("Enter a phone number: digits, spaces, brackets, dashes and a leading +.")
        return phone

    def clean_hours(self) -> str:
        return " ".join(self.cleaned_data.get("hours", "").split())


@require_POST
def unit_settings(request: HttpRequest, code: str) -> HttpResponse:
    unit = admin_unit(request, code)
    form = UnitSettingsForm(request.POST, instance=unit)
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            messages.error(request, f"{unit.name} settings, {label}: {' '.join(errors)}")
        return redirect("staff")
    form.save()
    record(
        Action.STAFF_CHANGE,
        request=request,
        unit=unit,
        detail={"change": "unit_settings", "fields": sorted(form.changed_data)},
    )
    messages.success(request, f"Handout settings saved for {unit.name}.")
    return redirect("staff")
