"""The form renderer: Django's Jinja2 widget templates first (the same markup as the Django-template ones, about a
fifth faster on the wizard's longest steps), and Django templates for any template that only exists as one.

``{{ field.as_field_group }}`` renders a field with ``field_template_name``: a Bootstrap 5 field group (label,
control, help text, errors; a fieldset with a legend for checkbox and radio lists), a Jinja2 template of ours. The
wizard's steps and the lab entry form render every field this way: through crispy's Django-template field layout a
dialysis step took 26 ms to render, through this one 15 ms (docs/performance.md).

The Django admin's widgets (related-object wrappers, split date/time, the password-hash display, filtered
multi-selects) ship only Django templates. With the plain Jinja2 renderer those pages answered 500 (the template
could not be found); here they fall back to Django's own template renderer, like every other Django site.
"""

from __future__ import annotations

from typing import Any

from django.forms.renderers import BaseRenderer, DjangoTemplates, Jinja2
from django.template import TemplateDoesNotExist
from django.utils.functional import cached_property


class Jinja2WithDjangoFallback(BaseRenderer):
    field_template_name = "chairside/field.html"  # clinic/core/jinja2/chairside/field.html

    @cached_property
    def jinja2(self) -> Jinja2:
        return Jinja2()

    @cached_property
    def django(self) -> DjangoTemplates:
        return DjangoTemplates()

    def get_template(self, template_name: str) -> Any:
        try:
            return self.jinja2.get_template(template_name)
        except TemplateDoesNotExist:
            return self.django.get_template(template_name)
