"""The one module that talks to django-q2 (actions/queue.py), looked at from behind."""

from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from actions import queue

pytestmark = pytest.mark.django_db


def test_a_task_is_tried_once_never_stored_and_killed_at_the_backstop():
    queue.enqueue("3f1c0a4e-0000-4000-8000-000000000001", backstop=65)
    [row] = OrmQ.objects.all()
    task = SignedPackage.loads(row.payload)
    assert task["func"] == queue.TASK
    assert task["args"] == ("3f1c0a4e-0000-4000-8000-000000000001",)
    assert task["name"] == "3f1c0a4e-0000-4000-8000-000000000001"
    assert (task["save"], task["ack_failure"], task["timeout"]) == (False, True, 65)
    assert task["kwargs"] == {}  # q_options never reach the handler's inputs


def test_with_the_orm_broker_the_task_commits_with_the_caller_or_not_at_all():
    with pytest.raises(RuntimeError), transaction.atomic():
        queue.enqueue("3f1c0a4e-0000-4000-8000-000000000002", backstop=65)
        raise RuntimeError("the run's transaction fails")
    assert queue.size() == 0


def test_size_counts_waiting_tasks_and_purge_drops_them():
    for n in range(3):
        queue.enqueue(f"3f1c0a4e-0000-4000-8000-00000000001{n}", backstop=65)
    assert queue.size() == 3
    OrmQ.objects.filter(pk=OrmQ.objects.first().pk).update(lock=timezone.now() + timedelta(hours=1))
    assert queue.size() == 2  # one is being worked on
    queue.purge()
    assert queue.size() == 0


def test_the_oldest_waiting_enqueue_is_what_the_backlog_starts_at():
    assert queue.oldest_waiting_enqueue() is None
    queue.enqueue("3f1c0a4e-0000-4000-8000-000000000020", backstop=65)
    queue.enqueue("3f1c0a4e-0000-4000-8000-000000000021", backstop=65)
    old = timezone.now() - timedelta(minutes=5)
    OrmQ.objects.filter(pk=OrmQ.objects.order_by("pk").first().pk).update(lock=old)
    assert queue.oldest_waiting_enqueue() == old


def test_a_lease_must_end_before_django_q2_could_redeliver():
    limit = queue.redelivery_limit()
    assert limit == int(Conf.RETRY) - queue.GUARD_SLACK
    assert queue.lease_problem(limit - 1) is None
    problem = queue.lease_problem(limit)
    assert f"must stay below {limit} s" in problem
    assert "DOPLATFORM_TASK_RETRY" in problem


def test_runworker_refuses_a_lease_too_long_for_the_queue():
    queue.check_timeouts(queue.redelivery_limit() - 1)
    with pytest.raises(ImproperlyConfigured, match="the longest action's timeout plus grace"):
        queue.check_timeouts(queue.redelivery_limit())


def test_the_broker_is_named():
    assert queue.broker_name() == "orm"


def test_the_backstop_of_each_enqueue_is_the_actions_own():
    from actions import submit
    from actions.registry import effective_policy

    submit("test-sleep", {})  # timeout 2
    task = SignedPackage.loads(OrmQ.objects.get().payload)
    assert task["timeout"] == effective_policy("test-sleep").backstop_seconds
