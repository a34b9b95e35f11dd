"""Scenario 7: storms of concurrent requests leave PostgreSQL connections within the pool's bound.

Each server is a real process (Django's threaded runserver, gunicorn with threads) on the
test database, with its connections named by ``PGAPPNAME`` so that ``pg_stat_activity``
counts only them. Between and during storms the count never passes processes x
``DJANGO_DB_POOL_MAX_SIZE``; a runworker that has run a burst of runs keeps at most one
connection per process. Sizes: ``CHAOS_STORMS`` storms of ``CHAOS_STORM_REQUESTS``
concurrent GETs (4 x 48 in ``make test``, 10 x 192 in ``make chaos``; runserver's at
most 48).
"""

import os
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from rest_framework.authtoken.models import Token

from actions import submit
from actions.models import Run, RunStatus
from tests.chaos.servers import free_port, start_gunicorn, start_manage, wait_http
from tests.conftest import subprocess_database_url, wait_for
from tests.factories import make_user

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

POOL_MAX = 4
STORMS = int(os.environ.get("CHAOS_STORMS", "4"))
REQUESTS = int(os.environ.get("CHAOS_STORM_REQUESTS", "48"))
# runserver listens with a backlog of 10: past about 50 simultaneous connections the
# kernel drops SYNs and clients wait for retransmits, which tests TCP, not the pool.
RUNSERVER_REQUESTS = min(REQUESTS, 48)
PATHS = ["/api/runs/", "/api/actions/", "/api/runs/?status=succeeded", "/healthz"]


def connections(app: str) -> int:
    with psycopg.connect(subprocess_database_url(), autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [app]
        ).fetchone()[0]


class Sampler:
    """The most connections ``app`` held at once, sampled every 20 ms while it runs."""

    def __init__(self, app: str):
        self.app, self.peak, self.stop = app, 0, threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        with psycopg.connect(subprocess_database_url(), autocommit=True) as conn:
            while not self.stop.wait(0.02):
                count = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                    [self.app],
                ).fetchone()[0]
                self.peak = max(self.peak, count)

    def __enter__(self) -> "Sampler":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()


def storm(base: str, token: str, requests: int) -> list[int]:
    """``requests`` GETs at once; their statuses."""
    start = threading.Barrier(requests)

    def get(i: int) -> int:
        request = urllib.request.Request(
            base + PATHS[i % len(PATHS)], headers={"Authorization": f"Token {token}"}
        )
        start.wait()
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status

    with ThreadPoolExecutor(requests) as pool:
        return list(pool.map(get, range(requests)))


def server_env(app: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": subprocess_database_url(),
        "REDIS_URL": "",
        "DJANGO_DB_POOL_MAX_SIZE": os.environ.get("XPOOL", str(POOL_MAX)),
        "PGAPPNAME": app,  # libpq names every connection the process opens
        "PYTHONUNBUFFERED": "1",
    }


@pytest.mark.parametrize(
    ("server", "processes"), [("runserver", 1), ("gunicorn", 2)], ids=["runserver", "gunicorn"]
)
def test_storms_leave_connections_within_the_pool_bound(server, processes, tmp_path, capsys):
    token = Token.objects.create(user=make_user("storm", "actions.view_run")).key
    app = f"storm-{server}"
    port = free_port()
    env = server_env(app)
    if server == "runserver":  # threaded: a thread per request, no limit of its own
        proc = start_manage(
            env, tmp_path / "web.log", "runserver", f"127.0.0.1:{port}", "--noreload"
        )
    else:
        proc = start_gunicorn(env, tmp_path / "web.log", port, workers=processes, threads=8)
    base = f"http://127.0.0.1:{port}"
    bound = processes * POOL_MAX
    requests = RUNSERVER_REQUESTS if server == "runserver" else REQUESTS
    try:
        wait_http(f"{base}/healthz")
        after = []
        with Sampler(app) as sampler:
            for _ in range(STORMS):
                statuses = storm(base, token, requests)
                assert statuses == [200] * requests
                after.append(connections(app))
        assert max(after) <= bound, after
        assert sampler.peak <= bound, sampler.peak
        assert sampler.peak > 0  # the sampler saw the server's connections at all
    finally:
        proc.kill()
        proc.wait(10)
    with capsys.disabled():
        print(
            f"\nchaos[connections]: {server} ({processes} process(es)): {STORMS} storms x "
            f"{requests} concurrent GETs, connections after each {after}, at most "
            f"{sampler.peak} at once; bound {bound} (DJANGO_DB_POOL_MAX_SIZE={POOL_MAX})"
        )


def test_a_busy_worker_keeps_one_connection_per_process(start_worker, capsys):
    app = "storm-runworker"
    worker = start_worker("--workers", "2", DJANGO_DB_POOL_MAX_SIZE=str(POOL_MAX), PGAPPNAME=app)
    wait_for(lambda: "started" in worker.log(), what="runworker to start")
    ids = [submit("test-counted", {"n": i}).pk for i in range(REQUESTS * 4)]
    with Sampler(app) as sampler:
        wait_for(
            lambda: Run.objects.filter(pk__in=ids, status=RunStatus.SUCCEEDED).count() == len(ids),
            timeout=120,
            what="every run to succeed",
        )
        time.sleep(1)  # a few more samples of the idle worker (nothing to await)
    # runworker, django-q2's sentinel, pusher and monitor, and two workers: one each.
    bound = 4 + 2
    assert sampler.peak <= bound, sampler.peak
    assert connections(app) <= bound
    with capsys.disabled():
        print(
            f"\nchaos[connections]: runworker (2 workers): {len(ids)} runs, at most "
            f"{sampler.peak} connections at once; bound {bound} (one per process)"
        )
