"""Shared fixtures: personas, database facts, and real runworker subprocesses."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection

from tests.factories import make_user

ROOT = Path(__file__).resolve().parent.parent

OPERATOR_PERMS = (
    "actions.view_run",
    "actions.submit_run",
    "actions.retry_run",
    "actions.resolve_run",
    "actions.cancel_run",
    "actions.pause_action",
)


@pytest.fixture(autouse=True)
def clear_cache():
    """Aggregates and counts are cached for a few seconds; each test starts without them."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def operator(db):
    """A staff user who may see and operate everything."""
    return make_user("olivia-operator", *OPERATOR_PERMS)


@pytest.fixture
def viewer(db):
    """A staff user who may look but not touch."""
    return make_user("victor-viewer", "actions.view_run")


@pytest.fixture
def outsider(db):
    """Signed in, but holds no permission at all."""
    return make_user("oscar-outsider", staff=False)


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture
def postgres_only():
    if not on_postgres():
        pytest.skip("needs PostgreSQL")


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgres`` skip themselves on SQLite instead of failing."""
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" in engine:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (DATABASE_URL=postgres://…)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def subprocess_database_url() -> str:
    """A DATABASE_URL for subprocesses that points at the test database."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    user = settings.get("USER") or "postgres"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


class WorkerProcess:
    """A real ``manage.py runworker`` in its own process group."""

    def __init__(self, env: dict[str, str], log_path: Path, args: tuple[str, ...] = ()):
        self.env = env
        self.log_path = log_path
        self.args = args
        self.proc: subprocess.Popen | None = None

    def start(self) -> "WorkerProcess":
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "runworker", *self.args],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM to the main process only: the graceful path."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        """SIGKILL to the whole process group, workers included: a crashed machine."""
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def start_worker(transactional_db, tmp_path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start real runworker subprocesses on the test database; all are killed at teardown."""
    workers: list[WorkerProcess] = []

    def start(*args: str, **env_overrides: str) -> WorkerProcess:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": subprocess_database_url(),
            "REDIS_URL": "",
            "DOPLATFORM_DISPATCH_INTERVAL": "0.2",
            "DOPLATFORM_HEARTBEAT_INTERVAL": "1",
            "DOPLATFORM_LEASE_GRACE": "2",
            "DOPLATFORM_BACKOFF_JITTER": "false",
            "PYTHONUNBUFFERED": "1",
            **env_overrides,
        }
        worker = WorkerProcess(env, tmp_path / f"worker-{len(workers)}.log", args).start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.kill()


def wait_for(
    condition: Callable[[], object], *, timeout: float = 30, interval: float = 0.05, what: str = ""
):
    """Poll ``condition`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(interval)
