"""What operators do by hand: retry, resolve, cancel runs; pause and resume actions.

The dashboard, the REST API, the admin and commands all call these functions;
each checks nothing about permissions (callers do) and records who did what.

A workflow is repaired through its steps: retrying a workflow that died of a dead step
retries that step, and the workflow waits for it; resolving a dead step with an output
resumes its workflow as if the step had succeeded with it; resolving a step without
one, or the workflow itself, closes the workflow. Cancelling a workflow cancels the
steps that have not started.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from . import runs
from .canonical import checked_inputs
from .errors import DoplatformError, IllegalTransition
from .models import Action, ActionKind, EventKind, OperatorEvent, Run, RunStatus
from .registry import get_spec
from .runs import after_transition
from .submission import ensure_action, parse_canonical, validate_schema

# The statuses each change by hand starts from: enforced here, and read by the buttons
# and the bulk actions so that they offer only what would succeed.
ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    "retry": (RunStatus.RETRYING, RunStatus.DEAD),
    "resolve": (RunStatus.DEAD,),
    "cancel": (RunStatus.QUEUED, RunStatus.RETRYING, RunStatus.WAITING),
}
RESUME_CHUNK = 500


class MissingNote(DoplatformError):
    code = "note_required"


def allows(run: Run, verb: str) -> bool:
    """Whether ``run``'s status lets an operator ``verb`` it (retry, resolve, cancel)."""
    return run.status in ALLOWED_FROM[verb]


def eligible(verb: str, candidates: QuerySet) -> QuerySet:
    """The runs among ``candidates`` that ``verb`` applies to (only dead runs are resolved)."""
    return candidates.filter(status__in=ALLOWED_FROM[verb])


def require_note(verb: str, note: str | None) -> str:
    """The note, stripped; resolving needs one, saying how the run was settled."""
    note = (note or "").strip()
    if verb == "resolve" and not note:
        raise MissingNote("resolving needs a note saying how the run was settled")
    return note


@dataclass
class Applied:
    """What ``apply`` did: how many runs changed, and why the others were skipped."""

    done: int = 0
    skipped: list[IllegalTransition] = field(default_factory=list)


def operate(verb: str, run: Run, user: AbstractBaseUser | None, note: str = "", **carried) -> Run:
    """``retry``, ``resolve`` or ``cancel`` one run, by name; ``carried`` is what the
    verb takes besides the note (a retry's ``inputs``, a resolve's ``result``)."""
    operations = {"retry": retry, "resolve": resolve, "cancel": cancel}  # looked up now
    if verb not in operations:
        raise ValueError(f"operators retry, resolve or cancel runs, not {verb!r}")
    return operations[verb](run, user, note, **carried)


def apply(
    verb: str, candidates: Iterable[Run], user: AbstractBaseUser | None, note: str = ""
) -> Applied:
    """Retry, resolve or cancel many runs, each in its own transaction.

    The dashboard's bulk actions, the admin's actions and the background jobs all come
    here. A run in a status the verb does not start from (or no longer: someone else
    was faster) is skipped, not an error; a missing note refuses them all, before any.
    """
    if verb not in ALLOWED_FROM:
        raise ValueError(f"operators retry, resolve or cancel runs, not {verb!r}")
    note = require_note(verb, note)
    applied = Applied()
    for run in candidates:
        try:
            operate(verb, run, user, note)
        except IllegalTransition as refusal:
            applied.skipped.append(refusal)
        else:
            applied.done += 1
    return applied


