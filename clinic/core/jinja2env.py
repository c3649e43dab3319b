"""The Jinja2 environment for the page fragments drawn with Jinja2.

Most pages are Django templates. The few fragments that repeat a row or a block many times on the busiest pages
(the patient list's rows, the care plan's sections) are Jinja2 templates under an app's ``jinja2/`` folder,
rendered with ``fragment()`` below: Jinja2 compiles a template to Python once, where Django's
engine walks its node tree for every row (docs/performance.md has the measurements). Django's Jinja2 backend
already puts ``request``, ``csrf_input`` and ``csrf_token`` in the context and escapes every value; this adds the
few Django helpers those fragments use, by their Django names.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.template import defaultfilters
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime
from jinja2 import Environment, Undefined


def fragment(template_name: str, context: dict[str, Any], request: HttpRequest) -> SafeString:
    """A Jinja2 fragment's HTML, to place in a Django template with ``{{ name }}``: Jinja2 escaped every value."""
    return mark_safe(render_to_string(template_name, context, request, using="jinja2"))


def url(name: str, *args: Any) -> str:
    """``{{ url("patients:detail", patient.public_id) }}``, Django's ``{% url %}``."""
    return reverse(name, args=args)


def date(value: Any, format: str | None = None) -> str:
    """``{{ value|date("j M Y H:i") }}``, Django's ``|date`` filter, in the local time zone as Django's shows it."""
    return defaultfilters.date(template_localtime(value), format)


def environment(**options: Any) -> Environment:
    from clinic.core.templatetags.ui_tags import lab_badge
    from clinic.workups.templatetags.plan_tags import sources

    # A missing key renders as nothing, as in Django templates (a plan stored by an older engine lacks newer keys),
    # in development too (Django's backend would print the expression when DEBUG is on).
    env = Environment(**{**options, "undefined": Undefined})
    # Django's template tags, as functions: {{ sources(action.evidence, action.sources) }}, {{ lab_badge(lab.badge) }}
    env.globals.update(url=url, sources=sources, lab_badge=lab_badge)
    env.filters.update(
        date=date,
        floatformat=defaultfilters.floatformat,
        pluralize=defaultfilters.pluralize,
    )
    return env
