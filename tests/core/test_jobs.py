"""The chunked background job behind "retry/resolve all matching"."""

from datetime import timedelta

import pytest
from django.utils import timezone

from actions import jobs, operators
from actions.filters import RunFilterSet
from actions.models import EventKind, Job, OperatorEvent, Run
from tests.factories import make_dead_run, make_run

pytestmark = pytest.mark.django_db


def test_a_job_retries_every_matching_run_in_chunks(operator):
    runs = [make_dead_run("test-final") for _ in range(5)]
    other = make_dead_run("test-broken")
    job = jobs.start_job(
        EventKind.RETRIED, filters=RunFilterSet({"action": "test-final"}), user=operator
    )
    assert job.total == 5
    assert jobs.advance_job(job.pk, chunk=2) == 2
    assert jobs.advance_job(job.pk, chunk=2) == 2
    assert jobs.advance_job(job.pk, chunk=2) == 1
    assert jobs.advance_job(job.pk, chunk=2) == 0
    job.refresh_from_db()
    assert (job.done, job.skipped, job.finished_at is not None) == (5, 0, True)
    assert {r.status for r in Run.objects.filter(pk__in=[r.pk for r in runs])} == {"queued"}
    other.refresh_from_db()
    assert other.status == "dead"
    assert OperatorEvent.objects.filter(kind="retried", user=operator).count() == 5


def test_run_pending_jobs_advances_every_unfinished_job(operator):
    make_dead_run("test-final")
    make_dead_run("test-broken")
    jobs.start_job(EventKind.RETRIED, filters=RunFilterSet({"action": "test-final"}), user=operator)
    jobs.start_job(
        EventKind.RESOLVED,
        filters=RunFilterSet({"action": "test-broken"}),
        user=operator,
        note="ok",
    )
    assert jobs.run_pending_jobs() == 2
    assert jobs.run_pending_jobs() == 0
    assert not Job.objects.filter(finished_at__isnull=True).exists()
    assert sorted(Run.objects.values_list("status", flat=True)) == ["queued", "resolved"]


def test_a_resolve_job_touches_only_dead_runs(operator):
    dead = make_dead_run()
    retrying = make_run("test-flaky", status="retrying", attempts=1)
    job = jobs.start_job(
        EventKind.RESOLVED, filters=RunFilterSet({}), user=operator, note="by hand"
    )
    assert job.total == 1
    jobs.advance_job(job.pk)
    dead.refresh_from_db()
    retrying.refresh_from_db()
    assert (dead.status, dead.resolution_note, retrying.status) == (
        "resolved",
        "by hand",
        "retrying",
    )


def test_a_resolve_job_needs_a_note(operator):
    with pytest.raises(operators.MissingNote):
        jobs.start_job(EventKind.RESOLVED, filters=RunFilterSet({}), user=operator)


def test_a_job_leaves_runs_created_after_it_alone(operator):
    make_dead_run()
    job = jobs.start_job(EventKind.RETRIED, filters=RunFilterSet({}), user=operator)
    later = make_dead_run()
    Run.objects.filter(pk=later.pk).update(created_at=timezone.now() + timedelta(seconds=1))
    jobs.advance_job(job.pk)
    later.refresh_from_db()
    assert later.status == "dead"


def test_a_job_retries_a_run_at_most_once_even_if_it_fails_again(operator):
    run = make_dead_run()
    job = jobs.start_job(EventKind.RETRIED, filters=RunFilterSet({}), user=operator)
    assert jobs.advance_job(job.pk) == 1
    Run.objects.filter(pk=run.pk).update(status="dead")  # it failed again meanwhile
    assert jobs.advance_job(job.pk) == 0
    run.refresh_from_db()
    assert run.status == "dead"
    assert OperatorEvent.objects.filter(run=run).count() == 1


def test_a_run_that_raced_into_another_status_is_skipped(operator, monkeypatch):
    run = make_dead_run()
    job = jobs.start_job(EventKind.RETRIED, filters=RunFilterSet({}), user=operator)
    real_retry = operators.retry

    def someone_else_was_faster(run, user, note=""):
        Run.objects.filter(pk=run.pk).update(status="resolved")
        return real_retry(run, user, note)

    monkeypatch.setattr(operators, "retry", someone_else_was_faster)
    jobs.advance_job(job.pk)
    job.refresh_from_db()
    assert (job.done, job.skipped) == (0, 1)
    run.refresh_from_db()
    assert run.status == "resolved"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_runworker_carries_a_job_to_the_end(start_worker):
    from tests.conftest import wait_for
    from tests.factories import make_user

    user = make_user("jo-operator", "actions.view_run", "actions.retry_run")
    runs = [make_dead_run("test-noop") for _ in range(5)]
    job = jobs.start_job(
        EventKind.RETRIED, filters=RunFilterSet({"action": "test-noop"}), user=user
    )
    start_worker()
    wait_for(
        lambda: Job.objects.filter(pk=job.pk, finished_at__isnull=False).exists(),
        what="the job to finish",
    )
    wait_for(
        lambda: Run.objects.filter(pk__in=[r.pk for r in runs], status="succeeded").count() == 5,
        what="the retried runs to succeed",
    )
    job.refresh_from_db()
    assert (job.total, job.done, job.skipped) == (5, 5, 0)
