"""The reference project's settings (doplatform/settings.py), read from the environment."""

import json
import os
import subprocess
import sys

from tests.conftest import ROOT

PRINT_SETTINGS = (
    "import django, json; django.setup(); from django.conf import settings; "
    "print(json.dumps({'apps': settings.INSTALLED_APPS, "
    "'database': str(settings.DATABASES['default']['NAME']), "
    "'workers': settings.Q_CLUSTER['workers']}))"
)


def reference_project(*args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {
        **os.environ,
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
