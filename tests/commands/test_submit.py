"""``manage.py submit``: one run from the shell, optionally waiting for its end."""

import json

import pytest

from actions import submit
from actions.management.commands.submit import Command
from actions.models import Run
from actions.worker import execute_run

pytestmark = pytest.mark.django_db


def test_it_submits_and_prints_the_run(manage):
    done = manage("submit", "test-noop", "--inputs", '{"a": 1}', "--key", "k-1")
    assert done.returncode == 0
    body = json.loads(done.stdout)
    assert body == {"id": body["id"], "action": "test-noop", "status": "queued", "replayed": False}
    assert Run.objects.get(pk=body["id"]).inputs == {"a": 1}


def test_the_help_lists_every_registered_action():
    help_text = Command().create_parser("manage.py", "submit").format_help()
    assert "actions:\n" in help_text
    assert "\n  test-noop\n" in help_text
    assert "\n  charge-subscription  Charge the first month" in help_text


def test_a_refused_submission_says_its_code(manage):
    done = manage("submit", "no-such-action")
    assert done.returncode == 1
    assert "unknown_action" in done.stderr
    done = manage("submit", "test-noop", "--inputs", "{nope")
    assert "invalid_json" in done.stderr
    assert not Run.objects.exists()


def test_wait_prints_a_finished_run_with_its_attempts(manage):
    run = submit("test-noop", {}, idempotency_key="k-1")
    execute_run(str(run.pk))
    done = manage("submit", "test-noop", "--key", "k-1", "--wait")
    assert done.returncode == 0
    body = json.loads(done.stdout)
    assert (body["id"], body["status"]) == (str(run.pk), "succeeded")
    assert [a["outcome"] for a in body["attempts"]] == ["succeeded"]


def test_wait_exits_1_when_the_run_ended_dead(manage):
    run = submit("test-final", {"message": "refused for good"}, idempotency_key="k-1")
    execute_run(str(run.pk))
    done = manage("submit", "test-final", "--inputs", '{"message": "refused for good"}')
    assert done.returncode == 0  # without --wait, a new run is queued
    done = manage(
        "submit",
        "test-final",
        "--inputs",
        '{"message": "refused for good"}',
        "--key",
        "k-1",
        "--wait",
    )
    assert done.returncode == 1
    assert json.loads(done.stdout)["status"] == "dead"
    assert f"run {run.pk} ended dead: bad_request: refused for good" in done.stderr


def test_wait_gives_up_after_the_timeout_with_exit_2(manage):
    done = manage("submit", "test-noop", "--wait", "--timeout", "0.3")
    assert done.returncode == 2
    assert json.loads(done.stdout)["status"] == "queued"
    assert "is a worker running?" in done.stderr


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_wait_follows_the_run_through_its_retries_to_the_end(manage, start_worker):
    start_worker()
    done = manage("submit", "test-flaky", "--inputs", '{"fail_times": 1}', "--wait")
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["status"] == "succeeded"
    assert [a["outcome"] for a in body["attempts"]] == ["failed", "succeeded"]
