"""How a run moves through the workers (actions/runs.py), one function at a time.

The worker's whole delivery is specified in test_worker.py; here each step on its own.
"""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from actions import queue, runs
from actions.models import Action, Attempt, IdempotencyRecord, Run, RunStatus
from actions.policy import RetryPolicy
from actions.submission import ensure_action
from tests.factories import make_dead_run, make_run, submit

pytestmark = pytest.mark.django_db

POLICY = RetryPolicy(max_attempts=2, backoff_base=10)


def reload(run: Run) -> Run:
    return Run.objects.select_related("action").get(pk=run.pk)


# --- enqueue ---------------------------------------------------------------------------


def test_a_new_run_takes_its_enqueue_into_its_insert():
    now = timezone.now()
    run = Run(id=uuid.uuid4(), action=ensure_action("test-noop"), inputs={}, created_at=now)
    assert runs.enqueue(run, now=now) is True
    assert (run.enqueued_at, queue.size()) == (now, 1)
    assert not Run.objects.exists()  # the caller's INSERT stores it
    run.save(force_insert=True)
    assert reload(run).enqueued_at == now


def test_a_paused_actions_new_run_waits_unenqueued():
    action = ensure_action("test-noop")
    Action.objects.filter(pk=action.pk).update(paused=True)
    action.refresh_from_db()
    run = Run(id=uuid.uuid4(), action=action, inputs={}, created_at=timezone.now())
    assert runs.enqueue(run, now=timezone.now()) is False
    assert (run.enqueued_at, queue.size()) == (None, 0)


def test_a_stored_run_is_marked_and_handed_over_once():
    run = make_run("test-noop")
    queue.purge()
    first, second = reload(run), reload(run)  # two dispatchers read the same row
    now = timezone.now()
    assert runs.enqueue(first, now=now) is True
    assert runs.enqueue(second, now=now + timedelta(seconds=1)) is False  # lost the race
    assert reload(run).enqueued_at == now
    assert queue.size() == 1


def test_a_stored_run_of_a_paused_action_is_left_alone():
    run = make_run("test-noop")
    Action.objects.filter(pk="test-noop").update(paused=True)
    queue.purge()
    before = reload(run).enqueued_at
    assert runs.enqueue(reload(run), now=timezone.now()) is False
    assert (reload(run).enqueued_at, queue.size()) == (before, 0)


# --- claim -----------------------------------------------------------------------------


def test_a_queued_run_is_claimed_with_a_lease():
    run = make_run("test-noop")
    before = timezone.now()
    assert runs.claim_run(run, lease_seconds=30, worker="w:1") == 1
    run = reload(run)
    assert (run.status, run.attempts, run.worker) == (RunStatus.RUNNING, 1, "w:1")
    assert run.lease_expires_at >= before + timedelta(seconds=30)


def test_a_stale_copy_cannot_claim_again():
    run = make_run("test-noop")
    stale = reload(run)
    assert runs.claim_run(run, lease_seconds=30, worker="w:1") == 1
    assert runs.claim_run(stale, lease_seconds=30, worker="w:2") is None
    assert reload(run).worker == "w:1"


@pytest.mark.parametrize("status", [RunStatus.RUNNING, RunStatus.SUCCEEDED, RunStatus.DEAD])
def test_only_queued_or_due_retrying_runs_are_claimed(status):
    run = make_run("test-noop", status=status)
    assert runs.claim_run(run, lease_seconds=30, worker="w:1") is None


def test_a_retry_is_claimed_only_once_it_is_due():
    run = make_run("test-flaky", status=RunStatus.RETRYING, attempts=1)  # due in an hour
    assert runs.claim_run(run, lease_seconds=30, worker="w:1") is None
    Run.objects.filter(pk=run.pk).update(next_attempt_at=timezone.now())
    assert runs.claim_run(reload(run), lease_seconds=30, worker="w:1") == 2


def test_a_paused_actions_run_is_not_claimed():
    run = make_run("test-noop")
    Action.objects.filter(pk="test-noop").update(paused=True)
    assert runs.claim_run(run, lease_seconds=30, worker="w:1") is None


# --- finish ----------------------------------------------------------------------------


def claimed(action: str = "test-flaky", **kwargs) -> tuple[Run, int]:
    run = make_run(action, **kwargs)
    number = runs.claim_run(run, lease_seconds=30, worker="w:1")
    return run, number


