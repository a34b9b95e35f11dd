"""Durable workflows: a function of steps, replayed from the top whenever it resumes.

A workflow's run is the parent; each step is a child run of the step's action,
identified by (workflow run, step key). A replay loads every child in one query; a
step whose child has succeeded returns the stored result and executes nothing. A new
step either runs at once in this worker (sequential steps that fit in the workflow's
time) or is enqueued for any worker; then the workflow suspends (``waiting``) until
the child wakes it. ``wf.now()``, ``wf.uuid()`` and sleeps record their values on the
workflow run, so every replay sees the same ones.

Control flow leaves the user's function through ``BaseException`` subclasses, so an
``except Exception`` in a workflow cannot swallow a suspension.
"""

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from . import runs, submission
from .canonical import checked_inputs, fingerprint
from .conf import app_settings
from .errors import DoplatformError, InvalidIdempotencyKey, UnknownAction
from .idempotency import validate_idempotency_key
from .models import Run, RunStatus
from .registry import ActionSpec, get_spec

log = logging.getLogger(__name__)

# Seconds kept free in the workflow's own time budget before running a step inline.
INLINE_MARGIN = 1.0
# What a replay needs between steps: its lease is this plus the grace, and is renewed to
# cover each step it runs inline, so a crashed workflow is taken up again as soon as a
# crashed step would be.
REPLAY_SECONDS = 5


def replay_lease() -> int:
    """The lease a workflow's execution is claimed with."""
    return REPLAY_SECONDS + app_settings.LEASE_GRACE


@dataclass(frozen=True, slots=True)
class Suspended:
    """The replay reached something pending: wait for it (and, for a timer, until when)."""

    reason: str
    wake_at: datetime | None = None


class _Suspend(BaseException):
    def __init__(self, suspended: Suspended):
        self.suspended = suspended


class _Fail(BaseException):
    """End the replay with a failure of the workflow run (never retried unless retryable)."""

    def __init__(self, failure: "runs.Failure"):
        self.failure = failure


class _Zombie(BaseException):
    """The workflow run moved on without this replay (its lease expired): stop writing."""


@dataclass(slots=True)
class StepRecord:
    """What a replay knows of one step's child run."""

    id: uuid.UUID
    key: str
    action: str
    status: str
    result: dict | None
    error: dict | None
    fingerprint: str | None

    @property
    def label(self) -> str:
        return f"step {self.key} ({self.action})"


@dataclass(slots=True)
class StepHandle:
    """A step started with ``wf.start``; ``wf.gather`` waits for it."""

    key: str
    action: str
    record: StepRecord
    gathered: bool = False


def load_steps(workflow_run_id) -> dict[str, StepRecord]:
    """Every child of the workflow with its outcome and the fingerprint it was asked with: one query."""
    rows = Run.objects.steps_of(workflow_run_id).values_list(
        "id", "step_key", "action_id", "status", "result", "error", "step_fingerprint"
    )
    return {row[1]: StepRecord(*row) for row in rows}


