"""Execute one run: the body of the django-q2 task.

A delivery may be a duplicate, late, or for a run that is paused or whose handler
this worker does not have; every such case leaves the run untouched. Only a
successful claim executes the handler (or, for a workflow, replays its function).
"""

import logging
import os
import signal
import socket
import threading
import time
import traceback
from dataclasses import dataclass

from django.utils import timezone

from . import registry, runs, workflows
from .canonical import canonical_value
from .errors import ActionError, InvalidInputs
from .models import ActionKind, AttemptOutcome, Run
from .policy import RetryPolicy
from .registry import ActionSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunContext:
    """What a handler knows about its run: pass ``run_id`` to downstream APIs as their key."""

    run_id: str
    action: str
    idempotency_key: str | None
    attempt: int
    logger: logging.Logger


class HandlerTimeout(BaseException):
    """Raised inside an overrunning handler; a BaseException so ``except Exception`` can't eat it."""


def worker_name(pid: int | None = None) -> str:
    """``host:pid`` of this process (or of ``pid`` on this host), as runs and attempts record it."""
    return f"{socket.gethostname()}:{pid or os.getpid()}"


def execute_run(run_id: str) -> str:
    """Claim the run, call its handler, record the attempt. Returns what happened, for logs."""
    run = Run.objects.select_related("action").filter(pk=run_id).first()
    if run is None:
        return "missing"
    spec = registry.find_spec(run.action_id)
    if spec is None:
        runs.release_run(run, reason=f"no handler for {run.action_id!r} on worker {worker_name()}")
        return "no-handler"
    policy = registry.effective_policy(run.action_id, run.action)
    lease = policy.lease_seconds if spec.kind == ActionKind.ACTION else workflows.replay_lease()
    number = runs.claim_run(run, lease_seconds=lease, worker=worker_name())
    if number is None:
        return "not-claimed"
    return execute_claimed(run, spec, policy, number=number)


def execute_claimed(
    run: Run, spec: ActionSpec, policy: RetryPolicy, *, number: int, inline: bool = False
) -> str:
    """Execute attempt ``number`` of a run this worker holds, and record how it ended.

    ``inline``: a workflow's step executed by the workflow's own execution, which reads
    the outcome from ``run`` rather than being woken by it.
    """
    if spec.kind == ActionKind.WORKFLOW:
        outcome = workflows.replay(run, spec, number=number, policy=policy, worker=run.worker)
    else:
        ctx = RunContext(
            run_id=str(run.pk),
            action=run.action_id,
            idempotency_key=run.idempotency_key,
            attempt=number,
            logger=logging.getLogger(f"actions.run.{run.action_id}"),
        )
        outcome = call_handler(spec.handler, run.inputs, ctx, timeout=policy.timeout)
    finished_at = timezone.now()
    if outcome is None:
        return "zombie"
    if isinstance(outcome, workflows.Suspended):
        won = runs.suspend(
            run,
            number=number,
            reason=outcome.reason,
            wake_at=outcome.wake_at,
            finished_at=finished_at,
        )
        return run.status if won else "zombie"
    if isinstance(outcome, runs.Failure):
        won = runs.record_failure(
            run,
            number=number,
            failure=outcome,
            policy=policy,
            finished_at=finished_at,
            wake_parent=not inline,
        )
        return run.status if won else "zombie"
    won = runs.record_success(
        run, number=number, result=outcome, finished_at=finished_at, wake_parent=not inline
    )
    return "succeeded" if won else "zombie"


def call_handler(handler, inputs: dict, ctx: RunContext, *, timeout: int) -> dict | runs.Failure:
    """Run the handler under our own timer and turn whatever happens into a result or a Failure."""
    try:
        with _time_limit(timeout):
            result = handler(inputs, ctx)
    except HandlerTimeout:
        return runs.Failure(
            code="timeout",
            message=f"the handler ran longer than its timeout of {timeout} s",
            retryable=True,
            traceback=traceback.format_exc(),
            outcome=AttemptOutcome.TIMED_OUT,
        )
    except ActionError as error:
        return runs.Failure(
            code=error.code,
            message=error.message,
            retryable=error.retryable,
            retry_after=error.retry_after,
        )
    except Exception as error:  # noqa: BLE001 - any handler bug is a retryable failure
        return runs.Failure(
            code="exception",
            message=f"{type(error).__name__}: {error}",
            retryable=True,
            traceback=traceback.format_exc(),
        )
    if result is None:
        result = {}
    if isinstance(result, dict) and result.get("success") is False:
        return runs.Failure(
            code=str(result.get("error") or "failed"),
            message=str(result.get("message") or result.get("error") or ""),
            retryable=result.get("retryable") is True,
            retry_after=_number_or_none(result.get("retry_after")),
        )
    try:
        if not isinstance(result, dict):
            raise InvalidInputs(f"the handler returned {type(result).__name__}, not a dict")
        return canonical_value(result, what="result")  # stored as canonical JSON reads it
    except InvalidInputs as error:
        return runs.Failure(code="invalid_result", message=error.message, retryable=False)


class _time_limit:
    """A SIGALRM limit around the handler, in the worker's main thread.

    django-q2 arms ``signal.alarm`` for its own backstop; we take the timer for the
    handler's (shorter) timeout and do not re-arm it afterwards, so recording the
    attempt is never interrupted. django-q2's guard process still kills a worker
    that overruns the backstop. Limits nest (a workflow's execution around a step it
    runs inline): leaving an inner one re-arms the outer one for what is left of it.
    """

    _active: list["_time_limit"] = []

    def __init__(self, seconds: int):
        self.seconds = seconds
        self.usable = threading.current_thread() is threading.main_thread()

    def __enter__(self):
        if self.usable:
            self.deadline = time.monotonic() + self.seconds
            self.previous_handler = signal.signal(signal.SIGALRM, self._expire)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
            self._active.append(self)
        return self

    def __exit__(self, *exc):
        if self.usable:
            signal.setitimer(signal.ITIMER_REAL, 0)
            self._active.pop()
            signal.signal(signal.SIGALRM, self.previous_handler)
            if self._active:
                left = self._active[-1].deadline - time.monotonic()
                signal.setitimer(signal.ITIMER_REAL, max(left, 0.001))
        return False

    def _expire(self, signum, frame):
        raise HandlerTimeout()


def _number_or_none(value) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None
