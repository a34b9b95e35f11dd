"""The wheel: what it ships, and that it works in a new Django project set up as the README says.

The install test builds the wheel, installs it into a fresh virtualenv, makes a project
with ``django-admin startproject``, adds the README's settings and URLs and a small app
of actions, migrates (PostgreSQL), starts ``runworker``, submits a run with ``--wait``
and opens the dashboard.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from tests.conftest import ROOT

HOST_ACTIONS = """
from actions import ActionError, action


@action(
    "say-hello",
    inputs_schema={"type": "object", "required": ["name"]},
    max_attempts=2,
    backoff_base=1,
)
def say_hello(inputs, ctx):
    if inputs.get("fail_first") and ctx.attempt == 1:
        raise ActionError("not_yet", "the first attempt fails on purpose", retryable=True)
    return {"greeting": f"Hello, {inputs['name']}!", "attempt": ctx.attempt}
"""

# Run from the host project with ``manage.py shell -c``: the pages a host user would open.
HOST_PAGES = """
import json
from django.contrib.auth import get_user_model
from django.test import Client
from actions.models import Run

client = Client()
client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw"))
run = Run.objects.get()
pages = ["/ops/", "/ops/runs/", f"/ops/runs/{run.pk}/", f"/api/runs/{run.pk}/", "/api/nowhere/"]
answers = {page: client.get(page) for page in pages}
print(json.dumps({
    "status": {page: answer.status_code for page, answer in answers.items()},
    "api_run": answers[f"/api/runs/{run.pk}/"].json(),
    "api_404": answers["/api/nowhere/"].json(),
    "admin": client.get("/admin/").content.decode(),
}))
"""


def uv(*args: str | Path, cwd: Path = ROOT) -> str:
    """uv from the dev dependencies (next to this Python), else the one make's scripts found."""
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    command = [found] if found else [sys._base_executable, "-m", "uv"]
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "VIRTUAL_ENV": ""}
    done = subprocess.run(
        [*command, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"uv {args[0]}: {done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    uv("build", "--wheel", "--out-dir", out)
    [built] = out.glob("doplatform-*-py3-none-any.whl")
    return built


def test_the_wheel_ships_the_app_and_not_the_reference_project(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA")))
    for shipped in [
        "actions/templates/actions/base.html",
        "actions/templates/admin/actions/run/resolve.html",
        "actions/static/actions/dashboard.js",
        "actions/migrations/0001_initial.py",
        "actions/management/commands/runworker.py",
        "actions/templatetags/dashboard.py",
        "actions/conf.py",
    ]:
        assert shipped in names
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    top = {name.split("/")[0] for name in names}
    assert top == {"actions", wheel.name.split("-py3")[0] + ".dist-info"}
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    assert b"License-Expression: BSD-3-Clause" in metadata
    assert b"Provides-Extra: postgres" in metadata


def readme_block(first_line: str) -> str:
    """The README's python block that starts with ``first_line``, in "Add doplatform…"."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Add doplatform to your project", 1)[1].split("\n## ", 1)[0]
    for block in re.findall(r"```python\n(.*?)```", section, re.DOTALL):
        if block.startswith(first_line):
            return block
    raise AssertionError(f"no python block starting {first_line!r} in the README's section")


@pytest.fixture
def host_database() -> Iterator[dict]:
    """A new PostgreSQL database for the host project, dropped afterwards."""
    params = connection.settings_dict
    found = {
        "HOST": params.get("HOST") or "127.0.0.1",
        "PORT": str(params.get("PORT") or 5432),
        "USER": params.get("USER") or "postgres",
        "PASSWORD": params.get("PASSWORD") or "",
        "NAME": f"doplatform_host_{uuid.uuid4().hex[:12]}",
    }
    admin = psycopg.connect(
        host=found["HOST"],
        port=found["PORT"],
        user=found["USER"],
        password=found["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    with admin:
        admin.execute(f'CREATE DATABASE "{found["NAME"]}"')
        try:
            yield found
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{found["NAME"]}" WITH (FORCE)')


def make_host_project(venv: Path, site: Path, database: dict) -> None:
    python = str(venv / "bin" / "python")
    run(
        [str(venv / "bin" / "django-admin"), "startproject", "hostsite", str(site)], cwd=site.parent
    )
    run([python, "manage.py", "startapp", "shop"], cwd=site)
    (site / "shop" / "actions.py").write_text(HOST_ACTIONS)
    settings = site / "hostsite" / "settings.py"
    settings.write_text(
        settings.read_text()
        + "\n"
        + readme_block("# settings.py")
        + textwrap.dedent(
            f"""
            INSTALLED_APPS += ["shop"]
            ALLOWED_HOSTS = ["testserver", "localhost"]
            DATABASES = {{
                "default": {{
                    "ENGINE": "django.db.backends.postgresql",
                    "CONN_MAX_AGE": 600,
                    "CONN_HEALTH_CHECKS": True,
                    **{database!r},
                }}
            }}
            """
        )
    )
    (site / "hostsite" / "urls.py").write_text(readme_block("# urls.py"))


def run(command: list[str], cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, **kwargs)
    assert done.returncode == 0, f"{' '.join(command[1:])}:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.mark.postgres
@pytest.mark.worker
def test_the_wheel_installs_into_a_new_django_project_and_runs_an_action(
    wheel, tmp_path, host_database
):
    venv = tmp_path / "venv"
    uv("venv", "--python", sys._base_executable, venv)
    # The locked versions, so the install comes from uv's cache.
    constraints = tmp_path / "constraints.txt"
    uv(
        "export", "--frozen", "--no-default-groups", "--extra", "postgres",
        "--no-emit-project", "--no-hashes", "--quiet", "--output-file", constraints,
    )  # fmt: skip
    uv(
        "pip", "install", "--python", venv / "bin" / "python",
        "--constraint", constraints, f"{wheel}[postgres]",
    )  # fmt: skip
    site = tmp_path / "hostsite"
    site.mkdir()
    make_host_project(venv, site, host_database)
    python = str(venv / "bin" / "python")
    clean_env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DOPLATFORM_", "DATABASE_URL", "REDIS_URL"))
    }
    clean_env |= {"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}

    def manage(*args: str) -> subprocess.CompletedProcess:
        return run([python, "manage.py", *args], cwd=site, env=clean_env)

    manage("migrate", "--no-input", "-v0")
    assert "say-hello" in manage("help", "submit").stdout
    assert manage("findstatic", "actions/dashboard.css").returncode == 0

    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [python, "manage.py", "runworker", "--workers", "1"],
        cwd=site,
        env=clean_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        done = manage(
            "submit", "say-hello", "--inputs", '{"name": "Ada", "fail_first": true}',
            "--wait", "--timeout", "30",
        )  # fmt: skip
        ran = json.loads(done.stdout)
        assert ran["status"] == "succeeded", (tmp_path / "worker.log").read_text()
        assert ran["result"] == {"greeting": "Hello, Ada!", "attempt": 2}
        assert [a["outcome"] for a in ran["attempts"]] == ["failed", "succeeded"]
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0, (tmp_path / "worker.log").read_text()
        log.close()

    pages = json.loads(manage("shell", "--verbosity", "0", "--command", HOST_PAGES).stdout)
    not_ok = {page: status for page, status in pages["status"].items() if status != 200}
    assert not_ok == {"/api/nowhere/": 404}
    assert pages["api_run"]["status"] == "succeeded"
    assert pages["api_404"]["error"] == "not_found"
    assert "Failed tasks" not in pages["admin"]
