"""Scenario 3: many processes submit the same keys at once, over HTTP and from Python."""

import json
import os
import subprocess
import sys
import time

import psycopg
import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.postgres, pytest.mark.worker]

KEYS = 50


def test_a_storm_of_duplicates_makes_one_run_and_one_execution_per_key(stack, capsys):
    pg, base, token = stack
    processes = int(os.environ.get("CHAOS_STORM_PROCESSES", "16"))
    env = {
        **os.environ,
        "DATABASE_URL": pg.url,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "REDIS_URL": "",
    }
    start_at = time.time() + 8  # after every process has imported Django
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.chaos.storm",
                "http" if i % 2 else "python",
                str(KEYS),
                str(start_at),
                base,
                token,
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(processes)
    ]
    reports = []
    for proc in procs:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out
        reports.append(json.loads(out.strip().splitlines()[-1]))

    assert sum(r["new"] for r in reports) == KEYS
    assert sum(r["replays"] for r in reports) == KEYS * (processes - 1)
    with psycopg.connect(pg.url) as conn:
        assert conn.execute("SELECT count(*) FROM actions_run").fetchone()[0] == KEYS
        deadline = time.monotonic() + 120
        query = "SELECT count(*) FROM actions_run WHERE status = 'succeeded'"
        while conn.execute(query).fetchone()[0] < KEYS and time.monotonic() < deadline:
            time.sleep(0.5)  # polling the workers' progress in another process
        executions = conn.execute("SELECT count(*) FROM testapp_execution").fetchone()[0]
    assert executions == KEYS
    with capsys.disabled():
        print(
            f"\nchaos[duplicate-storm]: {processes} processes x {KEYS} keys, runs {KEYS}, "
            f"handler executions {executions}, duplicate executions {executions - KEYS}"
        )
