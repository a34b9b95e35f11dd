"""``manage.py runs``: list runs and show one, as a table or as the API's JSON."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from actions import retry
from tests.conftest import OPERATOR_PERMS
from tests.factories import make_dead_run, make_run, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_runs():
    now = timezone.now()
    return [
        make_run("test-noop", created_at=now - timedelta(minutes=3), idempotency_key="signup-1"),
        make_dead_run("test-final", created_at=now - timedelta(minutes=2)),
        make_run("test-noop", status="succeeded", created_at=now - timedelta(minutes=1)),
    ]


def test_the_list_is_a_table_newest_first(manage, three_runs):
    done = manage("runs")
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["ID", "ACTION", "STATUS", "ATTEMPTS", "CREATED", "FINISHED", "KEY"]
    assert [line.split()[0] for line in lines[1:]] == [str(r.pk) for r in reversed(three_runs)]
    assert lines[3].split()[-1] == "signup-1"


def test_the_list_filters_by_status_action_and_key_and_is_limited(manage, three_runs):
    def ids(*args):
        return [body["id"] for body in json.loads(manage("runs", "list", "--json", *args).stdout)]

    oldest, dead, newest = (str(r.pk) for r in three_runs)
    assert ids("--status", "dead") == [dead]
    assert ids("--status", "dead", "--status", "queued") == [dead, oldest]
    assert ids("--action", "test-noop") == [newest, oldest]
    assert ids("--key", "signup-1") == [oldest]
    assert ids("--limit", "1") == [newest]


def test_an_empty_list_says_so(manage):
    done = manage("runs", "--status", "dead")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "no runs match\n")


def test_show_prints_the_run_as_the_api_shows_it_to_an_operator(manage, client):
    run = make_dead_run(error={"code": "bad_request", "message": "refused", "retryable": False})
    retry(run, None, note="the CRM is back")
    client.force_login(make_user("olivia", *OPERATOR_PERMS))
    done = manage("runs", "show", str(run.pk), "--json")
    assert json.loads(done.stdout) == client.get(f"/api/runs/{run.pk}/").json()


def test_show_reads_like_a_sheet_with_attempts_and_events(manage):
    run = make_dead_run(error={"code": "bad_request", "message": "refused", "retryable": False})
    retry(run, None, note="the CRM is back")
    lines = manage("runs", "show", str(run.pk)).stdout.splitlines()
    assert lines[0] == f"run          {run.pk}"
    assert "status       queued" in lines
    assert "error        bad_request: refused (not retryable)" in lines
    assert any(line.startswith("  #1 failed") for line in lines)
    assert any(line.startswith("event: ") and "retried by -" in line for line in lines)
    assert "  the CRM is back" in lines


@pytest.mark.parametrize("run_id", ["4682f9c6-63be-422b-9a0a-4ff25387dbc6", "nope"])
def test_show_of_an_unknown_run_is_not_found(manage, run_id):
    done = manage("runs", "show", run_id)
    assert done.returncode == 1
    assert f"not_found: no run '{run_id}'" in done.stderr


def test_show_needs_an_id_and_list_takes_none(manage):
    assert "runs show needs a RUN_ID" in manage("runs", "show").stderr
    assert "did you mean 'runs show x'" in manage("runs", "list", "x").stderr
