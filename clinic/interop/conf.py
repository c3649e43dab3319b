"""Interoperability settings. Each can be set in clinic/settings.py (tests use pytest-django's ``settings``) and
otherwise comes from the environment; see README.md "Interoperability".
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def system_base() -> str:
    """Base URI of Chairside's own code systems and extensions in exported FHIR (a deployment sets its own)."""
    base = _setting("CHAIRSIDE_FHIR_BASE", os.environ.get("CHAIRSIDE_FHIR_BASE", "https://chairside.invalid/fhir"))
    return str(base).rstrip("/")


def mrn_system() -> str:
    """Identifier system written for a patient whose MRN did not come from a FHIR import."""
    return str(_setting("CHAIRSIDE_MRN_SYSTEM", os.environ.get("CHAIRSIDE_MRN_SYSTEM", f"{system_base()}/mrn")))


def import_max_bytes() -> int:
    return int(_setting("FHIR_IMPORT_MAX_BYTES", os.environ.get("FHIR_IMPORT_MAX_BYTES", 20 * 1024 * 1024)))


def cds_max_body_bytes() -> int:
    return int(_setting("CDS_HOOKS_MAX_BODY_BYTES", 2 * 1024 * 1024))


def cds_dedup_hours() -> float:
    return float(_setting("CDS_HOOKS_DEDUP_HOURS", os.environ.get("CDS_HOOKS_DEDUP_HOURS", 24)))


def cds_lab_max_age_days() -> int:
    return int(_setting("CDS_HOOKS_LAB_MAX_AGE_DAYS", os.environ.get("CDS_HOOKS_LAB_MAX_AGE_DAYS", 90)))


def cds_issuers() -> dict[str, dict[str, Any]]:
    """Trusted CDS clients: {iss: {"jwks": {"keys": [...]}, "algorithms": [...]}}.

    From settings.CDS_HOOKS_ISSUERS, else the JSON file named by the CDS_HOOKS_ISSUERS_FILE environment variable
    (a list of {"iss": ..., "jwks": {...}} objects). No issuers configured means every call is refused.
    """
    configured = _setting("CDS_HOOKS_ISSUERS", None)
    if configured is None:
        path = os.environ.get("CDS_HOOKS_ISSUERS_FILE", "")
        if not path:
            return {}
        try:
            configured = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ImproperlyConfigured(f"CDS_HOOKS_ISSUERS_FILE {path}: {exc}") from exc
    if isinstance(configured, dict):
        return {str(k): dict(v) for k, v in configured.items()}
    return {str(entry["iss"]): dict(entry) for entry in configured}


def cds_base_url() -> str:
    """Public base URL for JWT audience checks behind a proxy ('' = the URL the request arrived on)."""
    return str(_setting("CDS_HOOKS_BASE_URL", os.environ.get("CDS_HOOKS_BASE_URL", ""))).rstrip("/")
