"""The dispatcher: what ``runworker`` does beside django-q2, about twice a second.

(a) enqueue retrying runs that are due; (b) turn runs whose lease expired into a
``lost`` attempt, then retry or dead-letter them; (c) re-enqueue queued runs whose
enqueue looks lost; (d) wake waiting workflows whose timer is due, or whose wake-up
is overdue (none of their steps is pending any more). Any number of dispatchers may run against one database: rows
are picked with ``FOR UPDATE SKIP LOCKED`` where the database has it, and every
change is a compare-and-set, so a duplicate pick does no harm.
"""

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from . import queue, runs
from .conf import app_settings
from .models import Run, WorkerHeartbeat

log = logging.getLogger(__name__)

BATCH = 200
STALL_CHECK_SECONDS = 30
_next_stall_check = 0.0


@dataclass
class DispatchReport:
    enqueued_retries: int = 0
    expired_leases: int = 0
    reenqueued: int = 0
    woken: int = 0

    @property
    def total(self) -> int:
        return self.enqueued_retries + self.expired_leases + self.reenqueued + self.woken


def dispatch_once() -> DispatchReport:
    report = DispatchReport()
    report.expired_leases = expire_leases()
    report.enqueued_retries = enqueue_due_retries()
    report.reenqueued = reenqueue_stale()
    report.woken = wake_workflows()
    return report


def enqueue_due_retries() -> int:
    now = timezone.now()
    return _enqueue(Run.objects.due_retries(now), now)


def reenqueue_stale() -> int:
    now = timezone.now()
    stale_before = now - timedelta(seconds=app_settings.REENQUEUE_AFTER)
    if not Run.objects.stale_enqueues(stale_before, now).exists():
        return 0
    # A backlog is not a loss: a run enqueued after the oldest task still waiting in the
    # queue may simply not have been reached yet.
    oldest_waiting = queue.oldest_waiting_enqueue()
    if oldest_waiting is not None:
        stale_before = min(stale_before, oldest_waiting)
    count = _enqueue(Run.objects.stale_enqueues(stale_before, now), now)
    if count:
        log.info("re-enqueued %s runs whose enqueue looked lost", count)
    return count


def wake_workflows() -> int:
    """Waiting workflows whose timer is due; now and then also those that wait for no
    pending step any more (a safety net: a finishing step wakes its workflow itself)."""
    global _next_stall_check
    now = timezone.now()
    candidates = [Run.objects.due_timers(now)]
    if time.monotonic() >= _next_stall_check:
        candidates.append(Run.objects.stalled_waits(now))
        _next_stall_check = time.monotonic() + STALL_CHECK_SECONDS
    count = 0
    for queryset in candidates:
        with transaction.atomic():
            count += sum(runs.wake(run.pk, now=now) for run in _pick(queryset.only("pk")))
    return count


def reenqueue_waiting(before) -> int:
    """Hand to the queue again the oldest waiting runs (one batch) it was handed before
    ``before``, backlog or not: the watchdog restarted a wedged cluster, and the tasks
    that cluster had taken (the oldest; at most its queue limit plus one per worker) are
    gone with it. Any others are the stale re-enqueue's, in time; a task delivered twice
    is harmless."""
    now = timezone.now()
    return _enqueue(Run.objects.stale_enqueues(before, now), now, "enqueued_at")


def expire_leases() -> int:
    now = timezone.now()
    count = 0
    for run in _pick(Run.objects.expired_leases(now).select_related("action")):
        if runs.expire_lease(run, policy=run.action.policy, now=now):
            count += 1
            log.warning("run %s: attempt %s lost (worker %s)", run.pk, run.attempts, run.worker)
    return count


def _enqueue(candidates, now, *ordering: str) -> int:
    with transaction.atomic():
        picked = _pick(candidates.select_related("action"), *ordering)
        return sum(runs.enqueue(run, now=now) for run in picked)


def _pick(queryset, *ordering: str) -> list[Run]:
    """Up to BATCH rows (in ``ordering``, else any), skipping rows another dispatcher has
    locked (PostgreSQL)."""
    queryset = queryset.order_by(*ordering)[:BATCH]
    if (
        connection.features.has_select_for_update_skip_locked
        and transaction.get_autocommit() is False
    ):
        queryset = queryset.select_for_update(skip_locked=True, of=("self",))
    return list(queryset)


def beat(name: str, started_at) -> None:
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        name=name, defaults={"last_seen": now, "started_at": started_at}
    )


def forget_worker(name: str) -> None:
    WorkerHeartbeat.objects.filter(name=name).delete()
