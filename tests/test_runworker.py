"""End to end, with real ``runworker`` subprocesses: django-q2 cluster plus dispatcher."""

import contextlib
import os
import signal
import subprocess
from itertools import pairwise
from pathlib import Path

import pytest
from django.db.models import Count

from actions import submit
from actions.models import Action, Attempt, Run, RunStatus, WorkerHeartbeat
from demo.models import Charge
from tests.conftest import wait_for
from tests.testapp.models import Execution

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def ended(run_id):
    def check():
        run = Run.objects.get(pk=run_id)
        return run if run.is_finished else None

    return check


def test_a_retryable_failure_is_retried_with_growing_backoff_until_it_succeeds(start_worker):
    start_worker()
    run = submit("test-flaky", {"fail_times": 2})
    run = wait_for(ended(run.pk), timeout=30, what="the run to end")
    assert run.status == RunStatus.SUCCEEDED
    attempts = list(run.attempt_set.order_by("number"))
    assert [a.outcome for a in attempts] == ["failed", "failed", "succeeded"]
    gaps = [(b.started_at - a.finished_at).total_seconds() for a, b in pairwise(attempts)]
    assert gaps[0] >= 1 and gaps[1] >= 2  # backoff_base 1 s, doubling, jitter off
    assert gaps[1] > gaps[0]
    assert Execution.objects.filter(run_id=run.pk).count() == 3


@pytest.mark.postgres
def test_a_non_retryable_failure_is_dead_after_one_attempt(start_worker):
    start_worker()
    run = wait_for(ended(submit("test-final", {}).pk), what="the run to end")
    assert (run.status, run.attempts) == (RunStatus.DEAD, 1)


@pytest.mark.postgres
def test_exhausting_max_attempts_is_dead(start_worker):
    start_worker()
    run = wait_for(ended(submit("test-broken", {}).pk), what="the run to end")
    assert run.status == RunStatus.DEAD
    assert list(run.attempt_set.values_list("outcome", flat=True)) == ["failed", "failed"]


@pytest.mark.postgres
def test_an_overrun_is_a_timed_out_attempt(start_worker):
    start_worker()
    run = wait_for(
        ended(submit("test-sleep", {"seconds": 60}).pk), timeout=40, what="the run to end"
    )
    assert run.status == RunStatus.DEAD  # max_attempts=2, both timed out
    assert list(run.attempt_set.values_list("outcome", flat=True)) == ["timed_out", "timed_out"]


@pytest.mark.postgres
def test_a_killed_worker_loses_the_attempt_but_never_charges_twice(start_worker):
    # A short timeout so the lease (timeout + 2 s grace) expires quickly after the crash.
    Action.objects.update_or_create(name="charge-subscription", defaults={"timeout": 4})
    worker = start_worker()
    run = submit(
        "charge-subscription",
        {"email": "ada@example.com", "amount_cents": 1900, "work_seconds": 2},
        idempotency_key="signup-1",
    )
    wait_for(lambda: Charge.objects.filter(idempotency_key=str(run.pk)).exists(), what="the charge")
    worker.kill()  # kill -9 of the whole process group, mid-attempt
    assert Run.objects.get(pk=run.pk).status == RunStatus.RUNNING

    start_worker()
    run = wait_for(ended(run.pk), timeout=40, what="the run to end after the restart")

    assert run.status == RunStatus.SUCCEEDED
    assert list(run.attempt_set.values_list("outcome", flat=True)) == ["lost", "succeeded"]
    charge = Charge.objects.get()
    assert (charge.idempotency_key, charge.requests) == (str(run.pk), 2)


@pytest.mark.postgres
def test_a_thousand_runs_all_finish_and_none_executes_twice(start_worker):
    start_worker()
    ids = {submit("test-counted", {"n": i}).pk for i in range(1000)}
    wait_for(
        lambda: Run.objects.filter(status=RunStatus.SUCCEEDED).count() == 1000,
        timeout=120,
        interval=0.5,
        what="1,000 runs to succeed",
    )
    assert set(Execution.objects.values_list("run_id", flat=True)) == ids
    assert not Execution.objects.values("run_id").annotate(n=Count("id")).filter(n__gt=1).exists()


@pytest.mark.postgres
def test_sigterm_lets_a_busy_worker_finish_and_leaves_no_lease_behind(start_worker):
    worker = start_worker()
    ids = [submit("test-sleep", {"seconds": 0.3}).pk for _ in range(30)]
    wait_for(lambda: Run.objects.filter(status=RunStatus.RUNNING).exists(), what="a running run")

    assert worker.terminate(timeout=60) == 0

    assert not Run.objects.filter(status=RunStatus.RUNNING).exists()
    assert not Run.objects.filter(lease_expires_at__isnull=False).exists()
    assert not WorkerHeartbeat.objects.exists()
    statuses = set(Run.objects.values_list("status", flat=True))
    assert statuses <= {RunStatus.SUCCEEDED, RunStatus.QUEUED}

    start_worker()
    wait_for(
        lambda: Run.objects.filter(pk__in=ids, status=RunStatus.SUCCEEDED).count() == 30,
        timeout=60,
        what="every run to succeed after a restart",
    )
    assert Execution.objects.count() == 30
    assert not Run.objects.filter(attempts__gt=1).exists()


