"""How a run moves through the workers: enqueue, claim, finish an attempt, expire a lease;
for a workflow also suspend (wait for a step or a timer), wake and record its values.

Every transition is a compare-and-set ``UPDATE … WHERE status = <expected> AND
attempts = <n>`` that must change exactly one row. SQLite ignores ``SELECT … FOR
UPDATE``, so the compare-and-set alone carries correctness.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from . import idempotency, queue
from .models import (
    CLOSED,
    FINISHED,
    Action,
    ActionKind,
    Attempt,
    AttemptOutcome,
    Run,
    RunStatus,
)
from .policy import RetryPolicy
from .signals import run_dead_lettered, run_finished

log = logging.getLogger(__name__)

TRACEBACK_LIMIT = 16_000


@dataclass(frozen=True, slots=True)
class Failure:
    code: str
    message: str
    retryable: bool
    retry_after: float | None = None
    traceback: str = ""
    outcome: str = AttemptOutcome.FAILED
    details: Any = None  # e.g. which step of a workflow died

    def as_error(self) -> dict:
        error = {"code": self.code, "message": self.message, "retryable": self.retryable}
        if self.details is not None:
            error["details"] = self.details
        return error


def enqueue(run: Run, *, now: datetime) -> bool:
    """Hand ``run`` to the workers at ``now``, unless its action is paused; True if handed over.

    The one place that records an enqueue (``enqueued_at``) and calls the queue. Call it in
    the transaction that writes the run: with the ORM broker the task commits with the run
    or not at all. A run not stored yet takes ``enqueued_at`` into the caller's INSERT (so
    submitting costs no statement more); a stored run is marked by a compare-and-set on its
    status and the ``enqueued_at`` it was read with, so two dispatchers never both hand it over.
    """
    action = run.action
    if action.paused:  # its runs wait; resuming enqueues them
        if run._state.adding:
            run.enqueued_at = None
        return False
    if not run._state.adding:
        marked = Run.objects.filter(
            pk=run.pk, status=run.status, enqueued_at=run.enqueued_at
        ).update(enqueued_at=now)
        if not marked:
            return False
    run.enqueued_at = now
    queue.enqueue(run.pk, backstop=action.policy.backstop_seconds)
    return True


def claim_run(run: Run, *, lease_seconds: int, worker: str) -> int | None:
    """Take ``run`` for one attempt; the attempt number, or None if someone else has it.

    Takes only a queued run, or a retrying one that is due, of an action that is
    not paused; the lease says when the dispatcher may presume the worker dead.
    """
    now = timezone.now()
    if run.status == RunStatus.RETRYING and (run.next_attempt_at or now) > now:
        return None
    if run.status not in (RunStatus.QUEUED, RunStatus.RETRYING):
        return None
    not_paused = Exists(Action.objects.filter(pk=OuterRef("action_id"), paused=False))
    claimed = Run.objects.filter(
        not_paused, pk=run.pk, status=run.status, attempts=run.attempts
    ).update(
        status=RunStatus.RUNNING,
        attempts=F("attempts") + 1,
        started_at=now,
        lease_expires_at=now + timedelta(seconds=lease_seconds),
        worker=worker,
        waiting_reason="",
        next_attempt_at=None,
    )
    if not claimed:
        return None
    run.status = RunStatus.RUNNING
    run.attempts += 1
    run.started_at = now
    run.worker = worker
    return run.attempts


def record_success(
    run: Run, *, number: int, result: dict, finished_at: datetime, wake_parent: bool = True
) -> bool:
    """Close the attempt as succeeded; False when the run moved on without it (a zombie).

    ``wake_parent`` False: a step run inline by its own workflow, which reads the outcome
    itself instead of being woken."""
    with transaction.atomic():
        won = _finish(
            run,
            number,
            status=RunStatus.SUCCEEDED,
            result=result,
            error=None,
            finished_at=finished_at,
            next_attempt_at=None,
        )
        if not won:
            return False
        Attempt.objects.create(
            run=run,
            number=number,
            outcome=AttemptOutcome.SUCCEEDED,
            started_at=run.started_at,
            finished_at=finished_at,
            worker=run.worker,
        )
        after_transition(run, wake_parent=wake_parent)
    return True


def record_failure(
    run: Run,
    *,
    number: int,
    failure: Failure,
    policy: RetryPolicy,
    finished_at: datetime,
    wake_parent: bool = True,
) -> bool:
    """Close the attempt as failed: retry later while the budget lasts, else dead-letter.

    False when the run moved on without this attempt (a zombie); nothing is written then.
    """
    decision = policy.get_retry_decision(
        spent=number - run.budget_start,
        retryable=failure.retryable,
        retry_after=failure.retry_after,
        failed_at=finished_at,
    )
    status = RunStatus.DEAD if decision.dead else RunStatus.RETRYING
    next_attempt_at = decision.retry_at
    with transaction.atomic():
        won = _finish(
            run,
            number,
            status=status,
            result=None,
            error=failure.as_error(),
            finished_at=finished_at,
            next_attempt_at=next_attempt_at,
        )
        if not won:
            return False
        Attempt.objects.create(
            run=run,
            number=number,
            outcome=failure.outcome,
            started_at=run.started_at or finished_at,
            finished_at=finished_at,
            error_code=failure.code,
            error_message=failure.message,
            retryable=failure.retryable,
            traceback=failure.traceback[-TRACEBACK_LIMIT:],
            worker=run.worker,
        )
        after_transition(run, wake_parent=wake_parent)
    return True


def suspend(run: Run, *, number: int, reason: str, wake_at, finished_at: datetime) -> bool:
    """End a workflow's execution that reached a pending step or timer: ``running → waiting``.

    If a step finished while this execution ran (``wake_pending``), the workflow goes back
    to the queue instead, to replay with that outcome. The execution is recorded as a
    ``suspended`` attempt and did not spend the budget: the next starts a fresh one.
    False when the run moved on without this execution (a zombie).
    """
    ours = Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING, attempts=number)
    common = {"lease_expires_at": None, "budget_start": number, "enqueued_at": None}
    with transaction.atomic():
        for _ in range(3):
            # Two statements, not one: each must see the other side's committed wake-up.
            if ours.filter(wake_pending=True).update(
                status=RunStatus.QUEUED,
                wake_pending=False,
                waiting_reason="",
                next_attempt_at=None,
                **common,
            ):
                run.status, run.next_attempt_at, run.waiting_reason = RunStatus.QUEUED, None, ""
                break
            if ours.filter(wake_pending=False).update(
                status=RunStatus.WAITING,
                waiting_reason=reason[:300],
                next_attempt_at=wake_at,
                **common,
            ):
                run.status, run.next_attempt_at, run.waiting_reason = (
                    RunStatus.WAITING,
                    wake_at,
                    reason[:300],
                )
                break
            if not ours.exists():
                log.warning(
                    "execution %s of workflow run %s ended after it moved on", number, run.pk
                )
                return False
        else:
            return False
        run.budget_start, run.lease_expires_at, run.enqueued_at = number, None, None
        Attempt.objects.create(
            run=run,
            number=number,
            outcome=AttemptOutcome.SUSPENDED,
            started_at=run.started_at or finished_at,
            finished_at=finished_at,
            error_message=reason,
            worker=run.worker,
        )
        if run.status == RunStatus.QUEUED:
            enqueue(run, now=finished_at)
    return True


def wake(run_id, *, now: datetime) -> bool:
    """Replay the workflow ``run_id``: one of its steps finished, or its timer is due.

    A waiting workflow goes back to the queue; a running one replays once more when its
    execution ends (``wake_pending``); any other has nothing to wait for. Called in the
    transaction of the step's transition, so the wake-up commits with it.
    """
    for _ in range(3):
        woken = Run.objects.filter(pk=run_id, status=RunStatus.WAITING).update(
            status=RunStatus.QUEUED, next_attempt_at=None, waiting_reason="", enqueued_at=None
        )
        if woken:
            workflow = Run.objects.select_related("action").get(pk=run_id)
            enqueue(workflow, now=now)
            return True
        if Run.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(wake_pending=True):
            return True
        if not Run.objects.filter(pk=run_id, status=RunStatus.WAITING).exists():
            return False
    return False


def renew_lease(run: Run, *, number: int, seconds: float, progressed: bool) -> bool:
    """A workflow's execution still holds its run for ``seconds`` more (before a step it
    runs inline); ``progressed``: a step succeeded in this execution, so a crash from now
    on spends one attempt of a fresh budget. False when the run moved on (a zombie)."""
    changes = {"lease_expires_at": timezone.now() + timedelta(seconds=seconds)}
    if progressed:
        changes["budget_start"] = number - 1
    return bool(
        Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING, attempts=number).update(**changes)
    )


def record_memo(run: Run, *, number: int, memo: dict) -> bool:
    """Store a workflow's recorded values; False when the run moved on (a zombie)."""
    if not Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING, attempts=number).update(
        memo=memo
    ):
        return False
    run.memo = memo
    return True


