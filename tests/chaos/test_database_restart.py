"""Scenario 2: PostgreSQL restarts in the middle of a load; everything recovers by itself."""

import time

import psycopg
import pytest

from tests.chaos.servers import http

pytestmark = [pytest.mark.postgres, pytest.mark.worker]


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
        # Every run executed. One whose attempt the restart cut may run again (delivery
        # is at-least-once); the crash-load scenario bounds executions by attempts.
        executions = conn.execute(
            "SELECT count(DISTINCT run_id) FROM testapp_execution"
        ).fetchone()[0]
    assert executions == 80
    with capsys.disabled():
        print(
            f"\nchaos[db-restart]: submitted {len(before) + len(after)}, completed 80, "
            f"refused with 503 during the outage {len(outage)}, lost runs 0"
        )
