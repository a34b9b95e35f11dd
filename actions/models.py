import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone

from .policy import RetryPolicy


class ActionKind(models.TextChoices):
    ACTION = "action"
    WORKFLOW = "workflow"


class Action(models.Model):
    """Live configuration of an action declared in code.

    The code's policy applies wherever an operator has not overridden it, so a
    later change in code still takes effect.
    """

    name = models.SlugField(max_length=100, primary_key=True)
    # What the code declares it as (``@action`` or ``@workflow``): lists filter on it.
    kind = models.CharField(max_length=16, choices=ActionKind, default=ActionKind.ACTION)
    max_attempts = models.PositiveIntegerField(null=True, blank=True)
    backoff_base = models.PositiveIntegerField(null=True, blank=True)
    backoff_max = models.PositiveIntegerField(null=True, blank=True)
    timeout = models.PositiveIntegerField(null=True, blank=True)
    paused = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        permissions = [("pause_action", "Can pause and resume an action")]

    def __str__(self) -> str:
        return self.name

    @property
    def policy(self) -> RetryPolicy:
        """The policy in force: ``registry.effective_policy`` of this row."""
        from .registry import effective_policy

        return effective_policy(self.name, self)


class RunStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    RETRYING = "retrying"
    WAITING = "waiting"  # a workflow whose step or timer is pending
    SUCCEEDED = "succeeded"
    DEAD = "dead"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"


FINISHED = frozenset({RunStatus.SUCCEEDED, RunStatus.DEAD, RunStatus.RESOLVED, RunStatus.CANCELLED})
CLOSED = frozenset({RunStatus.SUCCEEDED, RunStatus.RESOLVED, RunStatus.CANCELLED})
FAILED = (RunStatus.RETRYING, RunStatus.DEAD)  # the predicate of run_failed_idx, in its order
# Not finished, and not yet (or not any more) with a worker: a workflow's step in one of
# these is pending.
PENDING = frozenset({RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.RETRYING, RunStatus.WAITING})


class RunQuerySet(models.QuerySet):
    """The reads of runs that the dispatcher, the dashboard, the API and the jobs share."""

    def failed(self) -> "RunQuerySet":
        """Retrying and dead runs: exactly the predicate of ``run_failed_idx``."""
        return self.filter(status__in=FAILED)

    def waiting(self, now: datetime) -> "RunQuerySet":
        """Runs that may start now and have not: queued, or retrying and due, of an action
        that is not paused (``run_pending_idx``)."""
        return self.filter(
            status__in=[RunStatus.QUEUED, RunStatus.RETRYING], action__paused=False
        ).filter(Q(status=RunStatus.QUEUED) | Q(next_attempt_at__lte=now))

    def due_retries(self, now: datetime) -> "RunQuerySet":
        """Retrying runs that are due and not handed to the queue yet (``run_pending_idx``)."""
        return self.filter(
            status=RunStatus.RETRYING,
            next_attempt_at__lte=now,
            enqueued_at__isnull=True,
            action__paused=False,
        )

    def expired_leases(self, now: datetime) -> "RunQuerySet":
        """Running runs whose worker has not finished within the lease (``run_pending_idx``)."""
        return self.filter(status=RunStatus.RUNNING, lease_expires_at__lt=now)

    def stale_enqueues(self, before: datetime, now: datetime) -> "RunQuerySet":
        """Waiting runs never handed to the queue, or handed over before ``before``."""
        return self.waiting(now).filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=before))

    def due_timers(self, now: datetime) -> "RunQuerySet":
        """Waiting workflows whose timer is due (``run_pending_idx``)."""
        return self.filter(status=RunStatus.WAITING, next_attempt_at__lte=now)

    def stalled_waits(self, now: datetime) -> "RunQuerySet":
        """Waiting workflows with no pending step and no timer to come: their wake-up is
        overdue (a safety net; a finishing step wakes its workflow in its own transaction)."""
        pending_step = Run.objects.filter(parent=OuterRef("pk"), status__in=PENDING)
        return (
            self.filter(status=RunStatus.WAITING)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .exclude(Exists(pending_step))
        )

    def steps_of(self, workflow_run_id) -> "RunQuerySet":
        """A workflow's step runs in order, each with ``step_fingerprint``: the fingerprint of
        the inputs its workflow asked for (its idempotency record's), whatever an operator
        edited since (``run_unique_step``)."""
        asked = IdempotencyRecord.objects.filter(run=OuterRef("pk")).values("fingerprint")[:1]
        return (
            self.filter(parent_id=workflow_run_id)
            .annotate(step_fingerprint=Subquery(asked))
            .order_by("step_position", "created_at")
        )

    def matching(self, filters) -> "RunQuerySet":
        """These runs narrowed by a bound ``filters.RunFilterSet``, newest first.

        Without an action this reads ``run_created_idx`` (created_at, id); with one,
        ``run_action_created_idx``; failed runs read the partial ``run_failed_idx``.
        """
        return filters.filter_queryset(self).order_by("-created_at", "-id")

    def page_after(self, cursor) -> "RunQuerySet":
        """Runs strictly after ``cursor`` (a ``paging.Cursor``) in newest-first order.

        The redundant ``created_at <= cursor`` bound lets the index scan start at the
        cursor instead of filtering every newer row.
        """
        return self.filter(created_at__lte=cursor.created_at).filter(
            Q(created_at__lt=cursor.created_at) | Q(created_at=cursor.created_at, id__lt=cursor.id)
        )


