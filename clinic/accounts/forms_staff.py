"""Forms a unit admin uses to manage the unit's staff."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.password_validation import validate_password

from clinic.accounts.models import Role, User


class AddStaffForm(forms.Form):
    username = forms.CharField(max_length=150, help_text="An existing account, or a new one to create.")
    role = forms.ChoiceField(choices=Role.choices)
    first_name = forms.CharField(max_length=150, required=False, help_text="For a new account.")
    last_name = forms.CharField(max_length=150, required=False, help_text="For a new account.")
    password = forms.CharField(
        required=False, widget=forms.PasswordInput, help_text="For a new account: a temporary password to hand over."
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        username = cleaned.get("username", "").strip()
        if not username:
            return cleaned
        self.existing = User.objects.filter(username=username).first()
        if self.existing is None:
            password = cleaned.get("password") or ""
            if not password:
                self.add_error(
                    "password", "There is no account called that yet: give a temporary password to create it."
                )
            else:
                try:
                    validate_password(password, User(username=username))
                except forms.ValidationError as exc:
                    self.add_error("password", exc)
        return cleaned


class ChangeRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
