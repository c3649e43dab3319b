"""Walk the URLconf and build real URLs for every named route (used by the guard and access tests)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver, reverse

# Routes that are public on purpose (CDS Hooks discovery is public by the specification), or that
# authenticate with tokens instead of a session (the API, CDS Hooks services with the EHR's JWT).
PUBLIC_ROUTES = {"login", "healthz", "api-evaluate", "interop:cds-discovery"}
TOKEN_ROUTES = {"api-evaluate", "interop:cds-service", "interop:cds-feedback"}


def named_routes() -> Iterator[tuple[str, URLPattern]]:
    def walk(patterns: list[Any], namespace: str = "") -> Iterator[tuple[str, URLPattern]]:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                if entry.app_name == "admin":
                    continue
                ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                yield from walk(entry.url_patterns, ns)
            elif isinstance(entry, URLPattern) and entry.name:
                yield f"{namespace}{entry.name}", entry

    yield from walk(get_resolver().url_patterns)


def url_for(name: str, pattern: URLPattern, objects: dict[str, Any]) -> str:
    """Fill each URL parameter from real objects: ``public_id`` is a workup in routes under ``workups/``,
    otherwise a patient."""
    kwargs: dict[str, Any] = {}
    for param in pattern.pattern.converters:
        if param == "slug":
            kwargs[param] = "episode"
        elif param == "code":
            kwargs[param] = objects["unit"].code
        elif param == "membership_id":
            kwargs[param] = objects["membership"].pk
        elif param == "service_id":
            from clinic.interop.cds import PATIENT_VIEW

            kwargs[param] = PATIENT_VIEW
        elif param == "public_id":
            owner = "workup" if str(pattern.pattern).startswith("workups/") else "patient"
            kwargs[param] = objects[owner].public_id
        else:
            raise AssertionError(f"Route {name} has a parameter {param!r} the walker does not know; teach it.")
    return reverse(name, kwargs=kwargs)


def scoped_routes() -> list[str]:
    """Routes whose URL names a patient-scoped object."""
    return [name for name, pattern in named_routes() if "public_id" in pattern.pattern.converters]
