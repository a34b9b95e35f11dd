"""``manage.py createserviceaccount``: a passwordless user with a token and chosen permissions."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def create(*args: str) -> str:
    out = StringIO()
    call_command("createserviceaccount", *args, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


def test_it_prints_a_token_that_works_with_the_permissions_given():
    token = create("billing", "--perm", "submit_run", "--perm", "actions.view_run")
    client = APIClient(headers={"Authorization": f"Token {token}"})
    submitted = client.post("/api/actions/test-noop/runs/", {"inputs": {}}, format="json")
    assert submitted.status_code == 202
    assert client.get("/api/runs/").status_code == 200
    assert client.post("/api/actions/test-noop/pause/").status_code == 403
    user = get_user_model().objects.get(username="billing")
    assert not user.has_usable_password()
    assert not user.is_staff


def test_a_role_grants_its_preset():
    token = create("ops-bot", "--role", "operator")
    client = APIClient(headers={"Authorization": f"Token {token}"})
    assert client.post("/api/actions/test-noop/pause/").status_code == 200


def test_an_existing_account_needs_rotate_and_the_old_token_stops_working():
    old = create("crm", "--perm", "view_run")
    with pytest.raises(CommandError, match="--rotate"):
        create("crm", "--perm", "view_run")
    new = create("crm", "--rotate")
    assert new != old
    assert APIClient(headers={"Authorization": f"Token {old}"}).get("/api/runs/").status_code == 401
    assert APIClient(headers={"Authorization": f"Token {new}"}).get("/api/runs/").status_code == 200


def test_an_unknown_permission_is_refused_and_creates_nothing():
    with pytest.raises(CommandError, match="no permission"):
        create("typo", "--perm", "submit_runs")
    assert not get_user_model().objects.filter(username="typo").exists()
