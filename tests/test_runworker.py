"""End to end, with real ``runworker`` subprocesses: django-q2 cluster plus dispatcher."""

from itertools import pairwise

import pytest

from actions import submit
from actions.models import Run, RunStatus
from tests.conftest import wait_for
from tests.testapp.models import Execution

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def finished(run_id, *statuses):
    def check():
        run = Run.objects.get(pk=run_id)
        return run if run.status in statuses else None

    return check


def test_a_retryable_failure_is_retried_with_growing_backoff_until_it_succeeds(start_worker):
    start_worker()
    run = submit("test-flaky", {"fail_times": 2})
    run = wait_for(
        finished(run.pk, RunStatus.SUCCEEDED, RunStatus.DEAD), timeout=30, what="the run to end"
    )
    assert run.status == RunStatus.SUCCEEDED
    attempts = list(run.attempt_set.order_by("number"))
    assert [a.outcome for a in attempts] == ["failed", "failed", "succeeded"]
    gaps = [(b.started_at - a.finished_at).total_seconds() for a, b in pairwise(attempts)]
    assert gaps[0] >= 1 and gaps[1] >= 2
    assert gaps[1] > gaps[0]
    assert Execution.objects.filter(run_id=run.pk).count() == 3