@dataclass
class Workflow:
    """The ``wf`` a workflow function receives: steps, timers and recorded values."""

    run: Run
    attempt: int
    worker: str
    deadline: float  # time.monotonic() by which this execution must end
    steps: dict[str, StepRecord]
    logger: logging.Logger = field(init=False)
    _position: int = 0
    _seen: set[str] = field(default_factory=set)
    _open_handles: list[StepHandle] = field(default_factory=list)
    _group: int = 0  # position of the first step of the parallel batch being started
    _progressed: bool = False  # a step succeeded in this execution
    _actions: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.logger = logging.getLogger(f"actions.run.{self.run.action_id}")

    # What a handler's ctx has too.
    @property
    def run_id(self) -> str:
        return str(self.run.pk)

    @property
    def action(self) -> str:
        return self.run.action_id

    @property
    def idempotency_key(self) -> str | None:
        return self.run.idempotency_key

    # --- the workflow author's API ---------------------------------------------------

    def step(self, action: str, inputs: dict, *, key: str | None = None) -> dict:
        """Run ``action`` as the next step and return its result (replays return the stored one)."""
        spec, data, step_key = self._prepare(action, inputs, key)
        record = self.steps.get(step_key)
        if record is None:
            record = self._create(spec, data, step_key, group=self._position, inline=True)
        return self._result_of([record])[0]

    def start(self, action: str, inputs: dict, *, key: str | None = None) -> StepHandle:
        """Start ``action`` as a step that runs in parallel; ``gather`` collects its result."""
        spec, data, step_key = self._prepare(action, inputs, key)
        limit = app_settings.WORKFLOW_MAX_PARALLEL
        if len(self._open_handles) >= limit:
            raise _Fail(
                _failure(
                    "too_many_parallel_steps",
                    f"more than {limit} steps started and not yet gathered "
                    "(DOPLATFORM_WORKFLOW_MAX_PARALLEL)",
                )
            )
        if not self._open_handles:
            self._group = self._position
        record = self.steps.get(step_key)
        if record is None:
            record = self._create(spec, data, step_key, group=self._group, inline=False)
        handle = StepHandle(key=step_key, action=action, record=record)
        self._open_handles.append(handle)
        return handle

    def gather(self, *handles: StepHandle) -> list[dict]:
        """The results of steps started with ``start``, in order, once all have succeeded."""
        for handle in handles:
            if not isinstance(handle, StepHandle):
                raise TypeError("gather() takes the handles that wf.start() returned")
            handle.gathered = True
        self._open_handles = [h for h in self._open_handles if not h.gathered]
        return self._result_of([h.record for h in handles])

    def sleep(self, name: str, *, seconds: float) -> None:
        """Wait ``seconds`` durably: the workflow holds no worker meanwhile."""
        step_key = self._next_key(name)
        until = self._recorded(step_key, "sleep_until")
        if until is None:
            until = timezone.now() + timedelta(seconds=max(seconds, 0))
            self._record(step_key, "sleep_until", until.isoformat())
        else:
            until = parse_datetime(until)
        if until > timezone.now():
            raise _Suspend(
                Suspended(f"sleeping until {until:%Y-%m-%d %H:%M:%S} UTC ({name})", until)
            )

    def now(self) -> datetime:
        """The current time, recorded on the first execution and the same in every replay."""
        step_key = self._next_key(None)
        value = self._recorded(step_key, "now")
        if value is None:
            current = timezone.now()
            self._record(step_key, "now", current.isoformat())
            return current
        return parse_datetime(value)

    def uuid(self) -> uuid.UUID:
        """A random UUID, recorded on the first execution and the same in every replay."""
        step_key = self._next_key(None)
        value = self._recorded(step_key, "uuid")
        if value is None:
            new = uuid.uuid4()
            self._record(step_key, "uuid", str(new))
            return new
        return uuid.UUID(value)

    # --- internals -----------------------------------------------------------------------

    def _next_key(self, key: str | None) -> str:
        self._position += 1
        limit = app_settings.WORKFLOW_MAX_STEPS
        if self._position > limit:
            raise _Fail(
                _failure(
                    "too_many_steps",
                    f"the workflow took more than {limit} steps (DOPLATFORM_WORKFLOW_MAX_STEPS)",
                )
            )
        step_key = str(self._position) if key is None else _checked_key(key, self.run.pk)
        if step_key in self._seen:
            raise _Fail(
                _failure(
                    "duplicate_step_key",
                    f"step key {step_key!r} is used twice in one workflow; give steps in loops "
                    "distinct keys",
                )
            )
        self._seen.add(step_key)
        return step_key

    def _prepare(self, action: str, inputs: dict, key: str | None) -> tuple[ActionSpec, bytes, str]:
        """The next step's key, spec and canonical inputs, checked against what is recorded."""
        step_key = self._next_key(key)
        if step_key in (self.run.memo or {}):
            raise _Fail(_nondeterministic(step_key, "a timer or recorded value", f"step {action}"))
        try:
            spec = get_spec(action)
            data = checked_inputs(inputs)
        except UnknownAction as error:
            # Perhaps only on this worker, mid-deploy: retried, as a missing handler waits.
            raise _Fail(_invalid_step(step_key, action, error, retryable=True)) from None
        except DoplatformError as error:
            raise _Fail(_invalid_step(step_key, action, error)) from None
        if spec.kind == "workflow":
            raise _Fail(
                _failure(
                    "nested_workflow",
                    f"step {step_key} asks for {action!r}, a workflow; steps are actions",
                )
            )
        record = self.steps.get(step_key)
        if record is not None:
            asked = fingerprint(data)
            if record.action != action or (record.fingerprint not in (None, asked)):
                recorded = f"{record.action} (run {record.id})"
                what = action if record.action != action else f"{action} with other inputs"
                raise _Fail(_nondeterministic(step_key, recorded, what))
        return spec, data, step_key

    def _create(
        self, spec: ActionSpec, data: bytes, step_key: str, *, group: int, inline: bool
    ) -> StepRecord:
        """The step's child run: run here at once when it fits, else enqueued for any worker."""
        try:
            submission.validate_schema(spec, submission.parse_canonical(data))
        except DoplatformError as error:
            raise _Fail(_invalid_step(step_key, spec.name, error)) from None
        action = self._action_row(spec.name)
        policy = action.policy
        fits = time.monotonic() + policy.timeout + INLINE_MARGIN <= self.deadline
        claim = inline and fits and not action.paused
        child = submission.submit_step(
            parent=self.run,
            parent_attempt=self.attempt,
            action=action,
            data=data,
            step_key=step_key,
            position=self._position,
            group=group,
            worker=self.worker if claim else None,
        )
        if child is None:
            raise _Zombie()
        record = StepRecord(
            id=child.pk,
            key=step_key,
            action=child.action_id,
            status=child.status,
            result=child.result,
            error=child.error,
            fingerprint=child.step_fingerprint,
        )
        if record.action != spec.name or record.fingerprint != fingerprint(data):
            # Bound meanwhile by another execution of this workflow, asking otherwise.
            raise _Fail(
                _nondeterministic(step_key, f"{record.action} (run {record.id})", spec.name)
            )
        self.steps[step_key] = record
        if claim and child.parent_id == self.run.pk and child.worker == self.worker:
            from .worker import execute_claimed  # the worker module imports this one

            if not runs.renew_lease(
                self.run,
                number=self.attempt,
                seconds=policy.lease_seconds + REPLAY_SECONDS,
                progressed=self._progressed,
            ):
                raise _Zombie()
            execute_claimed(child, spec, policy, number=child.attempts, inline=True)
            record.status, record.result, record.error = child.status, child.result, child.error
            self._progressed = self._progressed or record.status == RunStatus.SUCCEEDED
        return record

    def _action_row(self, name: str):
        if name not in self._actions:
            self._actions[name] = submission.ensure_action(name)
        return self._actions[name]

    def _result_of(self, records: list[StepRecord]) -> list[dict]:
        pending = []
        for record in records:
            if record.status == RunStatus.SUCCEEDED:
                continue
            if record.status == RunStatus.RESOLVED and record.result is not None:
                continue
            if record.status == RunStatus.DEAD:
                error = record.error or {}
                raise _Fail(
                    _failure(
                        "step_dead",
                        f"{record.label} is dead (run {record.id}): "
                        f"{error.get('code', '?')}: {error.get('message', '')}",
                        details={"step": record.key, "run_id": str(record.id)},
                    )
                )
            if record.status == RunStatus.CANCELLED:
                raise _Fail(
                    _failure(
                        "step_cancelled",
                        f"{record.label} was cancelled (run {record.id})",
                        details={"step": record.key, "run_id": str(record.id)},
                    )
                )
            if record.status == RunStatus.RESOLVED:
                raise _Fail(
                    _failure(
                        "step_resolved",
                        f"{record.label} was resolved without an output (run {record.id}); "
                        "resolve the workflow, or resolve the step with an output",
                        details={"step": record.key, "run_id": str(record.id)},
                    )
                )
            pending.append(record)
        if pending:
            raise _Suspend(Suspended(_waiting_for(pending)))
        return [record.result or {} for record in records]

    def _recorded(self, step_key: str, kind: str) -> str | None:
        if step_key in self.steps:
            raise _Fail(_nondeterministic(step_key, self.steps[step_key].label, kind))
        entry = (self.run.memo or {}).get(step_key)
        if entry is None:
            return None
        if kind not in entry:
            raise _Fail(_nondeterministic(step_key, ", ".join(entry), kind))
        return entry[kind]

    def _record(self, step_key: str, kind: str, value: str) -> None:
        memo = {**(self.run.memo or {}), step_key: {kind: value}}
        if not runs.record_memo(self.run, number=self.attempt, memo=memo):
            raise _Zombie()


