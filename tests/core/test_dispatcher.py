from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from actions import dispatcher, queue, submit
from actions.dispatcher import dispatch_once, reenqueue_waiting
from actions.models import Action, Run, RunStatus
from actions.runs import claim_run
from actions.worker import execute_run
from tests.factories import make_run

pytestmark = pytest.mark.django_db


def reload(run: Run) -> Run:
    return Run.objects.get(pk=run.pk)


def test_a_due_retry_is_enqueued_once():
    run = submit("test-flaky", {"fail_times": 1})
    execute_run(str(run.pk))
    queue.purge()
    assert dispatch_once().enqueued_retries == 0  # not due yet

    Run.objects.filter(pk=run.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert dispatch_once().enqueued_retries == 1
    assert dispatch_once().enqueued_retries == 0
    assert queue.size() == 1


def test_an_expired_lease_becomes_a_lost_attempt_and_a_retry():
    run = submit("test-counted", {})
    claim_run(reload(run), lease_seconds=60, worker="gone:42")
    Run.objects.filter(pk=run.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))

    assert dispatch_once().expired_leases == 1

    run = reload(run)
    assert run.status == RunStatus.RETRYING
    attempt = run.attempt_set.get()
    assert (attempt.outcome, attempt.worker, attempt.error_code) == ("lost", "gone:42", "lost")


def test_a_lost_attempt_counts_against_the_budget():
    run = submit("test-broken", {})  # max_attempts=2
    for _ in range(2):
        current = reload(run)
        if current.status == RunStatus.RETRYING:
            Run.objects.filter(pk=run.pk).update(next_attempt_at=timezone.now())
            current = reload(run)
        claim_run(current, lease_seconds=60, worker="crashy:1")
        Run.objects.filter(pk=run.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
        dispatch_once()
    run = reload(run)
    assert run.status == RunStatus.DEAD
    assert list(run.attempt_set.values_list("outcome", flat=True)) == ["lost", "lost"]


@override_settings(DOPLATFORM_REENQUEUE_AFTER=30)
def test_a_queued_run_whose_enqueue_looks_lost_is_enqueued_again():
    fresh = submit("test-noop", {})
    stale = submit("test-noop", {})
    Run.objects.filter(pk=stale.pk).update(enqueued_at=timezone.now() - timedelta(seconds=31))
    queue.purge()

    assert dispatch_once().reenqueued == 1
    assert reload(stale).enqueued_at > reload(fresh).enqueued_at - timedelta(seconds=1)
    assert queue.size() == 1


def test_a_paused_actions_runs_are_left_alone():
    run = make_run("test-counted", status=RunStatus.QUEUED)
    Run.objects.filter(pk=run.pk).update(enqueued_at=None)
    Action.objects.filter(pk="test-counted").update(paused=True)
    assert dispatch_once().total == 0


@override_settings(DOPLATFORM_REENQUEUE_AFTER=30)
def test_a_backlog_is_not_mistaken_for_lost_enqueues():
    waiting = submit("test-noop", {})  # its queue row is still waiting: a backlog
    behind = submit("test-noop", {})
    old = timezone.now() - timedelta(seconds=60)
    Run.objects.update(enqueued_at=old)
    from django_q.models import OrmQ  # noqa: TID251 - ages the broker's rows: a backlog

    OrmQ.objects.update(lock=old)

    assert dispatch_once().reenqueued == 0
    assert queue.size() == 2
    assert {waiting.pk, behind.pk} == set(Run.objects.values_list("pk", flat=True))


def test_after_a_wedged_cluster_the_runs_it_may_have_taken_are_enqueued_again():
    long_ago = timezone.now() - timedelta(minutes=5)
    taken = [submit("test-noop", {"n": i}) for i in range(3)]
    Run.objects.filter(pk__in=[r.pk for r in taken]).update(enqueued_at=long_ago)
    fresh = submit("test-noop", {"n": "fresh"})
    queue.purge()  # what the dead cluster held is gone; its queue rows would not come back

    assert reenqueue_waiting(timezone.now() - timedelta(minutes=1)) == 3
    assert queue.size() == 3
    assert reload(fresh).enqueued_at > long_ago
    assert all(reload(run).enqueued_at > long_ago for run in taken)
    assert reenqueue_waiting(timezone.now() - timedelta(minutes=1)) == 0


def test_after_a_wedged_cluster_the_oldest_batch_is_enqueued_again(monkeypatch):
    monkeypatch.setattr(dispatcher, "BATCH", 2)
    runs = [submit("test-noop", {"n": i}) for i in range(3)]
    for minutes, run in zip([9, 7, 8], runs, strict=True):
        Run.objects.filter(pk=run.pk).update(
            enqueued_at=timezone.now() - timedelta(minutes=minutes)
        )
    queue.purge()
    assert reenqueue_waiting(timezone.now() - timedelta(minutes=1)) == 2
    assert reload(runs[1]).enqueued_at < timezone.now() - timedelta(minutes=6)  # the newest
