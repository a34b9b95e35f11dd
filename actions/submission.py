"""``submit``: the one way a run comes into being (``submit_step`` for a workflow's steps)."""

import json
import uuid
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from . import idempotency, runs
from .canonical import checked_inputs, fingerprint
from .errors import IdempotencyConflict, InvalidInputs
from .models import Action, ActionKind, IdempotencyRecord, Run, RunStatus
from .registry import ActionSpec, find_spec, get_spec


def submit(name: str, inputs: dict, idempotency_key: str | None = None) -> Run:
    """Create and enqueue a run of ``name``, or return the run its key is bound to.

    The returned run has ``replayed`` True when the key was already bound to a run
    with the same inputs; that run is returned whatever its status and is never
    executed again. A refused submission writes nothing.
    """
    if idempotency_key is not None:
        idempotency.validate_idempotency_key(idempotency_key)
    spec = get_spec(name)
    data = checked_inputs(inputs)
    inputs = parse_canonical(data)
    validate_schema(spec, inputs)
    digest = fingerprint(data) if idempotency_key is not None else ""
    if idempotency_key is not None:
        # Most duplicates find their run with one read and write nothing; the insert
        # below still decides every race.
        record = idempotency.find_binding(action_id=name, key=idempotency_key)
        if record is not None and not record.is_expired:
            return _replay(record, idempotency_key, digest)
    action = ensure_action(name)

    for _ in range(3):
        now = timezone.now()
        run = Run(
            id=uuid.uuid4(),
            action=action,
            inputs=inputs,
            idempotency_key=idempotency_key,
            created_at=now,
        )
        with transaction.atomic():
            won = idempotency_key is None or idempotency.bind_key(
                action_id=name, key=idempotency_key, fingerprint=digest, run_id=run.id
            )
            if won:
                runs.enqueue(run, now=now)  # sets enqueued_at, which the INSERT stores
                run.save(force_insert=True)
        if won:
            run.replayed = False
            return run
        record = idempotency.find_binding(action_id=name, key=idempotency_key)
        if record is not None:
            return _replay(record, idempotency_key, digest)
        # else pruned between our insert and our read: try to bind again
    raise RuntimeError(f"could not bind idempotency key {idempotency_key!r} after 3 tries")


def submit_step(
    *,
    parent: Run,
    parent_attempt: int,
    action: Action,
    data: bytes,
    step_key: str,
    position: int,
    group: int,
    worker: str | None,
) -> Run | None:
    """A workflow's step as a child run of ``action``, with the canonical inputs ``data``.

    The step is bound like any keyed submission, under the key ``<workflow run>:<step
    key>``; a step bound already returns its run. With ``worker`` the new run is created
    claimed by it (running, attempt 1, its lease), to be executed at once in the
    workflow's process; otherwise it is enqueued. The returned run carries
    ``step_fingerprint``, the fingerprint its workflow first asked with. None when the
    workflow run moved on without this replay (a zombie): nothing is written then.
    """
    digest = fingerprint(data)
    key = f"{parent.pk}:{step_key}"
    now = timezone.now()
    child = Run(
        id=uuid.uuid4(),
        action=action,
        inputs=parse_canonical(data),
        idempotency_key=key,
        created_at=now,
        parent=parent,
        step_key=step_key,
        step_position=position,
        step_group=group,
    )
    if worker is not None:
        child.status = RunStatus.RUNNING
        child.attempts = 1
        child.started_at = child.enqueued_at = now
        child.worker = worker
        child.lease_expires_at = now + timedelta(seconds=action.policy.lease_seconds)
    with transaction.atomic():
        ours = Run.objects.filter(pk=parent.pk, status=RunStatus.RUNNING, attempts=parent_attempt)
        if not ours.exists():
            return None
        if idempotency.bind_key(action_id=action.pk, key=key, fingerprint=digest, run_id=child.id):
            if worker is None:
                runs.enqueue(child, now=now)
            child.save(force_insert=True)
            child.step_fingerprint = digest
            return child
    record = idempotency.find_binding(action_id=action.pk, key=key)
    existing = record.run
    existing.step_fingerprint = record.fingerprint
    return existing


def parse_canonical(data: bytes) -> dict:
    """The inputs that canonical bytes stand for: what is validated is exactly what is stored."""
    return json.loads(data)


def _replay(record: IdempotencyRecord, key: str, digest: str) -> Run:
    """The run ``key`` is bound to, if the inputs are the same; else the key is reused."""
    if record.fingerprint != digest:
        raise IdempotencyConflict(
            f"idempotency key {key!r} was used for run {record.run_id} with different inputs",
            run_id=record.run_id,
        )
    original = record.run
    original.replayed = True
    return original


def validate_schema(spec: ActionSpec, inputs: dict) -> None:
    validator = spec.validator
    if validator is None:
        return
    errors = sorted(validator.iter_errors(inputs), key=lambda e: e.json_path)
    if errors:
        details = [{"path": e.json_path, "message": e.message} for e in errors[:50]]
        raise InvalidInputs(
            f"inputs do not match the schema of {spec.name!r}: {errors[0].message}",
            details=details,
        )


def ensure_action(name: str) -> Action:
    """The action's row, created on first use if ``post_migrate`` has not made it yet."""
    spec = find_spec(name)
    kind = spec.kind if spec is not None else ActionKind.ACTION
    action, _ = Action.objects.get_or_create(name=name, defaults={"kind": kind})
    return action
