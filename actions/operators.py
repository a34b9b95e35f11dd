"""What operators do by hand: retry, resolve, cancel runs; pause and resume actions.

The dashboard, the REST API, the admin and commands all call these functions;
each checks nothing about permissions (callers do) and records who did what.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from . import runs
from .errors import DoplatformError, IllegalTransition
from .models import Action, EventKind, OperatorEvent, Run, RunStatus
from .registry import get_spec
from .runs import after_transition
from .submission import ensure_action

# The statuses each change by hand starts from: enforced here, and read by the buttons
# and the bulk actions so that they offer only what would succeed.
ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    "retry": (RunStatus.RETRYING, RunStatus.DEAD),
    "resolve": (RunStatus.DEAD,),
    "cancel": (RunStatus.QUEUED, RunStatus.RETRYING),
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


def operate(verb: str, run: Run, user: AbstractBaseUser | None, note: str = "") -> Run:
    """``retry``, ``resolve`` or ``cancel`` one run, by name."""
    operations = {"retry": retry, "resolve": resolve, "cancel": cancel}  # looked up now
    if verb not in operations:
        raise ValueError(f"operators retry, resolve or cancel runs, not {verb!r}")
    return operations[verb](run, user, note)


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


def retry(run: Run | str | uuid.UUID, user: AbstractBaseUser | None, note: str = "") -> Run:
    """``retrying|dead → queued`` now, with a fresh attempt budget."""
    run = _get_run(run)
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
        )
        _record(EventKind.RETRIED, run=run, user=user, note=note)
        runs.enqueue(run, now=timezone.now())
    run.refresh_from_db(fields=["attempts", "budget_start"])
    return run


def resolve(run: Run | str | uuid.UUID, user: AbstractBaseUser | None, note: str) -> Run:
    """``dead → resolved``: an operator settled it by other means; the note says how."""
    note = require_note("resolve", note)
    run = _get_run(run)
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
        )
        _record(EventKind.RESOLVED, run=run, user=user, note=note)
        after_transition(run)
    return run


def cancel(run: Run | str | uuid.UUID, user: AbstractBaseUser | None, note: str = "") -> Run:
    """``queued|retrying → cancelled``: it will never run (again)."""
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
    return run


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
    kind: str, *, user, note: str, run: Run | None = None, action: Action | None = None
) -> None:
    OperatorEvent.objects.create(
        kind=kind,
        run=run,
        action=action if action is not None else (run.action if run else None),
        user=user if user is not None and user.is_authenticated else None,
        note=note or "",
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
