"""The worker watchdog's measure (actions/watchdog.py): when a cluster counts as wedged."""

from datetime import timedelta

import pytest
from django.utils import timezone

from actions import queue
from actions.models import Action, Run
from actions.watchdog import Watchdog
from actions.worker import worker_name
from tests.factories import make_run

pytestmark = pytest.mark.django_db

OURS = [4101, 4102]  # the pids of "our" cluster's processes in these tests


@pytest.fixture(autouse=True)
def cluster(monkeypatch):
    """Our cluster's workers last began a task ``idle`` seconds ago."""
    state = {"idle": 100.0}
    monkeypatch.setattr(queue, "seconds_since_last_task", lambda: state["idle"])
    monkeypatch.setattr(queue, "group_pids", lambda: OURS)
    return state


def waiting_for(seconds: float, action: str = "test-noop") -> Run:
    run = make_run(action)
    Run.objects.filter(pk=run.pk).update(enqueued_at=timezone.now() - timedelta(seconds=seconds))
    return run


def test_runs_waiting_while_the_workers_take_nothing_is_a_wedge():
    waiting_for(30)
    why = Watchdog(seconds=10, workers=2).wedged()
    assert why == (
        "its workers took no task for 100 s while 1 run(s) waited longer than 10 s "
        "(0 of 2 workers busy)"
    )


def test_workers_that_took_a_task_lately_are_not_wedged(cluster):
    waiting_for(30)
    cluster["idle"] = 5
    assert Watchdog(seconds=10, workers=2).wedged() is None


def test_runs_that_have_not_waited_that_long_are_not_a_wedge():
    waiting_for(5)
    assert Watchdog(seconds=10, workers=2).wedged() is None


def test_nothing_waiting_is_not_a_wedge():
    make_run("test-noop", status="succeeded")
    assert Watchdog(seconds=10, workers=2).wedged() is None


def test_runs_of_a_paused_action_or_without_a_handler_here_do_not_count():
    Action.objects.update_or_create(name="test-noop", defaults={"paused": True})
    waiting_for(30)
    waiting_for(30, action="test-counted")
    Run.objects.filter(action_id="test-counted").update(waiting_reason="no handler on vm:1")
    assert Watchdog(seconds=10, workers=2).wedged() is None


def running(worker: str) -> None:
    run = make_run("test-noop", status="running")
    Run.objects.filter(pk=run.pk).update(worker=worker)


def test_every_worker_busy_with_a_long_run_is_not_a_wedge():
    waiting_for(30)
    for pid in OURS:
        running(worker_name(pid))
    assert Watchdog(seconds=10, workers=2).wedged() is None
    running("elsewhere:1")  # another machine's worker is not ours
    assert Watchdog(seconds=10, workers=3).wedged() is not None


def test_zero_seconds_turns_it_off():
    waiting_for(30)
    assert Watchdog(seconds=0, workers=2).wedged() is None


def test_it_looks_at_the_database_at_most_every_quarter_of_its_time(django_assert_num_queries):
    watchdog = Watchdog(seconds=10, workers=2)
    with django_assert_num_queries(1):
        assert watchdog.wedged() is None  # nothing waits
    waiting_for(30)
    with django_assert_num_queries(0):
        assert watchdog.wedged() is None  # not checked again yet
