"""``createserviceaccount NAME --perm submit_run …``: a user with a DRF token, for other services."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rest_framework.authtoken.models import Token

ROLES = {
    "reader": ["view_run"],
    "submitter": ["view_run", "submit_run"],
    "operator": [
        "view_run",
        "submit_run",
        "retry_run",
        "resolve_run",
        "cancel_run",
        "pause_action",
    ],
}


class Command(BaseCommand):
    help = (
        "Create a service account (a user without a password) holding the given permissions, "
        "and print its API token. Use the token as 'Authorization: Token <token>'."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--perm",
            action="append",
            default=[],
            metavar="PERM",
            help="a permission such as submit_run or actions.view_run (repeatable)",
        )
        parser.add_argument(
            "--role",
            choices=sorted(ROLES),
            help="a preset: "
            + "; ".join(f"{role}: {', '.join(perms)}" for role, perms in ROLES.items()),
        )
        parser.add_argument(
            "--rotate",
            action="store_true",
            help="the account exists: replace its token (the old one stops working)",
        )

    def handle(self, *args, username: str, perm: list[str], role: str | None, rotate: bool, **kw):
        wanted = [*(ROLES[role] if role else []), *perm]
        permissions = [self.permission(name) for name in wanted]
        User = get_user_model()
        with transaction.atomic():
            user = User.objects.filter(username=username).first()
            if user is None:
                user = User(username=username, is_staff=False)
                user.set_unusable_password()
                user.save()
            elif not rotate:
                raise CommandError(
                    f"a user named {username!r} exists; pass --rotate to issue a new token"
                )
            user.user_permissions.add(*permissions)
            Token.objects.filter(user=user).delete()
            token = Token.objects.create(user=user)
        granted = ", ".join(
            sorted({f"{p.content_type.app_label}.{p.codename}" for p in permissions})
        )
        self.stderr.write(f"service account {username!r}; permissions added: {granted or 'none'}")
        self.stdout.write(token.key)

    def permission(self, name: str) -> Permission:
        app_label, _, codename = name.rpartition(".")
        found = Permission.objects.filter(
            codename=codename, content_type__app_label=app_label or "actions"
        )
        permission = found.select_related("content_type").first()
        if permission is None:
            raise CommandError(f"no permission named {name!r} (e.g. actions.submit_run)")
        return permission
