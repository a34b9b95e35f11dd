"""Bulk operator jobs ("retry all matching"), run in chunks by ``runworker``.

A job acts on the retrying or dead runs that matched its filters when it was
created, each through ``operators.retry`` or ``operators.resolve``, at most once per
run: a run that has an event of the job's kind since the job started was handled
(by this job or by someone else), so it is not picked again even if it failed anew.
A run that raced into another status between the pick and the call is skipped.
"""

import logging

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone

from . import operators
from .filters import RunFilterSet
from .models import EventKind, Job, OperatorEvent, Run

log = logging.getLogger(__name__)

CHUNK = 200
KINDS = {"retry": EventKind.RETRIED, "resolve": EventKind.RESOLVED}  # the jobs there are
VERBS = {kind: verb for verb, kind in KINDS.items()}


def start_job(
    kind: str, *, filters: RunFilterSet, user: AbstractBaseUser | None, note: str = ""
) -> Job:
    """Record a bulk job over every failed run matching ``filters``; the worker runs it."""
    if kind not in VERBS:
        raise ValueError(f"bulk jobs retry or resolve, not {kind!r}")
    note = operators.require_note(VERBS[kind], note)
    job = Job.objects.create(kind=kind, filters=filters.params, note=note, user=user)
    total = _candidates(job).count()
    Job.objects.filter(pk=job.pk).update(total=total)
    job.total = total
    return job


def run_pending_jobs() -> int:
    """Advance unfinished bulk jobs by one chunk each; returns how many runs were touched."""
    pending = Job.objects.filter(finished_at__isnull=True).order_by("pk")
    return sum(advance_job(job_id) for job_id in pending.values_list("pk", flat=True)[:10])


def advance_job(job_id: int, chunk: int = CHUNK) -> int:
    """Apply the job to its next ``chunk`` runs; finish it when none are left.

    The job row is locked for the chunk (skipped if another worker holds it), so two
    workers never work the same chunk; the compare-and-set in the operators keeps
    even that harmless.
    """
    with transaction.atomic():
        job = (
            Job.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("user")
            .filter(pk=job_id, finished_at__isnull=True)
            .first()
        )
        if job is None:
            return 0
        runs = list(_candidates(job).select_related("action")[:chunk])
        if not runs:
            Job.objects.filter(pk=job.pk).update(finished_at=timezone.now())
            return 0
        applied = operators.apply(VERBS[job.kind], runs, job.user, job.note)
        done, skipped = applied.done, len(applied.skipped)
        Job.objects.filter(pk=job.pk).update(done=F("done") + done, skipped=F("skipped") + skipped)
    log.info("job %s: %s %s runs, skipped %s", job.pk, job.kind, done, skipped)
    return done + skipped


def _candidates(job: Job) -> QuerySet:
    filters = RunFilterSet(job.filters, failed=True, now=job.created_at)
    runs = operators.eligible(VERBS[job.kind], Run.objects.failed().matching(filters))
    handled = OperatorEvent.objects.filter(
        run=OuterRef("pk"), kind=job.kind, created_at__gte=job.created_at
    )
    return (
        runs.filter(created_at__lte=job.created_at)
        .exclude(Exists(handled))
        .order_by("created_at", "id")
    )
