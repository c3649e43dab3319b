"""Every template is CSP-safe (issue 6: headers): no inline script or style, no event-handler attributes, no
``hx-on``, no ``javascript:`` URLs; and htmx is configured not to evaluate strings."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIRS = [ROOT / "templates", *sorted((ROOT / "clinic").glob("*/templates"))]
TEMPLATES = sorted(path for folder in TEMPLATE_DIRS for path in folder.rglob("*") if path.is_file())

# A tag's attributes; template tags inside a tag ({% if %}…) are kept as text, which is what we want to scan.
TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9:-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>", re.DOTALL)
ATTRIBUTE = re.compile(r"""(?:^|\s)([^\s=/>"']+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]+))?""")
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "hx-get", "hx-post", "hx-put", "hx-patch", "hx-delete"}


def problems_in(text: str) -> list[str]:
    found: list[str] = []
    for match in TAG.finditer(text):
        tag, attrs = match.group(1).lower(), match.group(2)
        names = {}
        for attr in ATTRIBUTE.finditer(attrs):
            names[attr.group(1).lower()] = (attr.group(2) or "").strip("\"'")
        if tag == "script" and "src" not in names:
            found.append(f"inline <script> without src: {match.group(0)[:80]}")
        if tag == "style":
            found.append("inline <style> element")
        for name, value in names.items():
            if name.startswith(("hx-on", "data-hx-on")):
                found.append(f"{name} attribute (htmx evaluates it as script)")
            elif name == "style":
                found.append(f"style= attribute on <{tag}>")
            elif re.fullmatch(r"on[a-z]+", name):
                found.append(f"{name}= event attribute on <{tag}>")
            elif name in URL_ATTRIBUTES and re.sub(r"\s", "", unescape(value)).lower().startswith("javascript:"):
                found.append(f"javascript: URL in {name} on <{tag}>")
            elif name in {"hx-vals", "hx-vars", "data-hx-vals"} and "js:" in value.replace(" ", "").lower():
                found.append(f"{name} with js: (evaluated)")
    if re.search(r"javascript:", text, re.IGNORECASE):
        found.append("javascript: appears in the template")
    return found


def test_there_are_templates_to_scan() -> None:
    assert len(TEMPLATES) >= 10, TEMPLATES
    assert any(path.name == "base.html" for path in TEMPLATES)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda path: str(path.relative_to(ROOT)))
def test_template_is_csp_safe(path: Path) -> None:
    assert problems_in(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "snippet",
    [
        "<script>alert(1)</script>",
        '<script type="module">x()</script>',
        '<button hx-on:click="x()">',
        '<button hx-on::after-request="x()">',
        '<div style="color: red">',
        '<a href="javascript:void(0)">',
        "<a href=' JavaScript:x()'>",
        '<body onload="x()">',
        '<img src="a.png" onerror="x()">',
        "<div hx-vals='js:{\"a\": b()}'>",
        "<style>p { color: red }</style>",
    ],
)
def test_scanner_catches(snippet: str) -> None:
    assert problems_in(snippet), snippet


def test_scanner_allows_safe_markup() -> None:
    safe = (
        "<script src=\"{% static 'app.js' %}\" defer></script>"
        '<a href="{% url \'home\' %}" class="btn" data-on="x">x</a>'
        '<button hx-post="/x" hx-target="#y" hx-vals=\'{"a": 1}\'>go</button>'
        '<div data-style="big" aria-label="online">one</div>'
    )
    assert problems_in(safe) == []


def test_htmx_config_disallows_eval() -> None:
    base = (ROOT / "templates" / "base.html").read_text(encoding="utf-8")
    match = re.search(r"<meta\s+name=[\"']htmx-config[\"']\s+content='([^']*)'", base)
    assert match, 'base.html must configure htmx with <meta name="htmx-config">'
    config = json.loads(unescape(match.group(1)))
    assert config["allowEval"] is False
    assert config.get("allowScriptTags") is False
    assert config.get("includeIndicatorStyles") is False, "htmx would otherwise inject an inline <style>"
