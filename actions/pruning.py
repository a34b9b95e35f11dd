"""Forget what no longer matters: expired idempotency records and old closed runs."""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Exists, OuterRef
from django.utils import timezone

from .conf import app_settings
from .models import CLOSED, IdempotencyRecord, Run

CHUNK = 1000


@dataclass
class PruneReport:
    records: int = 0
    runs: int = 0


def prune(*, dry_run: bool = False) -> PruneReport:
    """Delete expired idempotency records, then closed runs older than the retention.

    The retention is never shorter than the idempotency TTL (settings), so a run is
    never deleted while its key still protects against a duplicate. ``dry_run`` counts
    what would be deleted now and deletes nothing.
    """
    now = timezone.now()
    report = PruneReport()
    expired = IdempotencyRecord.objects.filter(expires_at__lte=now)
    cutoff = now - timedelta(seconds=app_settings.RUN_RETENTION)
    # A workflow's steps go with their workflow (they are its history), never before.
    old = Run.objects.filter(status__in=CLOSED, finished_at__lt=cutoff, parent__isnull=True)
    if dry_run:
        # The expired records are still there: only a record that would survive keeps a run.
        kept = IdempotencyRecord.objects.filter(run=OuterRef("pk")).exclude(expires_at__lte=now)
        return PruneReport(records=expired.count(), runs=old.exclude(Exists(kept)).count())
    report.records = _delete_in_chunks(expired)
    # A record that survived the first step has not expired: its run must stay.
    old = old.exclude(Exists(IdempotencyRecord.objects.filter(run=OuterRef("pk"))))
    report.runs = _delete_in_chunks(old)
    return report


def _delete_in_chunks(queryset) -> int:
    total = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:CHUNK])
        if not ids:
            return total
        # The condition again in the DELETE: a record rebound since the read must stay.
        queryset.filter(pk__in=ids).delete()
        total += len(ids)