def failure(retryable: bool = True, **kwargs) -> runs.Failure:
    return runs.Failure(code="boom", message="it broke", retryable=retryable, **kwargs)


def test_success_records_the_result_and_one_attempt():
    run, number = claimed()
    finished = timezone.now()
    assert runs.record_success(run, number=number, result={"ok": 1}, finished_at=finished)
    run = reload(run)
    assert (run.status, run.result, run.finished_at) == (RunStatus.SUCCEEDED, {"ok": 1}, finished)
    assert list(run.attempt_set.values_list("number", "outcome")) == [(1, "succeeded")]


def test_a_retryable_failure_waits_for_the_retry_decision():
    run, number = claimed()
    finished = timezone.now()
    assert runs.record_failure(
        run, number=number, failure=failure(), policy=POLICY, finished_at=finished
    )
    run = reload(run)
    assert run.status == RunStatus.RETRYING
    assert run.next_attempt_at == finished + timedelta(seconds=10)
    assert (run.enqueued_at, run.finished_at, run.lease_expires_at) == (None, None, None)
    assert run.error == {"code": "boom", "message": "it broke", "retryable": True}


def test_the_last_attempt_of_the_budget_is_dead():
    run, number = claimed(attempts=1)  # the second attempt of two
    runs.record_failure(
        run, number=number, failure=failure(), policy=POLICY, finished_at=timezone.now()
    )
    run = reload(run)
    assert (run.status, run.next_attempt_at) == (RunStatus.DEAD, None)
    assert run.finished_at is not None


def test_the_budget_counts_from_the_last_manual_retry():
    run, number = claimed(attempts=5)
    Run.objects.filter(pk=run.pk).update(budget_start=5)
    run.budget_start = 5
    runs.record_failure(
        run, number=number, failure=failure(), policy=POLICY, finished_at=timezone.now()
    )
    assert reload(run).status == RunStatus.RETRYING  # attempt 6 is the first of a fresh budget


def test_a_long_traceback_keeps_its_end():
    run, number = claimed()
    text = "x" * runs.TRACEBACK_LIMIT + "the end"
    runs.record_failure(
        run,
        number=number,
        failure=failure(traceback=text),
        policy=POLICY,
        finished_at=timezone.now(),
    )
    traceback = Attempt.objects.get(run=run).traceback
    assert len(traceback) == runs.TRACEBACK_LIMIT
    assert traceback.endswith("the end")


def test_an_attempt_that_lost_its_run_writes_nothing():
    run, number = claimed()
    Run.objects.filter(pk=run.pk).update(status=RunStatus.CANCELLED)
    assert not runs.record_failure(
        run, number=number, failure=failure(), policy=POLICY, finished_at=timezone.now()
    )
    assert not runs.record_success(run, number=number, result={}, finished_at=timezone.now())
    assert not Attempt.objects.exists()


def test_an_expired_lease_is_a_lost_attempt_that_counts_against_the_budget():
    run, _ = claimed()
    assert runs.expire_lease(reload(run), policy=POLICY, now=timezone.now())
    run = reload(run)
    assert run.status == RunStatus.RETRYING
    attempt = run.attempt_set.get()
    assert (attempt.outcome, attempt.error_code, attempt.worker) == ("lost", "lost", "w:1")


def test_release_says_why_a_run_waits_and_changes_nothing_else():
    run = make_run("test-noop")
    runs.release_run(run, reason="no handler here")
    run = reload(run)
    assert (run.status, run.attempts, run.waiting_reason) == (
        RunStatus.QUEUED,
        0,
        "no handler here",
    )


def test_a_closed_run_starts_its_keys_expiry_and_a_dead_one_does_not():
    succeeded = submit("test-noop", {}, idempotency_key="closes")
    number = runs.claim_run(succeeded, lease_seconds=30, worker="w:1")
    runs.record_success(succeeded, number=number, result={}, finished_at=timezone.now())
    assert IdempotencyRecord.objects.get(key="closes").expires_at is not None

    dead = make_dead_run(idempotency_key="stays")
    IdempotencyRecord.objects.create(
        action_id=dead.action_id, key="stays", fingerprint="", run=dead, created_at=timezone.now()
    )
    runs.after_transition(dead)
    assert IdempotencyRecord.objects.get(key="stays").expires_at is None
