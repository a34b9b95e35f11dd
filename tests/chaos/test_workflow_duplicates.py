"""Scenario 3 for workflows: one signup triggered 32 times at once, over HTTP and from Python."""

import json
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from rest_framework.authtoken.models import Token

from actions import submit
from actions.models import IdempotencyRecord, Run, RunStatus
from demo.models import Charge, Email
from tests.conftest import wait_for
from tests.factories import make_user

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

TRIGGERS = 32
KEY = "signup-ada"
INPUTS = {"email": "ada@example.com", "name": "Ada", "cool_off_seconds": 0.5}


@pytest.fixture
def wide_live_server(live_server):
    """The live server with a listen backlog that holds every client connecting at once
    (Django's test server listens with 10: the kernel would reset the rest)."""
    live_server.thread.httpd.socket.listen(TRIGGERS * 2)
    return live_server


def over_http(url: str, token: str) -> tuple[str, bool]:
    request = urllib.request.Request(
        url,
        data=json.dumps({"inputs": INPUTS}).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Token {token}",
            "Idempotency-Key": KEY,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            body, status = json.loads(response.read()), response.status
    except urllib.error.HTTPError as error:
        pytest.fail(f"HTTP {error.code}: {error.read()!r}")
    assert status in (200, 202), body
    return body["id"], status == 200


def from_python() -> tuple[str, bool]:
    try:
        run = submit("user-registration", INPUTS, idempotency_key=KEY)
        return str(run.pk), run.replayed
    finally:
        connection.close()  # this thread's own connection


def test_one_signup_triggered_32_times_at_once_is_one_workflow_with_one_run_per_step(
    wide_live_server, start_worker, capsys
):
    user = make_user("svc-signups", "actions.submit_run", staff=False)
    token = Token.objects.create(user=user).key
    url = f"{wide_live_server.url}/api/actions/user-registration/runs/"
    barrier = threading.Barrier(TRIGGERS)

    def trigger(i: int) -> tuple[str, bool]:
        barrier.wait()  # all at once
        return over_http(url, token) if i % 2 else from_python()

    with ThreadPoolExecutor(TRIGGERS) as pool:
        answers = list(pool.map(trigger, range(TRIGGERS)))

    assert len({run_id for run_id, _ in answers}) == 1
    assert sorted(replayed for _, replayed in answers) == [False] + [True] * (TRIGGERS - 1)
    workflows = Run.objects.filter(action_id="user-registration")
    assert workflows.count() == 1
    assert IdempotencyRecord.objects.filter(action_id="user-registration", key=KEY).count() == 1

    start_worker()
    run = wait_for(
        lambda: workflows.filter(status=RunStatus.SUCCEEDED).first(),
        timeout=60,
        what="the workflow to succeed",
    )
    steps = list(Run.objects.steps_of(run.pk).values_list("step_key", "action_id", "attempts"))
    assert steps == [
        ("1", "create-user", 1),
        ("2", "charge-subscription", 1),
        ("4", "send-welcome-email", 1),
        ("5", "update-user-crm", 1),
    ]
    assert Run.objects.count() == 1 + len(steps)
    charge = Charge.objects.get()
    assert (charge.customer, charge.requests) == ("ada@example.com", 1)
    assert Email.objects.count() == 1
    # A 33rd trigger, after the fact, is the same finished workflow.
    again = submit("user-registration", INPUTS, idempotency_key=KEY)
    assert again.replayed and again.pk == run.pk and again.status == RunStatus.SUCCEEDED
    extra_attempts = sum(attempts for _, _, attempts in steps) - len(steps)
    with capsys.disabled():
        print(
            f"\nchaos[workflow-duplicates]: {TRIGGERS} concurrent triggers of one key "
            f"({TRIGGERS // 2} HTTP, {TRIGGERS // 2} Python), workflow runs {workflows.count()}, "
            f"step runs {len(steps)} (one per step), charges {Charge.objects.count()}, "
            f"duplicate executions {extra_attempts}"
        )
