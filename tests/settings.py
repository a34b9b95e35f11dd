"""Test settings: the project's, plus an app of test-only actions the workers load too."""

import os

os.environ.setdefault("DOPLATFORM_DEV", "1")  # before the project's settings read it

from doplatform.settings import *  # noqa: E402, F403
from doplatform.settings import DATABASES, INSTALLED_APPS, STORAGES  # noqa: E402

INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]
# Templates name static files without the hashes only collectstatic knows, and WhiteNoise
# serves them from the apps (nothing is collected for tests).
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DOPLATFORM_BACKOFF_JITTER = False

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so that worker subprocesses see the test database.
    DATABASES["default"]["TEST"] = {"NAME": f"{DATABASES['default']['NAME']}-test"}
