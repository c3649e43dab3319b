"""Authentication backend: Django's ModelBackend, loading the signed-in user together with the memberships.

Every signed-in request needs the user and, for scoping, the units they belong to. ModelBackend fetches the
user, then the first ``unit_ids()`` call fetches the memberships: two round trips on every page. Here one query
returns the memberships joined to their user and unit; only a user with no membership at all costs a second one.
Access rules are unchanged: the memberships are read fresh from the database on every request.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend

from clinic.accounts.models import Membership, User


class MembershipsModelBackend(ModelBackend):
    def get_user(self, user_id: Any) -> User | None:
        try:
            memberships = list(Membership.objects.select_related("user", "unit").filter(user_id=user_id))
        except (ValueError, TypeError):
            return None
        if memberships:
            user = memberships[0].user
            for membership in memberships:
                membership.user = user  # one User instance, not one per row
        else:
            try:
                user = User._default_manager.get(pk=user_id)
            except (User.DoesNotExist, ValueError, TypeError):
                return None
        user._membership_cache = memberships
        return user if self.user_can_authenticate(user) else None
