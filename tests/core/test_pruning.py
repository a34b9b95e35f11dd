"""Forgetting what no longer matters (actions/pruning.py): expired keys, then old closed runs."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from actions import submit
from actions.models import IdempotencyRecord, Run
from actions.pruning import prune
from actions.worker import execute_run
from tests.factories import make_dead_run, make_run

pytestmark = pytest.mark.django_db


@override_settings(DOPLATFORM_IDEMPOTENCY_TTL=0, DOPLATFORM_RUN_RETENTION=0)
def test_prune_removes_expired_records_then_old_closed_runs():
    run = submit("test-noop", {}, idempotency_key="k")
    execute_run(str(run.pk))
    report = prune()
    assert (report.records, report.runs) == (1, 1)
    assert not Run.objects.exists()


@override_settings(DOPLATFORM_RUN_RETENTION=0)
def test_a_closed_run_whose_key_still_protects_stays():
    run = submit("test-noop", {}, idempotency_key="k")
    execute_run(str(run.pk))  # closed: its key expires a day from now
    assert prune().runs == 0
    assert Run.objects.filter(pk=run.pk).exists()


@override_settings(DOPLATFORM_RUN_RETENTION=60, DOPLATFORM_IDEMPOTENCY_TTL=60)
def test_runs_that_are_not_closed_or_not_old_enough_stay():
    dead = make_dead_run()  # finished, but waits for an operator
    Run.objects.filter(pk=dead.pk).update(finished_at=timezone.now() - timedelta(days=9))
    recent = make_run(status="succeeded")
    old = make_run(status="cancelled")
    Run.objects.filter(pk=old.pk).update(finished_at=timezone.now() - timedelta(seconds=61))
    assert prune().runs == 1
    assert set(Run.objects.values_list("pk", flat=True)) == {dead.pk, recent.pk}
    assert not IdempotencyRecord.objects.exists()
