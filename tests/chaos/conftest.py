import contextlib
import os
import shutil
import signal
import tempfile
from pathlib import Path

import pytest

from tests.chaos.servers import ThrowawayPostgres, free_port, manage, start_manage, wait_http


@pytest.fixture
def chaos_size() -> int:
    """Runs per scenario: small in `make test`, 5,000 in `make chaos`."""
    return int(os.environ.get("CHAOS_RUNS", "300"))


@pytest.fixture
def chaos_workflows() -> int:
    """Registration workflows per scenario: 200 in `make test`, 1,000 in `make chaos`."""
    return int(os.environ.get("CHAOS_WORKFLOWS", "200"))


@pytest.fixture
def chaos_seconds() -> float:
    """How long workers are killed and restarted before the final drain."""
    return float(os.environ.get("CHAOS_SECONDS", "20"))


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
        # While PostgreSQL is down a request waits this long for it, then answers 503.
        "DJANGO_DB_POOL_TIMEOUT": "2",
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
