"""Chairside workup engine: pure Python (stdlib only), no Django.

Public API (stable; the Django app, the CLI and the HTTP API call exactly these):
    evaluate, validate_case, CaseError, load_knowledge, plan_to_dict, plan_to_json, errors_to_json,
    Knowledge, Case, CarePlan
"""

from __future__ import annotations

from .evaluate import evaluate
from .knowledge import Knowledge, KnowledgeError, load_knowledge
from .serialize import errors_to_json, plan_to_dict, plan_to_json
from .types import CarePlan, Case
from .validation import CaseError, validate_case

__all__ = [
    "CarePlan",
    "Case",
    "CaseError",
    "Knowledge",
    "KnowledgeError",
    "errors_to_json",
    "evaluate",
    "load_knowledge",
    "plan_to_dict",
    "plan_to_json",
    "validate_case",
]
