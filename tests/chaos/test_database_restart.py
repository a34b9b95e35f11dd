"""Scenario 2: PostgreSQL restarts in the middle of a load; everything recovers by itself."""

import contextlib
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from tests.chaos.servers import ThrowawayPostgres, free_port, http, manage, start_manage, wait_http

pytestmark = [pytest.mark.postgres, pytest.mark.worker]


@pytest.fixture
def stack(tmp_path):
    """A throwaway PostgreSQL, migrated, with a web server, two workers and an API token."""
    # Not under tmp_path: the postgres user must be able to reach the folder.
    workdir = Path(tempfile.mkdtemp(prefix="doplatform-pg-"))
    workdir.chmod(0o755)
    try:
        pg = ThrowawayPostgres(workdir).init()
    except (FileNotFoundError, OSError) as error:
        pytest.skip(f"cannot start a throwaway PostgreSQL: {error}")
    env = {
        **os.environ,
        "DATABASE_URL": pg.url,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "REDIS_URL": "",
        "DOPLATFORM_DISPATCH_INTERVAL": "0.2",
        "DOPLATFORM_REENQUEUE_AFTER": "5",
        "DOPLATFORM_LEASE_GRACE": "2",
        "PYTHONUNBUFFERED": "1",
    }
    manage(env, "migrate", "--no-input")
    token = manage(env, "createserviceaccount", "chaos", "--role", "operator").stdout.strip()
    port = free_port()
    procs = [
        start_manage(env, tmp_path / "web.log", "runserver", f"127.0.0.1:{port}", "--noreload"),
        start_manage(env, tmp_path / "worker-1.log", "runworker"),
        start_manage(env, tmp_path / "worker-2.log", "runworker"),
    ]
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/healthz")
    yield pg, base, token
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    pg.stop()
    shutil.rmtree(workdir, ignore_errors=True)


def submit(base: str, token: str, key: str):
    return http(
        "POST",
        f"{base}/api/actions/test-counted/runs/",
        token,
        {"inputs": {"key": key}},
        {"Idempotency-Key": key},
    )


def test_a_database_restart_loses_nothing_and_needs_no_manual_restart(stack, capsys):
    pg, base, token = stack
    before = [f"before-{i}" for i in range(40)]
    for key in before:
        assert submit(base, token, key)[0] == 202

    pg.stop()
    outage = [submit(base, token, f"outage-{i}") for i in range(5)]
    pg.start()

    for status, body, headers in outage:
        assert status == 503, body
        assert body["error"] == "service_unavailable"
        assert "Retry-After" in headers

    after = [f"after-{i}" for i in range(40)]
    deadline = time.monotonic() + 30
    for key in after:
        while (status := submit(base, token, key)[0]) == 503 and time.monotonic() < deadline:
            time.sleep(0.2)  # the web server reconnects on its next request
        assert status == 202

    with psycopg.connect(pg.url) as conn:

        def counts():
            return dict(
                conn.execute("SELECT status, count(*) FROM actions_run GROUP BY status").fetchall()
            )

        deadline = time.monotonic() + 120
        while counts() != {"succeeded": 80} and time.monotonic() < deadline:
            time.sleep(0.5)  # polling another process's progress
        assert counts() == {"succeeded": 80}
        keys = {k for (k,) in conn.execute("SELECT idempotency_key FROM actions_run").fetchall()}
        assert keys == set(before) | set(after)  # nothing from the outage was written
        executions = conn.execute(
            "SELECT count(DISTINCT run_id) FROM testapp_execution"
        ).fetchone()[0]
    assert executions == 80
    with capsys.disabled():
        print(
            f"\nchaos[db-restart]: submitted {len(before) + len(after)}, completed 80, "
            f"refused with 503 during the outage {len(outage)}, lost runs 0"
        )
