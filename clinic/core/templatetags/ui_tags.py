"""Small, hot pieces of markup rendered once per process and reused (a patient page shows ~60 lab badges)."""

from __future__ import annotations

import functools

from django import template
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.safestring import SafeString

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
def html_attrs(attrs: dict[str, object]) -> SafeString:
    """`` name="value"`` pairs as crispy-bootstrap5's layout/attrs.html writes them: True gives a bare name,
    False leaves the attribute out, anything else is shown as text and escaped."""
    return SafeString(
        "".join(
            f" {escape(name)}" if value is True else f' {escape(name)}="{escape(str(value))}"'
            for name, value in attrs.items()
            if value is not False
        )
    )