def replay(run: Run, spec: ActionSpec, *, number: int, policy, worker: str):
    """Execute the workflow function once: its result, a ``runs.Failure``, ``Suspended``, or
    None when the run moved on without this execution (a zombie)."""
    from .worker import call_handler  # the worker module imports this one

    wf = Workflow(
        run=run,
        attempt=number,
        worker=worker,
        deadline=time.monotonic() + policy.timeout,
        steps=load_steps(run.pk),
    )
    try:
        return call_handler(
            lambda inputs, ctx: spec.handler(ctx, inputs), run.inputs, wf, timeout=policy.timeout
        )
    except _Suspend as suspend:
        return suspend.suspended
    except _Fail as fail:
        return fail.failure
    except _Zombie:
        return None


def _waiting_for(pending: list[StepRecord]) -> str:
    if len(pending) == 1:
        return f"waiting for {pending[0].label}"
    names = ", ".join(f"{r.key} ({r.action})" for r in pending[:5])
    more = f" and {len(pending) - 5} more" if len(pending) > 5 else ""
    return f"waiting for {len(pending)} steps: {names}{more}"


def _checked_key(key: str, run_id) -> str:
    if not isinstance(key, str) or key.isdigit():
        raise _Fail(
            _failure("invalid_step", f"step key {key!r} must be a string that is not all digits")
        )
    try:
        validate_idempotency_key(f"{run_id}:{key}")
    except InvalidIdempotencyKey as error:
        raise _Fail(_failure("invalid_step", f"step key {key!r}: {error.message}")) from None
    return key


def _failure(code: str, message: str, *, details: Any = None, retryable: bool = False):
    return runs.Failure(code=code, message=message, retryable=retryable, details=details)


def _invalid_step(step_key: str, action: str, error: DoplatformError, *, retryable=False):
    return _failure(
        "invalid_step",
        f"step {step_key} ({action}): {error.message}",
        details={"step": step_key, "code": error.code, "details": error.details},
        retryable=retryable,
    )


def _nondeterministic(step_key: str, recorded: str, asked: str):
    return _failure(
        "nondeterministic_replay",
        f"the replay is not deterministic at step {step_key}: recorded {recorded}, "
        f"asked for {asked}",
        details={"step": step_key, "recorded": recorded, "asked": asked},
    )
