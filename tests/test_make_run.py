"""``make run`` (scripts/run.sh): checks before changes, one-line errors, a clean stop."""

import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, subprocess_database_url, wait_for

RUN_SH = str(ROOT / "scripts" / "run.sh")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_env(**env: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "doplatform.settings",
        "DOPLATFORM_BIND": f"127.0.0.1:{free_port()}",
        "REDIS_URL": "",
        **env,
    }


def run_once(**env: str) -> subprocess.CompletedProcess:
    """scripts/run.sh expected to stop by itself (a failed check)."""
    return subprocess.run(
        [RUN_SH], cwd=ROOT, env=run_env(**env), capture_output=True, text=True, timeout=60
    )


def one_line(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.fixture
def listening() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def test_a_busy_address_is_reported_at_once_before_anything_changes(listening, tmp_path):
    database = tmp_path / "db.sqlite3"
    started = time.monotonic()
    done = run_once(DOPLATFORM_BIND=f"127.0.0.1:{listening}", DATABASE_URL=f"sqlite:///{database}")
    line = one_line(done)
    assert time.monotonic() - started < 5
    assert line.startswith(f"doplatform: 127.0.0.1:{listening} is already in use")
    assert f"DOPLATFORM_BIND=127.0.0.1:{listening + 1} make run" in line
    assert not database.exists()


def test_an_address_that_is_not_one_is_named():
    line = one_line(run_once(DOPLATFORM_BIND="localhost:http"))
    assert "DOPLATFORM_BIND=localhost:http is not an address: use host:port" in line


def test_an_unreachable_database_is_one_line_saying_what_to_fix():
    line = one_line(run_once(DATABASE_URL="postgres://postgres@127.0.0.1:1/doplatform"))
    assert line == (
        "doplatform: cannot reach the database at postgres://postgres@127.0.0.1:1/doplatform "
        "(Connection refused): start PostgreSQL there, or fix DATABASE_URL "
        "(unset, it is a SQLite file)"
    )


def test_a_sqlite_file_in_a_missing_folder_is_one_line(tmp_path):
    line = one_line(run_once(DATABASE_URL=f"sqlite:///{tmp_path}/missing/db.sqlite3"))
    assert "cannot open the SQLite database" in line
    assert "does its folder exist?" in line


def test_a_bad_setting_is_one_line_naming_its_variable():
    line = one_line(run_once(DOPLATFORM_WORKERS="two"))
    assert line == (
        "doplatform: the settings do not load: "
        'Environment variable "DOPLATFORM_WORKERS" invalid: Not a valid integer.'
    )


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_misnamed_database_says_how_to_create_it():
    url = subprocess_database_url().rsplit("/", 1)[0] + "/doplatform_no_such_db"
    line = one_line(run_once(DATABASE_URL=url))
    assert 'the database "doplatform_no_such_db" does not exist' in line
    assert re.search(r"create it \(createdb -h \S+ -p \d+ -U \w+ doplatform_no_such_db\)", line)


class MakeRun:
    """scripts/run.sh serving, in its own process group as under a terminal."""

    def __init__(self, database: Path):
        self.port = free_port()
        env = run_env(
            DATABASE_URL=f"sqlite:///{database}",
            DOPLATFORM_BIND=f"127.0.0.1:{self.port}",
            DOPLATFORM_WORKERS="1",
            PYTHONUNBUFFERED="1",
        )
        self.log = database.parent / "run.log"
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                [RUN_SH],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text()

    def serving(self) -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def worker_pid(self) -> int:
        found = re.search(r"runworker \S+:(\d+) started", self.output())
        return int(found.group(1)) if found else 0

    def stop(self, how: str) -> int:
        """Ctrl-C at a terminal (SIGINT to the whole group) or SIGTERM to the script."""
        if how == "ctrl-c":
            os.killpg(self.proc.pid, signal.SIGINT)
        else:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(60)  # a loaded machine stops a busy worker slowly

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def static_files_of_the_login_page(port: int) -> dict[str, int]:
    """The status of each file the login page loads (htmx, the dashboard's CSS and JS)."""
    page = urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=30).read().decode()
    statuses = {}
    for url in re.findall(r'(?:href|src)="(/static/[^"]+)"', page):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{url}", timeout=30) as response:
            statuses[url] = response.status
    return statuses


def serve_then_stop(database: Path, how: str) -> str:
    """Start make run, wait until it serves, stop it ``how``; its output."""
    run = MakeRun(database)
    try:
        wait_for(lambda: run.serving() and run.worker_pid(), timeout=60, what="make run")
        # WhiteNoise serves what collectstatic wrote, under hashed names, without DEBUG.
        files = static_files_of_the_login_page(run.port)
        assert len(files) == 3 and set(files.values()) == {200}, files
        assert all(re.search(r"\.[0-9a-f]{12}\.(css|js)$", url) for url in files), files
        worker = run.worker_pid()
        assert run.stop(how) == 0, run.output()
    finally:
        run.kill()
    assert not run.serving()
    wait_for(lambda: not alive(worker), timeout=10, what="the worker to exit")
    return run.output()


@pytest.mark.worker
@pytest.mark.once  # it brings its own SQLite database
def test_make_run_serves_until_ctrl_c_or_sigterm_and_ends_with_status_0(tmp_path):
    first = serve_then_stop(tmp_path / "db.sqlite3", "ctrl-c")
    for step in ("applying migrations", "collecting static files", "dashboard at", "stopped"):
        assert f"doplatform: {step}" in first
    second = serve_then_stop(tmp_path / "db.sqlite3", "sigterm")
    assert second.rstrip().endswith("doplatform: stopped")
    # The second start printed the same password: it was kept, not reset.
    printed = re.compile(r"demo superuser: admin / (\S+)")
    assert printed.search(first).group(1) == printed.search(second).group(1)
