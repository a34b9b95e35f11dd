"""Scenario 1: load while workers are killed with SIGKILL; nothing lost, nothing charged twice."""

import os
import random
import subprocess
import sys
import time
import uuid
from collections import Counter

import pytest
from django.db.models import Count, Q

from actions.models import Action, Attempt, Run, RunStatus
from demo.models import Charge
from tests.chaos.servers import kill_workers_at_random, redis_answers
from tests.conftest import ROOT, subprocess_database_url, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

UNFINISHED = [RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.RETRYING]


@pytest.mark.parametrize("broker", ["orm", "redis"])
def test_killed_workers_lose_no_run_and_charge_nobody_twice(
    broker, start_worker, chaos_size, chaos_seconds, capsys
):
    redis_url = (
        os.environ.get("CHAOS_REDIS_URL", "redis://127.0.0.1:6379/0") if broker == "redis" else ""
    )
    if redis_url and not redis_answers(redis_url):
        pytest.skip(f"no Redis at {redis_url} (set CHAOS_REDIS_URL)")
    env = {
        "REDIS_URL": redis_url,
        "DOPLATFORM_QUEUE_NAME": f"chaos-{uuid.uuid4().hex[:8]}",
        "DOPLATFORM_REENQUEUE_AFTER": "5",
    }
    # Short timeouts so a killed attempt's lease (timeout + 2 s grace) expires quickly.
    for name in ["charge-subscription", "update-user-crm", "create-user", "send-welcome-email"]:
        Action.objects.update_or_create(name=name, defaults={"timeout": 3, "max_attempts": 8})

    workers = [start_worker(**env), start_worker(**env)]
    producer = subprocess.Popen(
        [sys.executable, "-m", "tests.chaos.produce", str(chaos_size), "7", str(chaos_seconds)],
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
        rng=random.Random(1),
        keep_going=lambda: time.monotonic() < deadline or producer.poll() is None,
    )
    assert producer.wait(60) == 0

    try:
        wait_for(
            lambda: not Run.objects.filter(status__in=UNFINISHED).exists(),
            timeout=180,
            interval=0.5,
            what="every run to finish after the chaos",
        )
    except pytest.fail.Exception:
        stuck = Counter(Run.objects.filter(status__in=UNFINISHED).values_list("status", flat=True))
        pytest.fail(f"runs still unfinished 180 s after the chaos: {dict(stuck)}")

    runs = Run.objects.all()
    assert runs.count() == chaos_size  # nothing lost, nothing doubled
    assert not runs.filter(status__in=UNFINISHED).exists()

    # Every succeeded charge charged exactly once; no charge without its run.
    succeeded_charges = set(
        runs.filter(action_id="charge-subscription", status=RunStatus.SUCCEEDED).values_list(
            "pk", flat=True
        )
    )
    charged = {uuid.UUID(key) for key in Charge.objects.values_list("idempotency_key", flat=True)}
    assert succeeded_charges <= charged
    assert charged <= set(runs.filter(action_id="charge-subscription").values_list("pk", flat=True))

    # A handler never ran more often than its run had attempts (no duplicate execution).
    attempts = dict(runs.filter(action_id="charge-subscription").values_list("pk", "attempts"))
    duplicates = sum(
        1 for c in Charge.objects.all() if c.requests > attempts[uuid.UUID(c.idempotency_key)]
    )
    assert duplicates == 0

    # Every lost attempt is followed by another attempt, or its run is dead with its budget spent.
    lost = Attempt.objects.filter(outcome="lost").select_related("run")
    for attempt in lost:
        run = attempt.run
        assert run.attempts > attempt.number or (
            run.status == RunStatus.DEAD and run.budget_used >= 8
        ), f"lost attempt {attempt} was never followed up"

    summary = (
        f"chaos[{broker}]: runs submitted {chaos_size}, completed {runs.count()}, "
        f"workers killed {havoc.kills}, restarts survived {havoc.restarts}, lost attempts recovered "
        f"{lost.count()}, duplicate executions {duplicates}, lost runs "
        f"{chaos_size - runs.count()}"
    )
    with capsys.disabled():
        print("\n" + summary)
    stats = runs.aggregate(
        succeeded=Count("pk", filter=Q(status=RunStatus.SUCCEEDED)),
        dead=Count("pk", filter=Q(status=RunStatus.DEAD)),
    )
    assert stats["succeeded"] + stats["dead"] == chaos_size