class Run(models.Model):
    """One invocation of an action.

    ``attempts`` numbers attempts for the run's whole life (never reset);
    ``budget_start`` is that number when the run was created or last retried
    by an operator, so ``attempts - budget_start`` is what the budget has spent.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    action = models.ForeignKey(Action, on_delete=models.PROTECT, related_name="runs")
    status = models.CharField(max_length=16, choices=RunStatus, default=RunStatus.QUEUED)
    inputs = models.JSONField()
    result = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)
    # NULL, not "": a run submitted without a key has none.
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    attempts = models.PositiveIntegerField(default=0)
    budget_start = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    waiting_reason = models.CharField(max_length=300, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)
    # A workflow's step: its workflow's run, its key (its position, or the key given for
    # steps in loops), its position in the replay, and the position of the first step of
    # the parallel batch it was started with (its own for a sequential step).
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="children",
        db_index=False,  # run_unique_step (parent, step_key) serves every read by parent
    )
    step_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    step_position = models.PositiveIntegerField(null=True, blank=True)
    step_group = models.PositiveIntegerField(null=True, blank=True)
    # A workflow's recorded values (``wf.now()``, ``wf.uuid()``, sleeps), by step key.
    memo = models.JSONField(null=True, blank=True)
    # A step finished while its workflow was running: the workflow replays once more
    # instead of waiting (closes the race between "suspend" and "wake").
    wake_pending = models.BooleanField(default=False)

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("submit_run", "Can submit runs"),
            ("retry_run", "Can retry runs"),
            ("resolve_run", "Can resolve dead runs"),
            ("cancel_run", "Can cancel runs"),
        ]
        indexes = [
            # Run lists, newest first, paged by keyset (created_at, id).
            models.Index(fields=["created_at", "id"], name="run_created_idx"),
            # Run lists of one action.
            models.Index(fields=["action", "created_at", "id"], name="run_action_created_idx"),
            # The failed page: retrying and dead runs only.
            models.Index(
                fields=["action", "created_at", "id"],
                name="run_failed_idx",
                condition=Q(status__in=["retrying", "dead"]),
            ),
            # The dispatcher: due retries and timers, expired leases and stale enqueues.
            models.Index(
                fields=["status", "next_attempt_at"],
                name="run_pending_idx",
                condition=Q(status__in=["queued", "retrying", "running", "waiting"]),
            ),
            models.Index(fields=["idempotency_key"], name="run_key_idx"),
        ]
        constraints = [
            # One child run per (workflow run, step key); it also serves a replay's read
            # of all the steps of one workflow.
            models.UniqueConstraint(
                fields=["parent", "step_key"],
                name="run_unique_step",
                condition=Q(parent__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action_id}:{self.id}"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    @property
    def budget_used(self) -> int:
        return self.attempts - self.budget_start


class AttemptOutcome(models.TextChoices):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    LOST = "lost"
    SUSPENDED = "suspended"  # a workflow's execution that ended waiting for a step or timer


class Attempt(models.Model):
    """One finished execution of a run; the running one lives on the run itself."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="attempt_set")
    number = models.PositiveIntegerField()
    outcome = models.CharField(max_length=16, choices=AttemptOutcome)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    retryable = models.BooleanField(null=True)
    traceback = models.TextField(blank=True)
    worker = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["run", "number"]
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="attempt_unique_number")
        ]

    def __str__(self) -> str:
        return f"{self.run_id}#{self.number} {self.outcome}"

    @property
    def duration(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


class IdempotencyRecord(models.Model):
    """Binds (action, key) to one run; a unique constraint decides every race."""

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["action", "key"], name="idempotency_unique_key")
        ]
        indexes = [
            models.Index(fields=["run"], name="idempotency_run_idx"),
            # prune: expired records only.
            models.Index(
                fields=["expires_at"],
                name="idempotency_expiry_idx",
                condition=Q(expires_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action_id}:{self.key}"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()


class EventKind(models.TextChoices):
    RETRIED = "retried"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"
    PAUSED = "paused"
    RESUMED = "resumed"


class OperatorEvent(models.Model):
    """Who did what by hand, when and why; the run timeline is built from these and attempts."""

    kind = models.CharField(max_length=16, choices=EventKind)
    run = models.ForeignKey(
        Run, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    action = models.ForeignKey(
        Action, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)
    # What the change carried: inputs before and after an edited retry, a step's output
    # given when resolving it.
    details = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["run", "created_at"], name="event_run_idx")]

    def __str__(self) -> str:
        return f"{self.kind} by {self.user_id} at {self.created_at:%Y-%m-%d %H:%M:%S}"


class WorkerHeartbeat(models.Model):
    """A live ``runworker`` process, refreshed every few seconds; read by /healthz."""

    name = models.CharField(max_length=200, unique=True)
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField()

    def __str__(self) -> str:
        return self.name


class Job(models.Model):
    """A bulk operator job ("retry all matching"), run in chunks by the worker."""

    kind = models.CharField(max_length=16, choices=EventKind)
    filters = models.JSONField(default=dict)
    note = models.TextField(blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.kind} job {self.pk}"
