"""A throwaway PostgreSQL cluster and doplatform's processes around it, for the chaos suite."""

import glob
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThrowawayPostgres:
    """initdb + pg_ctl from the OS's binaries, on a port of its own; restartable at will."""

    def __init__(self, workdir: Path):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
        if not bins or not Path(bins[-1], "initdb").exists():
            raise FileNotFoundError("no PostgreSQL binaries under /usr/lib/postgresql")
        self.bin = Path(bins[-1])
        self.dir = workdir
        self.port = free_port()
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run(
            [*self.as_postgres, str(self.bin / args[0]), *args[1:]], check=True, capture_output=True
        )

    def init(self) -> "ThrowawayPostgres":
        if self.as_postgres:
            shutil.chown(self.dir, "postgres")
        self._run("initdb", "-D", f"{self.dir}/data", "-U", "postgres", "--auth=trust")
        return self.start()

    def start(self) -> "ThrowawayPostgres":
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off -c max_connections=300"
        self._run(
            "pg_ctl",
            "-D",
            f"{self.dir}/data",
            "-l",
            f"{self.dir}/log",
            "-w",
            "-o",
            options,
            "start",
        )
        return self

    def stop(self) -> None:
        self._run("pg_ctl", "-D", f"{self.dir}/data", "-m", "fast", "-w", "stop")


def manage(env: dict, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        **kwargs,
    )


def start_manage(env: dict, log: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def http(method: str, url: str, token: str, body: dict | None = None, headers: dict | None = None):
    """(status, json body, headers) of one request; never raises for an HTTP status."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={
            "Authorization": f"Token {token}",
            "Content-Type": "application/json",
            **(headers or {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null"), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null"), dict(error.headers)


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return  # the server answers
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def group_members(pgid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split() if int(pid) != pgid]


@dataclass
class Havoc:
    kills: int = 0
    restarts: int = 0


def kill_workers_at_random(
    workers: list,
    restart: Callable[[], object],
    *,
    rng: random.Random,
    keep_going: Callable[[], bool],
) -> Havoc:
    """SIGKILL a worker every 1.5-3 s while ``keep_going()`` holds, then restart what exited.

    ``workers`` are ``tests.conftest.WorkerProcess`` objects, replaced in place. A victim is
    either a whole group (the machine dies: parent and its django-q2 processes; restarted
    as a supervisor would) or, once a whole group has died, as often one django-q2 process.
    """
    havoc = Havoc()
    parent_killed = False
    while keep_going():
        time.sleep(rng.uniform(1.5, 3))  # the chaos itself: nothing to await here
        victim = rng.randrange(len(workers))
        members = group_members(workers[victim].pid)
        if not parent_killed or rng.random() < 0.5 or not members:
            workers[victim].kill()
            parent_killed = True
            workers[victim] = restart()
            havoc.restarts += 1
        else:
            os.kill(rng.choice(members), signal.SIGKILL)
        havoc.kills += 1
    for i, worker in enumerate(workers):
        if worker.proc.poll() is not None:  # it exited when its cluster died: a supervisor's job
            workers[i] = restart()
    return havoc


def start_gunicorn(env: dict, log: Path, port: int, *, workers: int, threads: int):
    """The production server, as the README starts it, on 127.0.0.1:``port``."""
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "doplatform.wsgi",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--bind",
            f"127.0.0.1:{port}",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def send_raw(
    url, method: str, path: str, headers: dict, body: bytes = b"", announced: int | None = None
) -> tuple[int, bytes]:
    """One request over a raw socket, half-closed once ``body`` is sent: with ``announced``
    longer than the body, a client gone early. Returns the status and the response body."""
    length = len(body) if announced is None else announced
    headers = {"Host": f"{url.hostname}:{url.port}"} | headers
    lines = [f"{method} {path} HTTP/1.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += [f"Content-Length: {length}", "Connection: close", "", ""]
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall("\r\n".join(lines).encode("latin-1") + body)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, payload = answer.partition(b"\r\n\r\n")
    return int(head.split(b"\r\n", 1)[0].split()[1]), payload


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux: from /proc), children first."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found
