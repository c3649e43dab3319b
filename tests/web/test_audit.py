from __future__ import annotations

import pytest

from clinic.audit.models import Action, AppendOnlyError, AuditEvent
from clinic.audit.services import record

pytestmark = pytest.mark.django_db


def test_audit_events_are_append_only() -> None:
    event = record(Action.LOGIN_FAILED, username="someone")
    event.username = "changed"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(username="changed")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).username == "someone"
