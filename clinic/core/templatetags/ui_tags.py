"""The lab badge, rendered from its template once per badge value (it appears on every row of the lab tables).
Form fields render with Django's own mechanism, ``{{ field.as_field_group }}``, through the form renderer's field
template (clinic/core/renderers.py); the patient record and import forms use crispy's ``|as_crispy_field``."""

from __future__ import annotations

import functools

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from clinic.core.fields import plain_number

register = template.Library()

BADGES = frozenset({"low", "normal", "high"})


@functools.cache
def _badge_html(badge: str | None) -> SafeString:
    return SafeString(render_to_string("includes/lab_badge.html", {"badge": badge}).strip())


@register.simple_tag
def lab_badge(badge: object) -> SafeString:
    """The low / normal / high badge (markup in ``includes/lab_badge.html``); anything else shows nothing."""
    return _badge_html(badge if badge in BADGES else None)  # type: ignore[arg-type]


@register.filter
def plain(value: object) -> object:
    """A number as a person writes it (70, not 70.0; 140, not 1.4E+2); anything else unchanged."""
    return plain_number(value)
