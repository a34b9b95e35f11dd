"""Scenario 8: idle django-q2 workers are killed, round after round; runs keep flowing.

An idle worker waits on its cluster's task queue holding the queue's lock: killed there,
it wedges the cluster (the replacement waits for that lock for ever). Two runworkers
share the queue; after each round of runs every worker that ran one is killed while it
waits for the next, and the next round must still finish, through the watchdog
(``DOPLATFORM_WATCHDOG_SECONDS``). ``CHAOS_IDLE_ROUNDS`` rounds (3 in ``make test``).
"""

import contextlib
import os
import signal

import pytest
from django.db.models import Count

from actions import submit
from actions.models import Attempt, Run, RunStatus
from tests.conftest import wait_for
from tests.test_runworker import process_group
from tests.testapp.models import Execution

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROUNDS = int(os.environ.get("CHAOS_IDLE_ROUNDS", "3"))
RUNS_PER_ROUND = 20


def test_killing_idle_workers_never_stops_the_flow_of_runs(start_worker, capsys):
    env = {"DOPLATFORM_WATCHDOG_SECONDS": "3"}
    workers = [start_worker("--workers", "2", **env) for _ in range(2)]
    for worker in workers:
        wait_for(lambda worker=worker: "started" in worker.log(), what="runworker to start")
    killed, submitted = 0, []
    for round_ in range(ROUNDS + 1):
        runs = [submit("test-counted", {"round": round_, "n": i}) for i in range(RUNS_PER_ROUND)]
        submitted += runs
        try:
            wait_for(
                lambda runs=runs: (
                    Run.objects.filter(
                        pk__in=[r.pk for r in runs], status=RunStatus.SUCCEEDED
                    ).count()
                    == len(runs)
                ),
                timeout=90,
                interval=0.2,
                what=f"round {round_}'s runs",
            )
        except pytest.fail.Exception:
            logs = "\n".join(worker.log()[-3000:] for worker in workers)
            pytest.fail(f"round {round_}'s runs stopped flowing:\n{logs}")
        if round_ == ROUNDS:
            break
        # Every django-q2 worker that ran one of them, now idle, waiting for the next task.
        ran = {
            int(name.rsplit(":", 1)[1])
            for name in Attempt.objects.filter(run__in=runs).values_list("worker", flat=True)
        }
        members = {pid for worker in workers for pid in process_group(worker.pid)}
        for pid in sorted(ran & members):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                killed += 1

    assert all(worker.proc.poll() is None for worker in workers)  # no runworker gave up
    restarts = sum(worker.log().count("restarting its django-q2 cluster") for worker in workers)
    assert restarts >= 1  # the kills did wedge clusters, and the watchdog saw it
    executions = Execution.objects.values("run_id").annotate(n=Count("id"))
    assert executions.count() == len(submitted)
    assert not executions.filter(n__gt=1).exists()  # idle kills never run anything twice
    with capsys.disabled():
        print(
            f"\nchaos[idle-kills]: {ROUNDS} rounds, idle workers killed {killed}, watchdog "
            f"restarts {restarts}, runs submitted {len(submitted)}, completed "
            f"{len(submitted)}, duplicate executions 0"
        )
