import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from actions.models import Run
from actions.submission import submit

SIGNUPS = ["ada", "grace", "linus", "margaret", "barbara", "ken", "dennis", "radia"]


class Command(BaseCommand):
    help = "Create the demo superuser (printing a fresh password) and, once, a batch of demo runs."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, **options):
        password = secrets.token_urlsafe(12)
        user, created = get_user_model().objects.get_or_create(
            username=options["username"],
            defaults={"is_staff": True, "is_superuser": True, "email": "admin@example.com"},
        )
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        self.stdout.write(
            self.style.SUCCESS(f"demo superuser: {user.username} / {password}")
            + ("" if created else " (password reset)")
        )
        if Run.objects.exists():
            return
        for i, name in enumerate(SIGNUPS):
            email = f"{name}@example.com"
            key = f"signup-{i + 1}"
            submit("create-user", {"email": email, "name": name.title()}, idempotency_key=key)
            submit(
                "charge-subscription",
                {"email": email, "amount_cents": 1900, "plan": "pro"},
                idempotency_key=key,
            )
            submit(
                "send-welcome-email", {"email": email, "name": name.title()}, idempotency_key=key
            )
            crm = {"email": email, "fields": {"plan": "pro"}}
            if i % 4 == 1:
                crm |= {"fail_with": 400, "fail_first": 1}  # dead: the CRM refuses it once
            elif i % 4 == 2:
                crm |= {"fail_with": 503, "fail_first": 2}  # retried twice, then succeeds
            elif i % 4 == 3:
                crm |= {"fail_with": 429, "fail_first": 1}  # rate-limited, retried after 2 s
            submit("update-user-crm", crm, idempotency_key=key)
        self.stdout.write(f"submitted {len(SIGNUPS) * 4} demo runs; the worker will run them")