def expire_lease(run: Run, *, policy: RetryPolicy, now: datetime) -> bool:
    """The worker holding ``run`` stopped answering: record a ``lost`` attempt, retry or dead-letter."""
    failure = Failure(
        code="lost",
        message=f"worker {run.worker or '?'} held the run past its lease and was presumed dead",
        retryable=True,
        outcome=AttemptOutcome.LOST,
    )
    return record_failure(run, number=run.attempts, failure=failure, policy=policy, finished_at=now)


def release_run(run: Run, *, reason: str) -> None:
    """Leave a run untouched for another worker, saying why it waits."""
    if run.waiting_reason != reason:
        Run.objects.filter(pk=run.pk, status=run.status).update(waiting_reason=reason[:300])


def _finish(
    run: Run, number: int, *, status: str, result, error, finished_at, next_attempt_at
) -> bool:
    finished = status in (RunStatus.SUCCEEDED, RunStatus.DEAD)
    changed = Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING, attempts=number).update(
        status=status,
        result=result,
        error=error,
        finished_at=finished_at if finished else None,
        next_attempt_at=next_attempt_at,
        lease_expires_at=None,
        # A retry is not enqueued until it is due: the dispatcher does that.
        enqueued_at=None,
        wake_pending=False,
    )
    if changed:
        run.status, run.result, run.error = status, result, error
        run.finished_at = finished_at if finished else None
        run.next_attempt_at = next_attempt_at
        run.lease_expires_at = None
    else:
        log.warning(
            "attempt %s of run %s finished after the run moved on; discarded", number, run.pk
        )
    return bool(changed)


def after_transition(run: Run, *, wake_parent: bool = True) -> None:
    """Inside the transition's transaction: a closed run's key starts to expire (a
    workflow's steps' keys with it; a step's only with its workflow's), a finished step
    wakes its workflow, and a finished run is announced once, when the transaction commits."""
    if run.status in CLOSED and run.parent_id is None:
        idempotency.start_expiry(
            run.pk,
            own=run.idempotency_key is not None,
            steps=run.action.kind == ActionKind.WORKFLOW,
        )
    if run.parent_id is not None and run.status in FINISHED and wake_parent:
        wake(run.parent_id, now=timezone.now())
    if run.status in FINISHED:
        status = run.status
        transaction.on_commit(lambda: run_finished.send(sender=Run, run=run, status=status))
    if run.status == RunStatus.DEAD:
        transaction.on_commit(lambda: run_dead_lettered.send(sender=Run, run=run))
