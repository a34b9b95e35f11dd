import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from actions.models import Run
from actions.submission import submit
from demo.models import DemoLogin

# (name, what goes wrong in the outside world during their signup)
SIGNUPS = [
    ("ada", {}),
    ("grace", {"email_fail_first": 1}),  # the mail server is busy once: retried alone
    ("linus", {"crm_fail_with": 400, "crm_fail_first": 1}),  # dead until an operator retries
    ("margaret", {}),
    ("barbara", {}),
]
# Customers imported before signups were workflows: a CRM sync each, as standalone runs.
CRM_SYNCS = [
    ("ken", {"fail_with": 503, "fail_first": 2}),  # retried twice, then succeeds
    ("dennis", {"fail_with": 429, "fail_first": 1}),  # rate-limited, retried after 2 s
    ("radia", {"fail_with": 400, "fail_first": 1}),  # dead: the CRM refuses it once
]


class Command(BaseCommand):
    help = (
        "Create the demo superuser with a password made once and kept (printed every time, "
        "never reset, so open tabs stay logged in) and, once, the demo's workflows and runs."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, **options):
        self.seed_superuser(options["username"])
        if Run.objects.exists():
            return
        for i, (name, trouble) in enumerate(SIGNUPS):
            inputs = {"email": f"{name}@example.com", "name": name.title(), **trouble}
            submit("user-registration", inputs, idempotency_key=f"signup-{i + 1}")
        for name, trouble in CRM_SYNCS:
            inputs = {"email": f"{name}@example.com", "fields": {"plan": "pro"}, **trouble}
            submit("update-user-crm", inputs, idempotency_key=f"crm-sync-{name}")
        self.stdout.write(
            f"submitted {len(SIGNUPS)} user-registration workflows (grace's welcome email "
            "fails once and is retried alone; linus's CRM step is refused with 400: the "
            "workflow is dead until an operator retries it) and "
            f"{len(CRM_SYNCS)} standalone CRM syncs; the worker runs them. The fake payment "
            "gateway's charges, one per user: /admin/demo/charge/"
        )

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