def retry(
    run: Run | str | uuid.UUID,
    user: AbstractBaseUser | None,
    note: str = "",
    *,
    inputs: dict | None = None,
) -> Run:
    """``retrying|dead → queued`` now, with a fresh attempt budget.

    ``inputs`` replaces the run's inputs first, validated against the action's current
    schema; the event keeps them before and after. A workflow that died of a dead step
    retries that step instead and waits for it (``dead → waiting``); a dead step
    retried by hand takes its dead workflow back to waiting for it.
    """
    run = _get_run(run)
    dead_step = _dead_step_of(run)
    if dead_step is not None:
        if inputs is not None:
            raise IllegalTransition(
                f"workflow run {run.pk} died of its step {dead_step.step_key}: edit the inputs "
                f"of that step (run {dead_step.pk}) instead",
                details={"run_id": str(run.pk), "step_run_id": str(dead_step.pk)},
            )
        with transaction.atomic():
            retry(dead_step, user, note)
            step = {"step": dead_step.step_key, "run_id": str(dead_step.pk)}
            _record(EventKind.RETRIED, run=run, user=user, note=note, details=step)
        run.refresh_from_db()
        return run
    changes = {}
    details = None
    if inputs is not None:
        changes["inputs"] = _checked_new_inputs(run, inputs)
        details = {"inputs": {"before": run.inputs, "after": changes["inputs"]}}
    with transaction.atomic():
        _transition(
            run,
            expected=ALLOWED_FROM["retry"],
            verb="retry",
            status=RunStatus.QUEUED,
            budget_start=F("attempts"),  # what the run has spent by now, not when it was read
            next_attempt_at=None,
            finished_at=None,
            enqueued_at=None,
            **changes,
        )
        _record(EventKind.RETRIED, run=run, user=user, note=note, details=details)
        runs.enqueue(run, now=timezone.now())
        if run.parent_id is not None:
            _follow(
                run.parent_id,
                status=RunStatus.WAITING,
                waiting_reason=f"waiting for step {run.step_key} ({run.action_id})",
            )
    run.refresh_from_db(fields=["attempts", "budget_start"])
    return run


def resolve(
    run: Run | str | uuid.UUID,
    user: AbstractBaseUser | None,
    note: str,
    *,
    result: dict | None = None,
) -> Run:
    """``dead → resolved``: an operator settled it by other means; the note says how.

    ``result`` is the output the run should have had (checked like a handler's result,
    and kept in the event). A step resolved with one resumes its workflow as if it had
    succeeded with it; resolved without one, its workflow is resolved too. Resolving a
    workflow resolves its dead steps and cancels those not started.
    """
    note = require_note("resolve", note)
    run = _get_run(run)
    if result is not None:
        result = _checked_result(result)
    now = timezone.now()
    with transaction.atomic():
        _transition(
            run,
            expected=ALLOWED_FROM["resolve"],
            verb="resolve",
            status=RunStatus.RESOLVED,
            resolved_by=user,
            resolved_at=now,
            resolution_note=note,
            **({"result": result} if result is not None else {}),
        )
        details = {"result": result} if result is not None else None
        _record(EventKind.RESOLVED, run=run, user=user, note=note, details=details)
        # The step is closed, but its workflow must not be woken into a replay by it:
        # what becomes of the workflow is decided here.
        after_transition(run, wake_parent=False)
        if run.action.kind == ActionKind.WORKFLOW:
            _close_steps(run, user, note)
        if run.parent_id is not None:
            if result is not None:
                workflow = _follow(run.parent_id, status=RunStatus.QUEUED)
                if workflow is not None:
                    runs.enqueue(workflow, now=now)
            else:
                workflow = Run.objects.select_related("action").get(pk=run.parent_id)
                if workflow.status == RunStatus.DEAD:
                    step_note = f"step {run.step_key} ({run.action_id}) resolved: {note}"
                    resolve(workflow, user, step_note)
                else:
                    runs.wake(workflow.pk, now=now)
    return run


def cancel(run: Run | str | uuid.UUID, user: AbstractBaseUser | None, note: str = "") -> Run:
    """``queued|retrying|waiting → cancelled``: it will never run (again). A workflow's
    steps that have not started are cancelled with it; a running one finishes."""
    run = _get_run(run)
    with transaction.atomic():
        _transition(
            run,
            expected=ALLOWED_FROM["cancel"],
            verb="cancel",
            status=RunStatus.CANCELLED,
            finished_at=timezone.now(),
            next_attempt_at=None,
        )
        _record(EventKind.CANCELLED, run=run, user=user, note=note)
        after_transition(run)
        if run.action.kind == ActionKind.WORKFLOW:
            _close_steps(run, user, note)
    return run


def _dead_step_of(run: Run) -> Run | None:
    """The dead step a dead workflow run died of, if that is what it died of."""
    if run.status != RunStatus.DEAD or run.action.kind != ActionKind.WORKFLOW:
        return None
    error = run.error or {}
    step_run_id = (error.get("details") or {}).get("run_id")
    if error.get("code") != "step_dead" or step_run_id is None:
        return None
    return (
        Run.objects.select_related("action")
        .filter(pk=step_run_id, parent=run, status=RunStatus.DEAD)
        .first()
    )


