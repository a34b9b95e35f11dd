"""``manage.py seed_demo``: the demo superuser and a batch of demo runs, for ``make run``."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from actions.models import Run
from demo.models import DemoLogin

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
    assert Run.objects.count() == 32
    assert "submitted 32 demo runs" in out


def test_later_seeds_print_the_same_password_and_never_reset_it(capsys):
    first = PRINTED.search(seed(capsys)).group(1)
    hashed = get_user_model().objects.get(username="admin").password
    out = seed(capsys)
    assert PRINTED.search(out).group(1) == first
    # Unchanged, so the sessions of open tabs stay valid.
    assert get_user_model().objects.get(username="admin").password == hashed
    assert Run.objects.count() == 32  # runs are seeded once


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
