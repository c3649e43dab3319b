"""Bearer-token authentication for the JSON API."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from django.http import HttpRequest
from django.utils import timezone

from clinic.api.models import ApiToken, hash_token

if TYPE_CHECKING:
    from clinic.accounts.models import User

# Recording last use on every call would cost a write per request; once a minute is enough to spot stale tokens.
LAST_USED_GRANULARITY = timedelta(minutes=1)


def user_from_bearer(request: HttpRequest) -> User | None:
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return None
    try:  # key_hash is unique: a plain get, without .first()'s ORDER BY
        token = ApiToken.objects.active().select_related("user").get(key_hash=hash_token(raw.strip()))
    except ApiToken.DoesNotExist:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_GRANULARITY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