def _follow(workflow_id, *, status: str, waiting_reason: str = "") -> Run | None:
    """Take a dead workflow where its step now leads it; None if it is not dead."""
    changed = Run.objects.filter(pk=workflow_id, status=RunStatus.DEAD).update(
        status=status,
        waiting_reason=waiting_reason,
        budget_start=F("attempts"),
        finished_at=None,
        next_attempt_at=None,
        enqueued_at=None,
    )
    if not changed:
        return None
    return Run.objects.select_related("action").get(pk=workflow_id)


def _close_steps(workflow: Run, user, note: str) -> None:
    """A closed workflow's dead steps are resolved and its pending ones cancelled."""
    steps = Run.objects.select_related("action").filter(
        parent=workflow, status__in=[RunStatus.DEAD, *ALLOWED_FROM["cancel"]]
    )
    why = note or f"its workflow run {workflow.pk} was {workflow.status}"
    for step in steps:
        try:
            if step.status == RunStatus.DEAD:
                resolve(step, user, why)
            else:
                cancel(step, user, why)
        except IllegalTransition:
            continue  # moved on meanwhile (it started, or finished)


def _checked_new_inputs(run: Run, inputs: dict) -> dict:
    """Edited inputs, canonical and valid against the action's schema in code now."""
    new = parse_canonical(checked_inputs(inputs))
    validate_schema(get_spec(run.action_id), new)
    return new


def _checked_result(result: dict) -> dict:
    """An output given by hand, held to what a handler's result must be (and as small as
    inputs must be: it is typed by a person or sent by a client)."""
    return parse_canonical(checked_inputs(result, what="result"))


def pause(action: Action | str, user: AbstractBaseUser | None, note: str = "") -> Action:
    """Stop starting the action's runs; new runs are still accepted and wait."""
    action = _get_action(action)
    with transaction.atomic():
        if Action.objects.filter(pk=action.pk, paused=False).update(paused=True):
            _record(EventKind.PAUSED, action=action, user=user, note=note)
    action.paused = True
    return action


def resume(action: Action | str, user: AbstractBaseUser | None, note: str = "") -> Action:
    """Start the action's runs again: queued runs are enqueued now, due retries by the dispatcher."""
    action = _get_action(action)
    with transaction.atomic():
        resumed = Action.objects.filter(pk=action.pk, paused=True).update(paused=False)
        if resumed:
            _record(EventKind.RESUMED, action=action, user=user, note=note)
    action.paused = False
    if resumed:
        # Retries that came due while paused: the dispatcher enqueues them within a second.
        Run.objects.filter(action=action, status=RunStatus.RETRYING).update(enqueued_at=None)
        enqueue_waiting(action)
    return action


def enqueue_waiting(action: Action) -> int:
    """Enqueue every queued run of ``action``, in chunks; returns how many."""
    count = 0
    last = None
    while True:
        waiting = Run.objects.filter(action=action, status=RunStatus.QUEUED).order_by("pk")
        if last is not None:
            waiting = waiting.filter(pk__gt=last)
        chunk = list(waiting.only("pk", "status", "enqueued_at")[:RESUME_CHUNK])
        if not chunk:
            return count
        now = timezone.now()
        with transaction.atomic():
            for run in chunk:
                run.action = action  # known, and not paused any more
                count += runs.enqueue(run, now=now)
        last = chunk[-1].pk


def _transition(run: Run, *, expected: tuple[str, ...], verb: str, **changes) -> None:
    changed = Run.objects.filter(pk=run.pk, status__in=expected).update(**changes)
    if not changed:
        current = Run.objects.filter(pk=run.pk).values_list("status", flat=True).first()
        allowed = " or ".join(expected)
        raise IllegalTransition(
            f"cannot {verb} run {run.pk}: it is {current}, and only {allowed} runs can be",
            details={"run_id": str(run.pk), "status": current, "expected": list(expected)},
        )
    for name, value in changes.items():
        setattr(run, name, value)


def _record(
    kind: str,
    *,
    user,
    note: str,
    run: Run | None = None,
    action: Action | None = None,
    details: dict | None = None,
) -> None:
    OperatorEvent.objects.create(
        kind=kind,
        run=run,
        action=action if action is not None else (run.action if run else None),
        user=user if user is not None and user.is_authenticated else None,
        note=note or "",
        details=details,
    )


def _get_run(run: Run | str | uuid.UUID) -> Run:
    if isinstance(run, Run):
        return run
    return Run.objects.select_related("action").get(pk=run)


def _get_action(action: Action | str) -> Action:
    if isinstance(action, Action):
        return action
    existing = Action.objects.filter(pk=action).first()
    if existing is not None:
        return existing
    get_spec(action)
    return ensure_action(action)
