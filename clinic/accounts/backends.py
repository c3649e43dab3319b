"""Authentication backend: Django's ModelBackend, loading the signed-in user together with the memberships.

Every signed-in request needs the user and, for scoping, the units they belong to. Both come from one query: the
user's memberships joined to their units and to the user (one row per membership, each carrying the same user
columns). Only a user without any membership (a superuser who works in the admin) needs a second query for the
user alone. Everything is read fresh from the database on every request (a revoked membership or a deactivated
account counts at the next request, on every process) and nothing is kept between requests.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError

from clinic.accounts.models import MEMBERSHIPS_ATTR, User, memberships_queryset


def load_user(user_id: Any) -> User | None:
    """The user with ``cached_memberships()`` filled, in one query when the user has a membership."""
    try:
        pk = User._meta.pk.to_python(user_id)
    except ValidationError:
        return None
    memberships = list(memberships_queryset().select_related("user").filter(user_id=pk))
    if memberships:
        user = memberships[0].user
        for membership in memberships:
            membership.user = user  # one user object, as a prefetch would leave it
    else:
        user = User._default_manager.filter(pk=pk).first()
        if user is None:
            return None
    setattr(user, MEMBERSHIPS_ATTR, memberships)
    return user


class MembershipsModelBackend(ModelBackend):
    def get_user(self, user_id: Any) -> User | None:
        user = load_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
