"""Scenario 1 for workflows: registrations while workers are killed with SIGKILL.

Every workflow finishes, each (workflow, step) has exactly one child run, and the fake
gateway holds exactly one charge per user, however often a crashed step asked it.
"""

import os
import random
import subprocess
import sys
import time
import uuid
from collections import Counter

import pytest
from django.db.models import Count

from actions.models import FINISHED, Action, Attempt, Run, RunStatus
from demo.models import Charge, CrmContact, Email
from tests.chaos.servers import kill_workers_at_random, redis_answers
from tests.conftest import ROOT, subprocess_database_url, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

STEPS = {
    ("1", "create-user"),
    ("2", "charge-subscription"),
    ("4", "send-welcome-email"),
    ("5", "update-user-crm"),
}


@pytest.mark.parametrize("broker", ["orm", "redis"])
def test_killed_workers_finish_every_workflow_with_one_run_per_step_and_one_charge_per_user(
    broker, start_worker, chaos_workflows, chaos_seconds, capsys
):
    redis_url = (
        os.environ.get("CHAOS_REDIS_URL", "redis://127.0.0.1:6379/0") if broker == "redis" else ""
    )
    if redis_url and not redis_answers(redis_url):
        pytest.skip(f"no Redis at {redis_url} (set CHAOS_REDIS_URL)")
    count = chaos_workflows
    env = {
        "REDIS_URL": redis_url,
        "DOPLATFORM_QUEUE_NAME": f"chaos-{uuid.uuid4().hex[:8]}",
        "DOPLATFORM_REENQUEUE_AFTER": "5",
    }
    # Short step timeouts so that a killed step's lease (timeout + 2 s grace) expires
    # quickly, and room for the attempts kills take. The workflow keeps its own policy.
    for name in ["create-user", "charge-subscription", "send-welcome-email", "update-user-crm"]:
        Action.objects.update_or_create(name=name, defaults={"timeout": 3, "max_attempts": 8})

    workers = [start_worker(**env), start_worker(**env)]
    producer = subprocess.Popen(
        [
            *(sys.executable, "-m", "tests.chaos.produce"),
            *(str(count), "11", str(chaos_seconds), "registrations"),
        ],
        cwd=ROOT,
        env={
            **os.environ,
            **env,
            "DATABASE_URL": subprocess_database_url(),
            "DJANGO_SETTINGS_MODULE": "tests.settings",
        },
    )
    deadline = time.monotonic() + chaos_seconds
    havoc = kill_workers_at_random(
        workers,
        lambda: start_worker(**env),
        rng=random.Random(3),
        keep_going=lambda: time.monotonic() < deadline or producer.poll() is None,
    )
    assert producer.wait(60) == 0

    unfinished = Run.objects.exclude(status__in=FINISHED)
    try:
        wait_for(
            lambda: not unfinished.exists(),
            timeout=180,
            interval=0.5,
            what="every workflow and step to finish after the chaos",
        )
    except pytest.fail.Exception:
        stuck = Counter(unfinished.values_list("action_id", "status"))
        pytest.fail(f"runs still unfinished 180 s after the chaos: {dict(stuck)}")

    workflows = Run.objects.filter(action_id="user-registration")
    assert workflows.count() == count
    statuses = Counter(workflows.values_list("status", flat=True))
    assert statuses == {RunStatus.SUCCEEDED: count}, [
        (str(run.pk), run.error) for run in workflows.exclude(status=RunStatus.SUCCEEDED)[:5]
    ]

    # Exactly one child run per (workflow, step), and the four steps of the story each.
    steps = Run.objects.filter(parent__isnull=False)
    assert steps.count() == 4 * count
    assert not steps.values("parent", "step_key").annotate(n=Count("pk")).filter(n__gt=1)
    story = Counter((key, action) for key, action in steps.values_list("step_key", "action_id"))
    assert story == dict.fromkeys(STEPS, count)
    assert set(steps.values_list("status", flat=True)) == {RunStatus.SUCCEEDED}

    # One charge per user at the gateway; a charge asked again after a crash is the same row.
    emails = {f"user{i}@example.com" for i in range(count)}
    per_customer = dict(Charge.objects.values_list("customer").annotate(n=Count("pk")))
    assert per_customer == dict.fromkeys(emails, 1)
    charge_steps = steps.filter(action_id="charge-subscription")
    attempts = {str(pk): n for pk, n in charge_steps.values_list("pk", "attempts")}
    charges = list(Charge.objects.all())
    assert {c.idempotency_key for c in charges} == set(attempts)
    asked_again = sum(1 for c in charges if c.requests > 1)
    # The gateway never heard from a charge step more often than it had attempts.
    duplicates = sum(1 for c in charges if c.requests > attempts[c.idempotency_key])
    assert duplicates == 0
    assert (
        Email.objects.count() == count and set(Email.objects.values_list("to", flat=True)) == emails
    )
    assert CrmContact.objects.count() == count

    lost = Attempt.objects.filter(outcome="lost")
    lost_workflows = lost.filter(run__action_id="user-registration").count()
    summary = (
        f"chaos[workflows-{broker}]: workflows submitted {count}, succeeded "
        f"{statuses[RunStatus.SUCCEEDED]}, step runs {steps.count()} (one per step), charges "
        f"{len(charges)} (one per user; {asked_again} asked again after a crash), workers "
        f"killed {havoc.kills}, restarts survived {havoc.restarts}, lost attempts recovered "
        f"{lost.count()} (workflow executions {lost_workflows}), duplicate executions "
        f"{duplicates}"
    )
    with capsys.disabled():
        print("\n" + summary)
