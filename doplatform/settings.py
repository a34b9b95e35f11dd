"""Settings for doplatform's reference project, read from the environment.

Every knob has a safe default so that a fresh checkout runs on SQLite with no
configuration; production sets ``DATABASE_URL`` (PostgreSQL) and a secret key. A bad
value stops start-up with an error that names its variable (environs).
"""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from environs import Env

from actions.conf import content_security_policy, q_cluster, rest_framework, spectacular

BASE_DIR = Path(__file__).resolve().parent.parent

env = Env()


def envlist(name: str, default: str = "") -> list[str]:
    """A comma-separated list; blanks around and between commas are ignored."""
    return [item.strip() for item in env.str(name, default).split(",") if item.strip()]


def env_database(name: str, default: str, **options) -> dict:
    """``name`` as a database URL (a bad one is named); unset or empty means ``default``."""
    if not env.str(name, ""):
        return dj_database_url.parse(default, **options)
    return env.dj_db_url(name, **options)


DEBUG = env.bool("DJANGO_DEBUG", False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    # A known key lets anyone forge a session: only for development (make run, make test).
    if not (DEBUG or env.bool("DOPLATFORM_DEV", False)):
        raise ImproperlyConfigured("set DJANGO_SECRET_KEY (or DOPLATFORM_DEV=1 on a laptop)")
    SECRET_KEY = "django-insecure-doplatform-development-key-never-use-in-production"
ALLOWED_HOSTS = envlist("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # WhiteNoise serves static files under runserver too, as in production.
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_q",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "actions",
    "demo",
    # Your own apps, without editing this file: DOPLATFORM_EXTRA_APPS=billing,shipping
    *envlist("DOPLATFORM_EXTRA_APPS"),
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files (hashed, compressed) straight from STATIC_ROOT, before anything else.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
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
if env.str("DJANGO_CONN_MAX_AGE", ""):
    raise ImproperlyConfigured(
        "DJANGO_CONN_MAX_AGE is gone: PostgreSQL connections come from a bounded pool, "
        "sized by DJANGO_DB_POOL_MAX_SIZE (README, Configuration)"
    )
DATABASES = {
    "default": env_database(
        "DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}", conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL plus IMMEDIATE transactions let the web server and the workers write without
    # "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=wal; PRAGMA synchronous=normal;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
elif (pool_size := env.int("DJANGO_DB_POOL_MAX_SIZE", 4)) > 0:
    # Each process keeps at most this many connections, which its threads share (a request
    # returns its connection when it ends); a thread that finds none free (or none at all:
    # the server is down) waits up to the timeout, then answers 503. runworker's processes
    # each open their own after forking (actions/queue.py).
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DJANGO_DB_POOL_MIN_SIZE", 0),
        "max_size": pool_size,
        "timeout": env.float("DJANGO_DB_POOL_TIMEOUT", 5),
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
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # collectstatic writes hashed names (cached for ever) and gzip copies; WhiteNoise serves them.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- HTTPS, directly or behind a TLS-terminating proxy (README, "Deployment") ----------
# The proxy's header that says the client used HTTPS: "X-Forwarded-Proto" (its value must
# be "https") or "Name: value". Trust it only if the proxy sets it on every request.
if proxy_header := env.str("DJANGO_SECURE_PROXY_SSL_HEADER", ""):
    name, _, value = proxy_header.partition(":")
    SECURE_PROXY_SSL_HEADER = (
        "HTTP_" + name.strip().upper().replace("-", "_"),
        value.strip() or "https",
    )
# Origins allowed to POST besides the site's own (a proxy that changes the host or port).
CSRF_TRUSTED_ORIGINS = envlist("DJANGO_CSRF_TRUSTED_ORIGINS")
# Served over HTTPS only: redirect http:// (but /healthz, for load balancers), secure cookies.
HTTPS = env.bool("DJANGO_HTTPS", False)
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env.bool("DJANGO_SESSION_COOKIE_SECURE", HTTPS)
CSRF_COOKIE_SECURE = env.bool("DJANGO_CSRF_COOKIE_SECURE", HTTPS)
# HSTS is a promise browsers keep for its whole duration: set it once HTTPS works.
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", False)
# Only the site's own scripts and styles, nothing inline, no eval (actions/conf.py).
SECURE_CSP = content_security_policy()

# Operators must never lose a click to an idle cookie: two weeks, refreshed on use.
SESSION_COOKIE_AGE = env.int("DJANGO_SESSION_COOKIE_AGE", 14 * 24 * 3600)
SESSION_SAVE_EVERY_REQUEST = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.log_level("DJANGO_LOG_LEVEL", "WARNING")},
    "loggers": {
        "actions": {"level": env.log_level("DOPLATFORM_LOG_LEVEL", "INFO")},
        "django-q": {"level": env.log_level("DJANGO_Q_LOG_LEVEL", "WARNING")},
    },
}

# --- doplatform (defaults and meanings in actions/conf.py) -------------------------

DOPLATFORM_IDEMPOTENCY_TTL = env.int("DOPLATFORM_IDEMPOTENCY_TTL", 24 * 3600)
DOPLATFORM_RUN_RETENTION = env.int("DOPLATFORM_RUN_RETENTION", 30 * 24 * 3600)
DOPLATFORM_MAX_INPUT_BYTES = env.int("DOPLATFORM_MAX_INPUT_BYTES", 256 * 1024)
DOPLATFORM_MAX_INPUT_DEPTH = env.int("DOPLATFORM_MAX_INPUT_DEPTH", 32)
DOPLATFORM_LEASE_GRACE = env.int("DOPLATFORM_LEASE_GRACE", 10)
DOPLATFORM_BACKOFF_JITTER = env.bool("DOPLATFORM_BACKOFF_JITTER", True)
DOPLATFORM_REENQUEUE_AFTER = env.int("DOPLATFORM_REENQUEUE_AFTER", 60)
DOPLATFORM_DISPATCH_INTERVAL = env.float("DOPLATFORM_DISPATCH_INTERVAL", 0.5)
DOPLATFORM_PRUNE_INTERVAL = env.int("DOPLATFORM_PRUNE_INTERVAL", 3600)
DOPLATFORM_HEARTBEAT_INTERVAL = env.int("DOPLATFORM_HEARTBEAT_INTERVAL", 5)
DOPLATFORM_REQUIRE_IDEMPOTENCY_KEY = env.bool("DOPLATFORM_REQUIRE_IDEMPOTENCY_KEY", False)
DOPLATFORM_WATCHDOG_SECONDS = env.float("DOPLATFORM_WATCHDOG_SECONDS", 60)

# --- django-q2: an engine behind actions/queue.py, configured around its traps ------
REDIS_URL = env.str("REDIS_URL", "")
Q_CLUSTER = q_cluster(
    workers=env.int("DOPLATFORM_WORKERS", 2),
    redis_url=REDIS_URL,
    name=env.str("DOPLATFORM_QUEUE_NAME", "doplatform"),
    task_retry=env.int("DOPLATFORM_TASK_RETRY", 1900),
    poll=env.float("DOPLATFORM_POLL", 0.02),
    bulk=env.int("DOPLATFORM_BULK", 10),
)
if REDIS_URL:
    # The dashboard's cached aggregates, shared by every web process.
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }

# --- REST framework and its OpenAPI schema ----------------------------------------
REST_FRAMEWORK = rest_framework()
SPECTACULAR_SETTINGS = spectacular()
