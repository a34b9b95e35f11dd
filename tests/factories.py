"""Typed factories for test data that bypass the engine where a test needs a given state."""

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone

from actions.models import Attempt, AttemptOutcome, Run, RunStatus
from actions.submission import ensure_action, submit
from actions.worker import execute_run

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


def drive(limit: int = 200) -> None:
    """Be the workers: execute every queued run, and every retrying one as if it were due,
    until nothing is left to execute."""
    for _ in range(limit):
        Run.objects.filter(status=RunStatus.RETRYING).update(next_attempt_at=timezone.now())
        runnable = (
            Run.objects.filter(status__in=[RunStatus.QUEUED, RunStatus.RETRYING])
            .order_by("created_at", "id")
            .first()
        )
        if runnable is None:
            return
        execute_run(str(runnable.pk))
    pytest.fail("the runs did not settle")


def make_dead_workflow(inputs: dict | None = None) -> tuple[Run, list[Run]]:
    """A ``test-wf-repair`` run dead of its step 2 (refused on its first attempt), and its
    steps in order: step 1 succeeded, step 2 dead."""
    run = submit("test-wf-repair", inputs or {})
    drive()
    run = Run.objects.select_related("action").get(pk=run.pk)
    assert run.status == RunStatus.DEAD and run.error["code"] == "step_dead"
    return run, list(Run.objects.steps_of(run.pk).select_related("action"))


__all__ = ["drive", "make_dead_run", "make_dead_workflow", "make_run", "make_user", "submit"]