@pytest.mark.postgres
def test_a_worker_reports_its_heartbeat(start_worker):
    start_worker()
    beat = wait_for(WorkerHeartbeat.objects.first, what="a heartbeat")
    assert beat.name


@pytest.mark.postgres
def test_a_worker_whose_cluster_dies_exits_and_takes_the_orphans_with_it(start_worker):
    worker = start_worker()
    wait_for(WorkerHeartbeat.objects.first, what="the worker to start")
    children = subprocess.run(["pgrep", "-P", str(worker.pid)], capture_output=True, text=True)
    [sentinel] = [int(pid) for pid in children.stdout.split()]
    os.kill(sentinel, signal.SIGKILL)

    assert worker.proc.wait(30) != 0
    wait_for(lambda: not living_members(worker.pid), timeout=10, what="the orphans to stop")


def living_members(pgid: int) -> list[str]:
    """Processes of the group that are neither gone nor zombies waiting to be reaped."""
    out = subprocess.run(["ps", "-e", "-o", "pgid=,stat="], capture_output=True, text=True).stdout
    return [
        line
        for line in out.splitlines()
        if line.split()[0] == str(pgid) and "Z" not in line.split()[1]
    ]


def process_group(pgid: int) -> list[int]:
    """The pids in a process group (Linux: from /proc)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:
                pids.append(int(stat.parent.name))
    return pids


def test_workers_on_the_command_line_size_the_cluster(start_worker):
    worker = start_worker("--workers", "3")
    wait_for(lambda: "started" in worker.log(), what="runworker to start")
    assert "(orm broker, 3 workers)" in worker.log()
    # runworker, django-q2's sentinel, pusher and monitor, and the three workers.
    wait_for(lambda: len(process_group(worker.pid)) == 3 + 4, what="seven processes")
    assert worker.terminate() == 0


def children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return sorted(int(child) for child in found.split())


def idle_workers(runworker_pid: int, runs) -> list[int]:
    """django-q2 worker processes of this runworker that ran one of ``runs`` and live on."""
    ran = {
        int(w.rsplit(":", 1)[1])
        for w in Attempt.objects.filter(run__in=runs).values_list("worker", flat=True)
    }
    return sorted(ran & set(process_group(runworker_pid)))


@pytest.mark.postgres
def test_a_killed_idle_worker_wedges_its_cluster_and_the_watchdog_restarts_it(start_worker):
    worker = start_worker("--workers", "1", DOPLATFORM_WATCHDOG_SECONDS="2")
    first = submit("test-noop", {})
    wait_for(lambda: Run.objects.get(pk=first.pk).status == RunStatus.SUCCEEDED, what="a first run")
    [idle] = idle_workers(worker.pid, [first])
    os.kill(idle, signal.SIGKILL)  # it waited for a task, holding the task queue's lock

    stuck = submit("test-noop", {})
    try:
        done = wait_for(
            lambda: Run.objects.filter(pk=stuck.pk, status=RunStatus.SUCCEEDED).first(),
            timeout=30,
            what="the run after the kill",
        )
    except pytest.fail.Exception:
        pytest.fail(f"the run never ran; the worker's log:\n{worker.log()}")
    log = worker.log()
    assert "restarting its django-q2 cluster: its workers took no task for" in log
    assert "django-q2 cluster restarted" in log
    # Not the replacement django-q2 started (it waits for the dead worker's lock), but a
    # worker of the new cluster ran it.
    assert done.worker != f"{first.worker.rsplit(':', 1)[0]}:{idle}"
    assert worker.proc.poll() is None


@pytest.mark.postgres
def test_busy_workers_are_not_a_wedge(start_worker):
    Action.objects.update_or_create(name="test-sleep", defaults={"timeout": 10})
    worker = start_worker("--workers", "1", DOPLATFORM_WATCHDOG_SECONDS="1")
    busy = submit("test-sleep", {"seconds": 4})
    waiting = submit("test-noop", {})
    done = wait_for(
        lambda: Run.objects.filter(pk=waiting.pk, status=RunStatus.SUCCEEDED).first(),
        timeout=30,
        what="the waiting run",
    )
    assert Run.objects.get(pk=busy.pk).status == RunStatus.SUCCEEDED
    assert done.started_at >= Run.objects.get(pk=busy.pk).finished_at  # it waited its turn
    assert "restarting its django-q2 cluster" not in worker.log()
