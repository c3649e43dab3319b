"""Authentication backend: Django's ModelBackend, loading the signed-in user together with the memberships.

Every signed-in request needs the user and, for scoping, the units they belong to. The user is read with a
Prefetch of the memberships and their units, so they are read fresh from the database on every request (a
revoked membership or a deactivated account counts at the next request, on every process) and nothing is kept
between requests.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend

from clinic.accounts.models import User, memberships_prefetch


class MembershipsModelBackend(ModelBackend):
    def get_user(self, user_id: Any) -> User | None:
        try:
            user = User._default_manager.prefetch_related(memberships_prefetch()).get(pk=user_id)
        except (User.DoesNotExist, ValueError, TypeError):
            return None
        return user if self.user_can_authenticate(user) else None
