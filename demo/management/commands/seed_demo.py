import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from actions.models import Run
from actions.submission import submit
from demo.models import DemoLogin

SIGNUPS = ["ada", "grace", "linus", "margaret", "barbara", "ken", "dennis", "radia"]


class Command(BaseCommand):
    help = (
        "Create the demo superuser with a password made once and kept (printed every time, "
        "never reset, so open tabs stay logged in) and, once, a batch of demo runs."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, **options):
        self.seed_superuser(options["username"])
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

    def seed_superuser(self, username: str) -> None:
        login, made = DemoLogin.objects.get_or_create(
            username=username, defaults={"password": secrets.token_urlsafe(12)}
        )
        user = get_user_model().objects.filter(username=username).first()
        note = ""
        if user is None:
            user = get_user_model().objects.create_superuser(
                username, "admin@example.com", login.password
            )
        elif not user.check_password(login.password):
            if not made:
                self.stdout.write(
                    f"demo superuser: {username} (its password was changed since it was "
                    f"printed, and is kept; manage.py changepassword {username} sets another)"
                )
                return
            # An account from before passwords were kept: set it once, keep it from now on.
            user.set_password(login.password)
            user.save(update_fields=["password"])
            note = " (password set; kept from now on)"
        if not (user.is_staff and user.is_superuser):
            user.is_staff = user.is_superuser = True
            user.save(update_fields=["is_staff", "is_superuser"])
        self.stdout.write(
            self.style.SUCCESS(f"demo superuser: {username} / {login.password}") + note
        )
