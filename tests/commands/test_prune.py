"""``manage.py prune [--dry-run]``."""

import pytest
from django.test import override_settings

from actions import submit
from actions.models import IdempotencyRecord, Run
from actions.worker import execute_run

pytestmark = pytest.mark.django_db


@override_settings(DOPLATFORM_IDEMPOTENCY_TTL=0, DOPLATFORM_RUN_RETENTION=0)
def test_a_dry_run_counts_what_prune_deletes_and_deletes_nothing(manage):
    closed = submit("test-noop", {}, idempotency_key="k-1")
    execute_run(str(closed.pk))
    dead = submit("test-final", {}, idempotency_key="k-2")
    execute_run(str(dead.pk))  # dead: never closed, its key never expires
    unkeyed = submit("test-noop", {})
    execute_run(str(unkeyed.pk))

    dry = manage("prune", "--dry-run")
    assert dry.stdout == "would prune 1 idempotency records and 2 runs\n"
    assert (Run.objects.count(), IdempotencyRecord.objects.count()) == (3, 2)

    assert manage("prune").stdout == "pruned 1 idempotency records and 2 runs\n"
    assert list(Run.objects.values_list("pk", flat=True)) == [dead.pk]
