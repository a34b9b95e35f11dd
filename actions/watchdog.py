"""The worker watchdog: a django-q2 cluster that takes nothing while runs wait is wedged.

django-q2's workers take tasks from one multiprocessing queue; a worker that waits there
holds the queue's read lock. Killed while idle, it never releases it: the sentinel
starts a replacement, every worker then waits for the lock for ever, and the cluster
looks alive while it takes nothing. ``runworker`` asks ``wedged`` about twice a second
and restarts its cluster when it answers.

The measure: no worker of this cluster has begun a task for ``seconds``; runs have been
waiting for a worker for longer than that (handed to the queue ``seconds`` ago, action
not paused, no worker has said it lacks their handler); and not every worker is busy
with a run of its own (long handlers are not a wedge).
"""

import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from . import queue
from .models import Run, RunStatus
from .worker import worker_name

WAITING_CAP = 1000  # counted up to this many: a backlog is read from an index, not counted


@dataclass
class Watchdog:
    seconds: float
    workers: int
    next_check: float = field(default=0.0)

    def wedged(self) -> str | None:
        """Why this process's cluster looks wedged, or None (also between checks)."""
        if self.seconds <= 0:
            return None
        now = time.monotonic()
        idle = queue.seconds_since_last_task()
        if now < self.next_check or idle < self.seconds:
            return None
        self.next_check = now + max(1.0, self.seconds / 4)
        moment = timezone.now()
        waiting = (
            Run.objects.waiting(moment)
            .filter(enqueued_at__lt=moment - timedelta(seconds=self.seconds), waiting_reason="")[
                :WAITING_CAP
            ]
            .count()
        )
        if not waiting:
            return None
        ours = [worker_name(pid) for pid in queue.group_pids()]
        busy = Run.objects.filter(status=RunStatus.RUNNING, worker__in=ours).count()
        if busy >= self.workers:
            return None
        return (
            f"its workers took no task for {idle:.0f} s while {waiting} run(s) waited longer "
            f"than {self.seconds:g} s ({busy} of {self.workers} workers busy)"
        )
