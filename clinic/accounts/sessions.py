"""Session engine: Django's database sessions, saving an existing session with one UPDATE statement.

Django's database backend wraps every save in a transaction (BEGIN, UPDATE, COMMIT: three round trips), which it
needs only when creating a session (a failed INSERT must not break the caller's transaction). Saving an existing
session is one UPDATE, atomic on its own; it changes nothing when the session was deleted meanwhile (signed out on
another tab, worker or host), which is reported as Django reports it (``UpdateError``: the request is answered
"session interrupted" and the session is not brought back). Sessions are still read from the database on every
request (no per-process cache): a sign-out holds on every worker at the next request.
"""

from __future__ import annotations

from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import router


class SessionStore(DatabaseSessionStore):
    def save(self, must_create: bool = False) -> None:
        if must_create or self.session_key is None:
            super().save(must_create=must_create)
            return
        using = router.db_for_write(self.model)
        updated = (
            self.model._default_manager.using(using)
            .filter(session_key=self.session_key)
            .update(session_data=self.encode(self._get_session()), expire_date=self.get_expiry_date())
        )
        if not updated:
            raise UpdateError
