"""Hot pieces of markup, rendered in Python or once per process: lab badges, the wizard's choice buttons, and
plain form fields in crispy-bootstrap5's markup. Each gives exactly the HTML of the template it stands in for
(tests/web/test_fast_fields.py holds them to it); they exist because those templates, included dozens of times
per page, were most of the wizard's and patient page's rendering time (docs/performance.md)."""

from __future__ import annotations

import functools
from typing import Any

from crispy_forms.templatetags.crispy_forms_filters import as_crispy_field
from django import forms, template
from django.forms import BoundField
from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

BADGES = frozenset({"low", "normal", "high"})


@functools.cache
def _badge_html(badge: str | None) -> SafeString:
    return SafeString(render_to_string("includes/lab_badge.html", {"badge": badge}).strip())


@register.simple_tag
def lab_badge(badge: object) -> SafeString:
    """The low / normal / high badge (markup in ``includes/lab_badge.html``); anything else shows nothing."""
    return _badge_html(badge if badge in BADGES else None)  # type: ignore[arg-type]


def _options(field: BoundField) -> list[dict[str, Any]]:
    """The field's options as RadioSelect itself computes them (ids, values, labels, which one is selected),
    without building a subwidget per option and rendering its template."""
    widget = field.field.widget
    value = widget.format_value(field.value())
    groups = widget.optgroups(field.html_name, value, {"id": field.auto_id} if field.auto_id else {})
    return [option for _group, options, _index in groups for option in options]


@register.simple_tag
def choice_buttons(field: BoundField, legend: str = "") -> SafeString:
    """Large touch-target radio buttons for a choice field: one fieldset with a legend, each choice a
    Bootstrap ``btn-check`` radio and its label ("yes" in red, "not assessed" in grey), then the field's errors.
    Rendered in Python because the red-flag step shows forty of these and a template include per field was
    over half of that page's time."""
    name = field.html_name
    parts = [
        format_html(
            '<fieldset class="choice-group mb-3{}" id="group-{}">'
            '<legend class="form-label fw-semibold">{}</legend>'
            '<div class="choice-buttons" role="presentation">',
            " is-invalid" if field.errors else "",
            name,
            legend or field.label,
        )
    ]
    for option in _options(field):
        option_id, value = option["attrs"].get("id", ""), option["value"]
        tone = "danger" if value == "yes" else "secondary" if value == "" else "primary"
        parts.append(
            format_html(
                '<input type="radio" class="btn-check" name="{}" id="{}" value="{}"{} autocomplete="off">'
                '<label class="btn btn-outline-{}" for="{}">{}</label>',
                name,
                option_id,
                value,
                mark_safe(" checked") if option["selected"] else "",
                tone,
                option_id,
                option["label"],
            )
        )
    parts.append("</div>")
    parts.extend(format_html('<div class="invalid-feedback d-block">{}</div>', error) for error in field.errors)
    parts.append("</fieldset>")
    return SafeString("".join(parts))


NOT_FAST = (forms.CheckboxInput, forms.RadioSelect, forms.FileInput, forms.MultiWidget)


def _crispy_attributes(field: BoundField) -> dict[str, Any] | None:
    """What ``|as_crispy_field`` would render the field with, or None when the fast path does not cover it."""
    attributes: dict[str, Any] = {
        "form_show_errors": True,
        "form_show_labels": True,
        "label_class": "",
        "field_class": "",
    }
    helper = getattr(field.form, "helper", None)
    if helper is not None:
        attributes.update(helper.get_attributes("bootstrap5"))
        if helper.field_template not in (None, "bootstrap5/field.html"):
            return None
    covered = (
        attributes["form_show_errors"] is True
        and attributes["form_show_labels"] is True
        and not attributes["label_class"]
        and not attributes["field_class"]
        and not attributes.get("help_text_inline")
        and attributes.get("field_template", "bootstrap5/field.html") == "bootstrap5/field.html"
    )
    return attributes if covered else None


@register.filter
def bs_field(field: BoundField) -> SafeString:
    """A text, number, date or select field in exactly crispy-bootstrap5's markup (``|as_crispy_field``), written
    in Python: the wizard's dialysis step has eighteen of them and crispy's field template was ~45 % of that page.
    Anything else (checkboxes, radios, files, multi-widgets, unusual FormHelper settings) goes to crispy itself;
    tests/web/test_fast_fields.py holds the two to the same output for every field of every form."""
    widget = field.field.widget
    attributes = _crispy_attributes(field)
    if attributes is None or isinstance(widget, NOT_FAST) or field.is_hidden or field.use_fieldset:
        return as_crispy_field(field)
    # The widget classes crispy's {% crispy_field %} adds: the widget's own name, then Bootstrap's.
    own = type(widget).__name__.lower()
    css = widget.attrs.get("class", "")
    css = (css if own in css else f"{css} {own}") if css else own
    extra = "form-select" if isinstance(widget, forms.Select) else "form-control"
    for token in f"{extra} is-invalid".split() if field.errors else [extra]:
        if token not in css.split():
            css += f" {token}"
    widget.attrs["class"] = css

    required = field.field.required
    auto_id = field.auto_id
    parts = [format_html('<div id="div_{}" class="mb-3{}">', auto_id, f" {field.css_classes()}".rstrip())]
    if field.label:
        parts.append(
            format_html(
                '<label{} class="form-label{}">{}{}</label>',
                format_html(' for="{}"', field.id_for_label) if field.id_for_label else "",
                " requiredField" if required else "",
                field.label,
                mark_safe('<span class="asteriskField">*</span>') if required else "",
            )
        )
    parts.append(str(field))
    if field.errors:
        tag = "span" if attributes.get("error_text_inline") else "p"
        parts.append(format_html('<div id="{}_error" class="invalid-feedback">', getattr(field.errors, "field_id", "")))
        parts.extend(
            format_html('<{} id="error_{}_{}"><strong>{}</strong></{}>', tag, number, auto_id, error, tag)
            for number, error in enumerate(field.errors, start=1)
        )
        parts.append("</div>")
    if field.help_text:
        helptext_id = format_html('id="{}_helptext" ', auto_id) if auto_id else ""
        parts.append(format_html('<div {}class="form-text">{}</div>', helptext_id, mark_safe(field.help_text)))
    parts.append("</div>")
    return SafeString("".join(parts))
