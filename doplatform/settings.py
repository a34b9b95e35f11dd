"""Settings for doplatform, read from the environment.

Every knob has a safe default so that a fresh checkout runs on SQLite with no
configuration; production sets ``DATABASE_URL`` (PostgreSQL) and a secret key.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: str = "false") -> bool:
    return os.getenv(name, default).strip().lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: int) -> int:
    return int(os.getenv(name, str(default)))


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.getenv(name, default).split(",") if item.strip()]


DEBUG = envbool("DJANGO_DEBUG")
SECRET_KEY = os.getenv("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    # A known key lets anyone forge a session: only for development (make run, make test).
    if not (DEBUG or envbool("DOPLATFORM_DEV")):
        raise ImproperlyConfigured("set DJANGO_SECRET_KEY (or DOPLATFORM_DEV=1 on a laptop)")
    SECRET_KEY = "django-insecure-doplatform-development-key-never-use-in-production"
ALLOWED_HOSTS = envlist("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_q",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "actions",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Under /api/: refuses an oversized body before anything reads it; 503 when the DB is down.
    "actions.middleware.ApiGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "doplatform.urls"
WSGI_APPLICATION = "doplatform.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "doplatform" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: PostgreSQL in production, a SQLite file in WAL mode by default.
DATABASES = {
    "default": dj_database_url.parse(
        os.getenv("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=envint("DJANGO_CONN_MAX_AGE", 600),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A persistent connection is pointless for SQLite, and WAL plus IMMEDIATE
    # transactions let the web server and the workers write without "database is locked".
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=wal; PRAGMA synchronous=normal;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "actions:overview"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# Operators must never lose a click to an idle cookie: two weeks, refreshed on use.
SESSION_COOKIE_AGE = envint("DJANGO_SESSION_COOKIE_AGE", 14 * 24 * 3600)
SESSION_SAVE_EVERY_REQUEST = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.getenv("DJANGO_LOG_LEVEL", "WARNING")},
    "loggers": {
        "actions": {"level": os.getenv("DOPLATFORM_LOG_LEVEL", "INFO")},
        "django-q": {"level": os.getenv("DJANGO_Q_LOG_LEVEL", "WARNING")},
    },
}

# --- doplatform ---------------------------------------------------------------

DOPLATFORM_IDEMPOTENCY_TTL = envint("DOPLATFORM_IDEMPOTENCY_TTL", 24 * 3600)
DOPLATFORM_RUN_RETENTION = max(
    envint("DOPLATFORM_RUN_RETENTION", 30 * 24 * 3600), DOPLATFORM_IDEMPOTENCY_TTL
)
DOPLATFORM_MAX_INPUT_BYTES = envint("DOPLATFORM_MAX_INPUT_BYTES", 256 * 1024)
DOPLATFORM_MAX_INPUT_DEPTH = envint("DOPLATFORM_MAX_INPUT_DEPTH", 32)
DOPLATFORM_LEASE_GRACE = envint("DOPLATFORM_LEASE_GRACE", 10)
DOPLATFORM_BACKOFF_JITTER = envbool("DOPLATFORM_BACKOFF_JITTER", "true")
DOPLATFORM_REENQUEUE_AFTER = envint("DOPLATFORM_REENQUEUE_AFTER", 60)
DOPLATFORM_DISPATCH_INTERVAL = float(os.getenv("DOPLATFORM_DISPATCH_INTERVAL", "0.5"))
DOPLATFORM_PRUNE_INTERVAL = envint("DOPLATFORM_PRUNE_INTERVAL", 3600)
DOPLATFORM_HEARTBEAT_INTERVAL = envint("DOPLATFORM_HEARTBEAT_INTERVAL", 5)
DOPLATFORM_REQUIRE_IDEMPOTENCY_KEY = envbool("DOPLATFORM_REQUIRE_IDEMPOTENCY_KEY")

# --- django-q2: an engine behind actions/queue.py, configured around its traps ------
#
# Retries, attempt counting and results are doplatform's, so django-q2 tries each
# task once, acknowledges failures and keeps no copy of results. ``retry`` (when the
# ORM broker redelivers an unacknowledged task) must exceed the longest task timeout:
# runworker refuses to start otherwise.
REDIS_URL = os.getenv("REDIS_URL", "")
Q_CLUSTER = {
    "name": os.getenv("DOPLATFORM_QUEUE_NAME", "doplatform"),
    "workers": envint("DOPLATFORM_WORKERS", 2),
    "timeout": 1800,  # tasks of ours carry their own (the action's timeout + grace / 2)
    "retry": envint("DOPLATFORM_TASK_RETRY", 1900),
    "max_attempts": 1,
    "ack_failures": True,
    "save_limit": -1,
    "catch_up": False,
    "poll": float(os.getenv("DOPLATFORM_POLL", "0.02")),
    "bulk": envint("DOPLATFORM_BULK", 10),
    "guard_cycle": 0.5,
    "daemonize_workers": False,
    "label": "Task queue",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
    # The dashboard's cached aggregates, shared by every web process.
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    Q_CLUSTER["orm"] = "default"

# --- REST framework -------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "actions.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "doplatform API",
    "DESCRIPTION": "Submit atomic actions with idempotency keys, read runs, operate on them.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "RunStatusEnum": "actions.models.RunStatus",
        "AttemptOutcomeEnum": "actions.models.AttemptOutcome",
        "EventKindEnum": "actions.models.EventKind",
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
