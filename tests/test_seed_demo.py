"""``manage.py seed_demo``: the demo superuser and a batch of demo runs, for ``make run``."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count

from actions import operators
from actions.models import FINISHED, Run, RunStatus
from demo.models import Charge, DemoLogin
from tests.conftest import wait_for

pytestmark = pytest.mark.django_db

PRINTED = re.compile(r"demo superuser: admin / (\S+)")


def seed(capsys) -> str:
    call_command("seed_demo")
    return capsys.readouterr().out


def test_the_first_seed_creates_a_superuser_and_demo_runs(capsys):
    out = seed(capsys)
    password = PRINTED.search(out).group(1)
    user = get_user_model().objects.get(username="admin")
    assert user.is_superuser and user.is_staff and user.check_password(password)
    assert Run.objects.filter(action_id="user-registration").count() == 5
    assert Run.objects.filter(action_id="update-user-crm").count() == 3
    assert "submitted 5 user-registration workflows" in out
    assert "3 standalone CRM syncs" in out


def test_later_seeds_print_the_same_password_and_never_reset_it(capsys):
    first = PRINTED.search(seed(capsys)).group(1)
    hashed = get_user_model().objects.get(username="admin").password
    out = seed(capsys)
    assert PRINTED.search(out).group(1) == first
    # Unchanged, so the sessions of open tabs stay valid.
    assert get_user_model().objects.get(username="admin").password == hashed
    assert Run.objects.count() == 8  # runs are seeded once


def test_a_password_changed_by_hand_is_kept(capsys):
    seed(capsys)
    user = get_user_model().objects.get(username="admin")
    user.set_password("mine")
    user.save()
    out = seed(capsys)
    assert "password was changed since it was printed, and is kept" in out
    assert not PRINTED.search(out)
    assert get_user_model().objects.get(username="admin").check_password("mine")


def test_an_admin_from_before_passwords_were_kept_gets_one_once(capsys):
    get_user_model().objects.create_user("admin", password="forgotten")
    out = seed(capsys)
    password = PRINTED.search(out).group(1)
    assert "(password set; kept from now on)" in out
    user = get_user_model().objects.get(username="admin")
    assert user.check_password(password) and user.is_superuser
    assert DemoLogin.objects.get(username="admin").password == password
    assert "(password set" not in seed(capsys)


def by_email(action: str) -> dict[str, Run]:
    runs = Run.objects.filter(action_id=action, parent=None)
    return {run.inputs["email"].split("@")[0]: run for run in runs}


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_seeded_story_plays_out_on_a_worker_and_an_operator_repairs_the_dead_step(
    start_worker, capsys
):
    seed(capsys)
    start_worker()
    wait_for(
        lambda: not Run.objects.exclude(status__in=FINISHED).exists(),
        timeout=60,
        what="the seeded runs to settle",
    )
    signups = by_email("user-registration")
    assert {name: run.status for name, run in signups.items()} == {
        "ada": "succeeded",
        "grace": "succeeded",
        "linus": "dead",
        "margaret": "succeeded",
        "barbara": "succeeded",
    }
    welcome = Run.objects.get(parent=signups["grace"], action_id="send-welcome-email")
    assert list(welcome.attempt_set.values_list("error_code", flat=True)) == [
        "smtp_unavailable",
        "",
    ]
    assert signups["linus"].error["code"] == "step_dead"
    syncs = by_email("update-user-crm")
    assert {name: (run.status, run.attempts) for name, run in syncs.items()} == {
        "ken": ("succeeded", 3),
        "dennis": ("succeeded", 2),
        "radia": ("dead", 1),
    }

    operators.retry(signups["linus"], None, "the CRM accepts the contact now")
    wait_for(
        lambda: Run.objects.filter(pk=signups["linus"].pk, status=RunStatus.SUCCEEDED).exists(),
        timeout=30,
        what="linus's workflow to complete after the retry",
    )
    # The gateway charged each user once.
    per_customer = dict(Charge.objects.values_list("customer").annotate(n=Count("id")))
    assert per_customer == {f"{name}@example.com": 1 for name in signups}
