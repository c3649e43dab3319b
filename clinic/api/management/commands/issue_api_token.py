from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from clinic.api.models import ApiToken
from clinic.audit.models import Action
from clinic.audit.services import record


class Command(BaseCommand):
    help = "Issue an API bearer token for USERNAME. The token is printed once and only its hash is stored."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="What the token is for.")

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        try:
            user = user_model.objects.get(username=options["username"], is_active=True)
        except user_model.DoesNotExist as exc:
            raise CommandError(f"No active user called {options['username']!r}.") from exc
        token, raw = ApiToken.issue(user, name=options["name"])
        record(Action.TOKEN_ISSUE, user=user, detail={"token": token.hint, "via": "command"})
        self.stdout.write(raw)
        self.stderr.write(f"Token for {user.get_username()} issued; store it now, it cannot be shown again.")
