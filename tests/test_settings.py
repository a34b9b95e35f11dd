"""The reference project's settings (doplatform/settings.py), read from the environment."""

import json
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT, subprocess_database_url

PRINT_SETTINGS = (
    "import django, json; django.setup(); from django.conf import settings; "
    "print(json.dumps({'apps': settings.INSTALLED_APPS, "
    "'database': str(settings.DATABASES['default']['NAME']), "
    "'workers': settings.Q_CLUSTER['workers']}))"
)


def reference_project(*args: str, **env: str) -> subprocess.CompletedProcess:
    inherited = {  # nothing of this test run's own settings (the browser tests set some)
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DOPLATFORM_", "DATABASE_URL", "REDIS_URL"))
    }
    environ = {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "doplatform.settings",
        "DOPLATFORM_DEV": "1",
        "DATABASE_URL": "",
        **env,
    }
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60
    )


def settings_with(**env: str) -> dict:
    done = reference_project("-c", PRINT_SETTINGS, **env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_bad_value_stops_start_up_naming_its_variable():
    done = reference_project("manage.py", "check", DOPLATFORM_WORKERS="two")
    assert done.returncode != 0
    last_line = done.stderr.strip().splitlines()[-1]
    assert 'Environment variable "DOPLATFORM_WORKERS" invalid' in last_line
    assert "Not a valid integer" in last_line


def test_a_bad_database_url_names_its_variable():
    done = reference_project("manage.py", "check", DATABASE_URL="postgress://db/doplatform")
    assert done.returncode != 0
    assert 'Environment variable "DATABASE_URL" invalid' in done.stderr


def test_extra_apps_come_from_the_environment():
    found = settings_with(DOPLATFORM_EXTRA_APPS=" tests.testapp, ", DOPLATFORM_WORKERS="3")
    assert found["apps"][-3:] == ["actions", "demo", "tests.testapp"]
    assert found["workers"] == 3


def test_an_empty_database_url_means_the_sqlite_file():
    found = settings_with(DATABASE_URL="")
    assert found["database"] == str(ROOT / "db.sqlite3")


def production_variables() -> dict[str, str]:
    """What the README's deployment exports, but the database and the secret key file."""
    block = (ROOT / "README.md").read_text().split("## Deployment with PostgreSQL", 1)[1]
    exports = block.split("export ", 1)[1].split("\npython", 1)[0]
    found = dict(re.findall(r"(DJANGO_\w+)=([^\s\\]+)", exports))
    found["DJANGO_SECRET_KEY"] = "k" + "0123456789abcdefghij" * 3  # 61 characters, varied
    return found


def test_check_deploy_reports_nothing_with_the_readmes_production_variables():
    done = reference_project(
        "manage.py", "check", "--deploy", DOPLATFORM_DEV="", **production_variables()
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "System check identified no issues (0 silenced).", done.stderr


def test_without_them_check_deploy_names_what_is_missing():
    done = reference_project(
        "manage.py", "check", "--deploy", DJANGO_SECRET_KEY="k" * 10 + "abcdefghij" * 5
    )
    for warning in ("W004", "W008", "W012", "W016"):
        assert f"security.{warning}" in done.stderr


@pytest.mark.parametrize(
    ("variable", "setting"),
    [
        ("X-Forwarded-Proto", ["HTTP_X_FORWARDED_PROTO", "https"]),
        ("X-Forwarded-Ssl: on", ["HTTP_X_FORWARDED_SSL", "on"]),
    ],
)
def test_the_proxys_header_comes_from_the_environment(variable, setting):
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.SECURE_PROXY_SSL_HEADER))"
    )
    done = reference_project("-c", code, DJANGO_SECURE_PROXY_SSL_HEADER=variable)
    assert json.loads(done.stdout) == setting, done.stderr


LOG_IN_BEHIND_THE_PROXY = """
import django, json, re
django.setup()
from django.contrib.auth.models import User
from django.test import Client

User.objects.create_user("ada", password="pw")  # hashed as the project hashes passwords

proxy = {"Host": "ops.example.com", "X-Forwarded-Proto": "https"}
client = Client(enforce_csrf_checks=True)
page = client.get("/login/", headers=proxy)
token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
answers = {}
for origin in ["https://ops.example.com", "https://evil.example", "http://ops.example.com"]:
    client.logout()
    client.cookies["csrftoken"] = page.cookies["csrftoken"].value
    answer = client.post(
        "/login/",
        {"username": "ada", "password": "pw", "csrfmiddlewaretoken": token},
        headers=proxy | {"Origin": origin, "Referer": "https://ops.example.com/login/"},
    )
    answers[origin] = [answer.status_code, answer.get("Location")]
plain = client.get("/login/", headers={"Host": "ops.example.com"})
print(json.dumps({
    "answers": answers,
    "plain": [plain.status_code, plain.get("Location")],
    "secure_cookie": bool(page.cookies["csrftoken"]["secure"]),
}))
"""


@pytest.mark.django_db(transaction=True)
def test_a_login_behind_a_tls_proxy_passes_the_origin_check(tmp_path):
    # The login page names its static files by the manifest collectstatic writes.
    production = production_variables() | {"DJANGO_STATIC_ROOT": str(tmp_path / "static")}
    collected = reference_project(
        "manage.py", "collectstatic", "--no-input", "-v0", DOPLATFORM_DEV="", **production
    )
    assert collected.returncode == 0, collected.stderr
    done = reference_project(
        "-c",
        LOG_IN_BEHIND_THE_PROXY,
        DOPLATFORM_DEV="",
        DATABASE_URL=subprocess_database_url(),
        **production,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["answers"] == {
        "https://ops.example.com": [302, "/"],
        "https://evil.example": [403, None],
        "http://ops.example.com": [403, None],
    }
    assert found["plain"] == [301, "https://ops.example.com/login/"]
    assert found["secure_cookie"] is True


def test_the_old_persistent_connection_setting_stops_start_up_naming_the_pool():
    done = reference_project("manage.py", "check", DJANGO_CONN_MAX_AGE="600")
    assert done.returncode != 0
    assert "DJANGO_DB_POOL_MAX_SIZE" in done.stderr.strip().splitlines()[-1]


def test_postgresql_connections_come_from_a_bounded_pool():
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        "db = settings.DATABASES['default']; print(json.dumps([db['CONN_MAX_AGE'], "
        "db['OPTIONS'].get('pool')]))"
    )
    url = "postgres://u@db.example.com:5432/ops"
    done = reference_project("-c", code, DATABASE_URL=url, DJANGO_DB_POOL_MAX_SIZE="8")
    assert json.loads(done.stdout) == [0, {"min_size": 0, "max_size": 8, "timeout": 5.0}]
    done = reference_project("-c", code, DATABASE_URL=url, DJANGO_DB_POOL_MAX_SIZE="0")
    assert json.loads(done.stdout) == [0, None]  # off: a connection per request
