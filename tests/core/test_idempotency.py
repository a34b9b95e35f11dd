"""Guarantee 1 of DESIGN.md: one run per (action, key), whatever the concurrency."""

import multiprocessing
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from actions import submit
from actions.models import IdempotencyRecord, Run
from actions.queue import close_connections_for_fork
from actions.worker import execute_run
from tests.concurrent_submit import submit_once
from tests.conftest import subprocess_database_url
from tests.testapp.models import Execution

pytestmark = pytest.mark.django_db


def test_a_key_of_a_closed_run_starts_a_new_run_after_the_ttl():
    first = submit("test-noop", {"a": 1}, idempotency_key="k")
    execute_run(str(first.pk))
    assert submit("test-noop", {"a": 1}, idempotency_key="k").replayed

    IdempotencyRecord.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    second = submit("test-noop", {"a": 2}, idempotency_key="k")

    assert not second.replayed and second.pk != first.pk
    assert IdempotencyRecord.objects.get().run_id == second.pk


def test_a_key_of_a_run_that_is_not_closed_never_expires():
    first = submit("test-final", {}, idempotency_key="k")
    execute_run(str(first.pk))  # dead: finished but not closed
    assert IdempotencyRecord.objects.get().expires_at is None
    assert submit("test-final", {}, idempotency_key="k").pk == first.pk


def _submit_in_thread(results: list, barrier: threading.Barrier) -> None:
    barrier.wait()
    try:
        run = submit("test-counted", {"n": 1}, idempotency_key="race")
        results.append(("ok", str(run.pk), run.replayed))
    except Exception as error:  # noqa: BLE001 - reported by the test
        results.append(("error", repr(error), None))
    finally:
        connection.close()


def assert_one_run_and_31_replays(results: list) -> None:
    assert [r for r in results if r[0] == "error"] == []
    assert len({r[1] for r in results}) == 1
    assert sorted(r[2] for r in results) == [False] + [True] * 31
    [run] = Run.objects.all()
    execute_run(str(run.pk))
    for _ in range(3):
        execute_run(str(run.pk))  # duplicate deliveries
    assert Execution.objects.filter(run_id=run.pk).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_32_concurrent_threads_get_one_run_and_31_replays():
    results: list = []
    barrier = threading.Barrier(32)
    threads = [
        threading.Thread(target=_submit_in_thread, args=(results, barrier)) for _ in range(32)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert_one_run_and_31_replays(results)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_32_concurrent_processes_get_one_run_and_31_replays():
    close_connections_for_fork()  # no connection, and no pool of them, crosses the fork
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(32)
    queue = context.Queue()
    url = subprocess_database_url()
    procs = [context.Process(target=submit_once, args=(url, barrier, queue)) for _ in range(32)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
    assert_one_run_and_31_replays(results)
