"""The README's deployment, run as written: then used as a browser behind a TLS proxy would.

The README's block runs in a copy of this checkout (its own ``.venv`` from ``uv sync``)
with three values of ours: a new database, a secret key file and a free port. The test
then plays the proxy in front of gunicorn (``Host: ops.example.com``, ``X-Forwarded-Proto:
https``): it logs in with an https ``Origin``, loads the dashboard and the API docs and
every file they use, submits a run the README's worker executes, and checks what a
production server must refuse.
"""

import contextlib
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import psycopg
import pytest
from django.db import connection

from tests.chaos.servers import descendants, free_port, send_raw
from tests.conftest import ROOT, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.worker]

HOST = "ops.example.com"
PROXY = {"Host": HOST, "X-Forwarded-Proto": "https"}


def readme_deployment() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Deployment with PostgreSQL", 1)[1].split("\n## ", 1)[0]
    [block] = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    return block


@pytest.fixture
def database() -> Iterator[str]:
    """A new, empty PostgreSQL database on the test server; its URL."""
    params = connection.settings_dict
    host, port = params.get("HOST") or "127.0.0.1", params.get("PORT") or 5432
    user, password = params.get("USER") or "postgres", params.get("PASSWORD") or ""
    name = f"doplatform_deploy_{uuid.uuid4().hex[:12]}"
    admin = psycopg.connect(
        host=host, port=port, user=user, password=password or None, dbname="postgres"
    )
    admin.autocommit = True
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgres://{user}{':' + password if password else ''}@{host}:{port}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Deployment:
    """The README's block, running in a copy of the checkout."""

    def __init__(self, tmp_path: Path, database_url: str):
        self.dir = tmp_path / "doplatform"
        files = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.split(b"\0")
        for name in filter(None, (f.decode() for f in files)):
            if (ROOT / name).is_file():
                (self.dir / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / name, self.dir / name)
        key_file = tmp_path / "secret-key"
        key_file.write_text(secrets.token_urlsafe(50) + "\n")
        self.port = free_port()
        script = readme_deployment()
        for old, new in [
            (r"DATABASE_URL=\S+", f"DATABASE_URL={database_url}"),
            (r"/etc/doplatform/secret-key", str(key_file)),
            (r"--bind 0\.0\.0\.0:8000", f"--bind 127.0.0.1:{self.port}"),
        ]:
            script, found = re.subn(old, new, script)
            assert found == 1, f"the README's block no longer has {old}"
        (self.dir / "deploy.sh").write_text("set -euo pipefail\n" + script)
        self.log = tmp_path / "deploy.log"
        # Only the environment a new shell has: nothing of this test run's settings.
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(
                ("DJANGO_", "DOPLATFORM_", "DATABASE_URL", "REDIS_URL", "VIRTUAL_ENV")
            )
        }
        uv_dir = str(Path(shutil.which("uv") or sys.executable).parent)
        self.env = env | {
            "PATH": f"{uv_dir}:{env['PATH']}",
            "UV_PYTHON": sys._base_executable,  # the interpreter make test found
            "UV_PYTHON_DOWNLOADS": "never",
            "PYTHONUNBUFFERED": "1",
        }
        self.proc = subprocess.Popen(
            ["bash", "deploy.sh"],
            cwd=self.dir,
            env=self.env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def serving(self) -> bool:
        assert self.proc.poll() is None, f"the README's block stopped:\n{self.output()}"
        with contextlib.suppress(OSError):
            # Plain http, as a load balancer checks: exempt from the https redirect.
            return request(self.port, "GET", "/healthz", {"Host": HOST})[0] == 200
        return False

    def manage(self, *args: str, **env: str) -> str:
        environ = self.env | dict(self.exported()) | env
        done = subprocess.run(
            [str(self.dir / ".venv" / "bin" / "python"), "manage.py", *args],
            cwd=self.dir,
            env=environ,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def exported(self) -> Iterator[tuple[str, str]]:
        """The variables the block exports, as its shell saw them."""
        script = (self.dir / "deploy.sh").read_text()
        exports = script.split("export ", 1)[1].split("\npython", 1)[0]
        printed = subprocess.run(
            ["bash", "-c", f"export {exports}\nenv -0"],
            env={"PATH": self.env["PATH"]},
            capture_output=True,
            check=True,
        ).stdout.decode()
        for line in filter(None, printed.split("\0")):
            name, _, value = line.partition("=")
            if name.startswith(("DJANGO_", "DATABASE_URL")):
                yield name, value

    def stop(self) -> None:
        """Kill the block's processes: its shell's group, and runworker's own group."""
        groups = {self.proc.pid}
        for pid in descendants(self.proc.pid):
            with contextlib.suppress(ProcessLookupError):
                groups.add(os.getpgid(pid))
        for group in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
        self.proc.wait(10)


def request(
    port: int, method: str, path: str, headers: dict | None = None, body: bytes | None = None
) -> tuple[int, dict[str, str], bytes, list[str]]:
    """(status, headers, body, Set-Cookie lines) of one request to 127.0.0.1:``port``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return (
            response.status,
            {name.lower(): value for name, value in response.getheaders()},
            response.read(),
            response.headers.get_all("Set-Cookie") or [],
        )
    finally:
        conn.close()


def cookies_of(set_cookie: list[str]) -> dict[str, str]:
    jar = SimpleCookie()
    for line in set_cookie:
        jar.load(line)
    return {name: morsel.value for name, morsel in jar.items()}


def assets(html: str) -> list[str]:
    """Every same-site file a page loads: stylesheets, scripts, icons, images."""
    found = re.findall(r'<(?:link|script|img)\b[^>]*?\b(?:href|src)="([^"]+)"', html)
    return sorted({url.replace("&amp;", "&") for url in found if url.startswith("/")})


@pytest.fixture
def deployment(tmp_path, database) -> Iterator[Deployment]:
    deployed = Deployment(tmp_path, database)
    try:
        try:
            wait_for(deployed.serving, timeout=180, interval=0.5, what="the deployment")
        except pytest.fail.Exception:
            pytest.fail(f"the README's deployment did not serve:\n{deployed.output()}")
        yield deployed
    finally:
        deployed.stop()


def test_the_readmes_deployment_works_as_written_behind_a_tls_proxy(deployment, capsys):
    port = deployment.port
    output = deployment.output()
    assert "System check identified no issues (0 silenced)." in output, output
    deployment.manage(
        "createsuperuser", "--no-input", "--username", "ada", "--email", "ada@example.com",
        DJANGO_SUPERUSER_PASSWORD="correct horse battery staple",
    )  # fmt: skip

    # Plain http is sent to https, but for the load balancer's health check.
    status, headers, _, _ = request(port, "GET", "/login/", {"Host": HOST})
    assert (status, headers["location"]) == (301, f"https://{HOST}/login/")

    # The login page through the proxy: secure cookies, HSTS, the policy.
    status, headers, body, set_cookie = request(port, "GET", "/login/", PROXY)
    assert status == 200
    assert "max-age=31536000; includeSubDomains; preload" in headers["strict-transport-security"]
    assert "script-src 'self'" in headers["content-security-policy"]
    assert all("Secure" in line for line in set_cookie)
    csrf = cookies_of(set_cookie)["csrftoken"]
    form = urlencode(
        {
            "csrfmiddlewaretoken": re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
            .group(1)
            .decode(),
            "username": "ada",
            "password": "correct horse battery staple",
        }
    ).encode()
    post = PROXY | {
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": f"csrftoken={csrf}",
        "Referer": f"https://{HOST}/login/",
    }
    # Another origin is refused; the site's own https origin logs in.
    status, *_ = request(port, "POST", "/login/", post | {"Origin": "https://evil.example"}, form)
    assert status == 403
    status, headers, _, set_cookie = request(
        port, "POST", "/login/", post | {"Origin": f"https://{HOST}"}, form
    )
    assert (status, headers["location"]) == (302, "/")
    session = cookies_of(set_cookie)["sessionid"]
    assert all("Secure" in line for line in set_cookie)
    signed_in = PROXY | {"Cookie": f"sessionid={session}", "Accept-Encoding": "gzip"}

    # The dashboard and the API docs, and every file each one loads.
    checked = []
    for page in ["/", "/api/docs/"]:
        status, headers, body, _ = request(port, "GET", page, signed_in)
        assert status == 200, page
        files = assets(body.decode())
        assert files, page
        for url in files:
            status, file_headers, content, _ = request(port, "GET", url, signed_in)
            assert status == 200, url
            assert content, url
            if url.startswith("/static/"):
                # Hashed names, cached for ever, compressed.
                assert re.search(r"\.[0-9a-f]{12}\.\w+$", url), url
                assert "immutable" in file_headers["cache-control"], url
                if url.endswith((".js", ".css")):
                    assert file_headers.get("content-encoding") == "gzip", url
            checked.append(url)
    assert any("htmx" in url for url in checked)
    assert any("swagger-ui-bundle" in url for url in checked)
    assert any("script=" in url for url in checked)  # the docs' start-up script, not inline

    # The README's worker runs what the API accepts.
    token = deployment.manage("createserviceaccount", "deploy", "--role", "operator").strip()
    api = PROXY | {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    status, _, body, _ = request(
        port,
        "POST",
        "/api/actions/send-welcome-email/runs/",
        api,
        json.dumps({"inputs": {"email": "ada@example.com", "name": "Ada"}}).encode(),
    )
    assert status == 202, body
    run = json.loads(body)["id"]

    def succeeded() -> bool:
        return json.loads(request(port, "GET", f"/api/runs/{run}/", api)[2])["status"] == (
            "succeeded"
        )

    wait_for(succeeded, timeout=60, what="the README's worker to run the run")

    # A client that half-closes early: gunicorn hands over the short body; it is refused.
    url = urlsplit(f"http://127.0.0.1:{port}")
    headers = api | {"Host": HOST}
    status, body = send_raw(url, "POST", "/api/actions/send-welcome-email/runs/", headers,
                            b'{"inputs": {"email": "b@example.com"}}', announced=80)  # fmt: skip
    assert status == 400, body
    assert json.loads(body)["error"] == "invalid_body"

    with capsys.disabled():
        print(
            f"\ndeployment: README block ran as written (check --deploy: no issues); "
            f"login over https origin 302, other origin 403; {len(checked)} files of / and "
            "/api/docs/ answered 200 (hashed, immutable, gzip); a run succeeded"
        )
