"""doplatform's settings, with their defaults, and the engine and REST framework settings
it needs from a project (``q_cluster()``, ``rest_framework()``, ``spectacular()``).

A project sets only the ``DOPLATFORM_*`` names it changes (the reference project reads
them from the environment). The app reads them through ``app_settings``, never as
``settings.DOPLATFORM_…``, so a project that sets none still works; every read goes to
Django's settings, so ``override_settings`` applies in tests.
"""

from typing import Any

from django.conf import settings
from django.utils.csp import CSP


class Setting[T]:
    """``DOPLATFORM_<name>`` from Django's settings, else ``default``."""

    def __init__(self, default: T) -> None:
        self.default = default

    def __set_name__(self, owner: type, name: str) -> None:
        self.setting = f"DOPLATFORM_{name}"

    def __get__(self, instance: object, owner: type | None = None) -> T:
        return getattr(settings, self.setting, self.default)


class AppSettings:
    # Seconds a closed run's idempotency key keeps replaying.
    IDEMPOTENCY_TTL = Setting(24 * 3600)
    # Canonical inputs: size limit in bytes, nesting limit.
    MAX_INPUT_BYTES = Setting(256 * 1024)
    MAX_INPUT_DEPTH = Setting(32)
    # Seconds past an action's timeout before its attempt is presumed lost.
    LEASE_GRACE = Setting(10)
    # Equal jitter on backoff (tests turn it off to measure the gaps).
    BACKOFF_JITTER = Setting(True)
    # Seconds before a queued run's enqueue is presumed lost.
    REENQUEUE_AFTER = Setting(60)
    # The worker's loop: dispatcher passes, heartbeats and prune passes, in seconds.
    DISPATCH_INTERVAL = Setting(0.5)
    HEARTBEAT_INTERVAL = Setting(5)
    PRUNE_INTERVAL = Setting(3600)
    # Restart a runworker's django-q2 cluster whose workers took no task for this many
    # seconds while runs waited that long for a worker (actions/watchdog.py); 0: never.
    WATCHDOG_SECONDS = Setting(60)
    # Refuse API submissions without an Idempotency-Key header.
    REQUIRE_IDEMPOTENCY_KEY = Setting(False)
    # Workflows: steps per workflow, and steps started and not yet gathered.
    WORKFLOW_MAX_STEPS = Setting(1000)
    WORKFLOW_MAX_PARALLEL = Setting(100)
    # django-q2's own admin pages (tasks, schedules, queue): hidden, doplatform never uses them.
    SHOW_ENGINE_ADMIN = Setting(False)

    @property
    def RUN_RETENTION(self) -> int:
        """Seconds closed runs are kept: never less than the TTL, so no key outlives its run."""
        retention = getattr(settings, "DOPLATFORM_RUN_RETENTION", 30 * 24 * 3600)
        return max(retention, self.IDEMPOTENCY_TTL)


app_settings = AppSettings()


def q_cluster(
    *,
    workers: int = 2,
    redis_url: str = "",
    database: str = "default",
    name: str = "doplatform",
    task_retry: int = 1900,
    poll: float = 0.02,
    bulk: int = 10,
    **overrides: Any,
) -> dict[str, Any]:
    """django-q2's ``Q_CLUSTER`` as doplatform needs it: ``Q_CLUSTER = q_cluster()``.

    django-q2 is only the delivery engine: retries, attempt counting and results are
    doplatform's, so it tries each task once, acknowledges failures and keeps no copy
    of results. ``task_retry`` (when the ORM broker redelivers an unacknowledged task)
    must exceed the longest action timeout plus grace by 5 s: ``runworker`` refuses to
    start otherwise. Without ``redis_url`` the queue is a table in ``database``, written
    in the same transaction as the run.
    """
    config: dict[str, Any] = {
        "name": name,
        "workers": workers,
        "timeout": 1800,  # our tasks carry their own (the action's timeout + grace / 2)
        "retry": task_retry,
        "max_attempts": 1,
        "ack_failures": True,
        "save_limit": -1,
        "catch_up": False,
        "poll": poll,
        "bulk": bulk,
        "guard_cycle": 0.5,
        "daemonize_workers": False,
        "label": "Task queue",
    }
    if redis_url:
        config["redis"] = redis_url
    else:
        config["orm"] = database
    return config | overrides


def rest_framework(**overrides: Any) -> dict[str, Any]:
    """``REST_FRAMEWORK`` for doplatform's API: tokens for services, sessions for people,
    and every error as ``{"error", "message", "details"}``.

    DRF's settings are project-wide: a project's own DRF views get these defaults and
    this error shape too (pass ``overrides``, or set them per view).
    """
    return {
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "rest_framework.authentication.TokenAuthentication",
            "rest_framework.authentication.SessionAuthentication",
        ],
        "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
        # JSON only: no browsable HTML pages under /api/ (the docs page is its own view).
        "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
        "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
        "EXCEPTION_HANDLER": "actions.api.errors.exception_handler",
    } | overrides


def spectacular(**overrides: Any) -> dict[str, Any]:
    """``SPECTACULAR_SETTINGS`` for the OpenAPI schema and its docs, served without a CDN."""
    return {
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
            "ActionKindEnum": "actions.models.ActionKind",
        },
        "SWAGGER_UI_DIST": "SIDECAR",
        "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
        "REDOC_DIST": "SIDECAR",
    } | overrides


def content_security_policy(**overrides: list[str]) -> dict[str, list[str]]:
    """``SECURE_CSP`` under which the dashboard, the API docs and the admin work: only this
    site's own scripts, styles, fonts and requests, ``data:`` images (Swagger UI's icons),
    no inline script or style, no eval, no framing. ``overrides`` replace directives
    (``img_src=[...]`` for ``img-src``).
    """
    return {
        "default-src": [CSP.SELF],
        "script-src": [CSP.SELF],
        "style-src": [CSP.SELF],
        "img-src": [CSP.SELF, "data:"],
        "font-src": [CSP.SELF],
        "connect-src": [CSP.SELF],
        "object-src": [CSP.NONE],
        "base-uri": [CSP.SELF],
        "form-action": [CSP.SELF],
        "frame-ancestors": [CSP.NONE],
    } | {name.replace("_", "-"): value for name, value in overrides.items()}
