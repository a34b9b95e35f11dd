"""Typed factories for test data that bypass the engine where a test needs a given state."""

import uuid
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone

from actions.models import Attempt, AttemptOutcome, Run, RunStatus
from actions.submission import ensure_action, submit

User = get_user_model()


def make_user(username: str, *perms: str, staff: bool = True, password: str = "pw") -> User:
    """A user holding ``perms`` given as ``"app_label.codename"``."""
    user = User.objects.create_user(username=username, password=password, is_staff=staff)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return User.objects.get(pk=user.pk)  # fresh, so the permission cache is empty


def make_run(
    action: str = "test-noop",
    *,
    status: str = RunStatus.QUEUED,
    inputs: dict | None = None,
    error: dict | None = None,
    attempts: int = 0,
    idempotency_key: str | None = None,
    created_at=None,
) -> Run:
    """A run in ``status`` with ``attempts`` failed attempts already recorded, never enqueued."""
    now = timezone.now()
    run = Run.objects.create(
        id=uuid.uuid4(),
        action=ensure_action(action),
        status=status,
        inputs=inputs or {},
        error=error,
        attempts=attempts,
        idempotency_key=idempotency_key,
        created_at=created_at or now,
        enqueued_at=now,
        finished_at=now if status in ("succeeded", "dead", "resolved", "cancelled") else None,
        next_attempt_at=now + timedelta(hours=1) if status == RunStatus.RETRYING else None,
    )
    for number in range(1, attempts + 1):
        Attempt.objects.create(
            run=run,
            number=number,
            outcome=AttemptOutcome.FAILED,
            started_at=now - timedelta(seconds=2),
            finished_at=now - timedelta(seconds=1),
            error_code=(error or {}).get("code", "failed"),
            error_message=(error or {}).get("message", ""),
            retryable=(error or {}).get("retryable", False),
        )
    return run


def make_dead_run(action: str = "test-final", **kwargs) -> Run:
    kwargs.setdefault("error", {"code": "bad_request", "message": "refused", "retryable": False})
    kwargs.setdefault("attempts", 1)
    return make_run(action, status=RunStatus.DEAD, **kwargs)


__all__ = ["make_dead_run", "make_run", "make_user", "submit"]
