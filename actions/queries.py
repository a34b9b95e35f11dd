"""Counts and aggregates for the dashboard and the API, shaped to stay fast at millions of runs.

Counts are capped ("1,000+") instead of a full-table ``COUNT(*)``, and aggregates are
limited to a time window and cached for a few seconds. Each query names the index that
serves it. Lists are keyset pages (``paging``) of ``RunQuerySet.matching`` (``filters``).
"""

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db.models import Count, IntegerField, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, TruncHour, TruncMinute
from django.utils import timezone
from django.utils.http import urlencode

from .filters import RunFilterSet
from .models import Action, Run, RunStatus

COUNT_CAP = 1000
STATUS_COUNT_CAP = 10_000
CACHE_SECONDS = 15
FAILING = {RunStatus.RETRYING, RunStatus.DEAD, RunStatus.RESOLVED}
P95_SAMPLE = 5000


# --- counts -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CappedCount:
    """A count that stops at ``cap``: shown as "1,000+" rather than scanning everything."""

    value: int
    cap: int

    @property
    def capped(self) -> bool:
        return self.value > self.cap

    def __str__(self) -> str:
        return f"{self.cap:,}+" if self.capped else f"{self.value:,}"

    def __int__(self) -> int:
        return min(self.value, self.cap)


def capped_count(queryset: QuerySet, cap: int | None = None) -> CappedCount:
    """``SELECT COUNT(*) FROM (SELECT id … LIMIT cap + 1)``: stops reading at the cap."""
    cap = COUNT_CAP if cap is None else cap
    return CappedCount(queryset.order_by().values("pk")[: cap + 1].count(), cap)


class CountUpTo(Subquery):
    """``capped_count`` as an expression: the rows of a sliced subquery, counted."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) capped)"
    output_field = IntegerField()


def action_counts() -> dict[str, dict[str, CappedCount]]:
    """Runs of each action by status, each capped, in one statement; cached briefly."""

    def compute() -> dict[str, dict[str, CappedCount]]:
        cap = STATUS_COUNT_CAP
        counts = {
            status: CountUpTo(
                Run.objects.filter(
                    action_id=OuterRef("name"), status=status
                )  # run_action_created_idx
                .order_by()
                .values("pk")[: cap + 1]
            )
            for status in RunStatus.values
        }
        return {
            row.pop("name"): {status: CappedCount(n, cap) for status, n in row.items()}
            for row in Action.objects.order_by().values("name").annotate(**counts)
        }

    return cache.get_or_set("actions:action-counts", compute, CACHE_SECONDS)


# --- the failed page's groups --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FailureGroup:
    action: str
    code: str
    count: int


def failure_groups(filters: RunFilterSet, limit: int = 30) -> list[FailureGroup]:
    """Retrying and dead runs per (action, error code), largest first; cached briefly.

    Groups ignore the code filter so every code stays one click away.
    """
    scope = {name: value for name, value in filters.params.items() if name != "code"}
    key = f"dashboard:failure-groups:{urlencode(scope, doseq=True)}:{limit}"

    def compute() -> list[FailureGroup]:
        rows = (
            Run.objects.failed()
            .matching(RunFilterSet(scope, failed=True))
            .order_by()
            .values("action_id", code=KT("error__code"))
            .annotate(n=Count("pk"))
            .order_by("-n", "action_id")[:limit]
        )
        return [FailureGroup(r["action_id"], r["code"] or "", r["n"]) for r in rows]

    return cache.get_or_set(key, compute, CACHE_SECONDS)


# --- the overview --------------------------------------------------------------------


@dataclass(slots=True)
class Bucket:
    start: datetime
    total: int = 0
    failed: int = 0


@dataclass(slots=True)
class Activity:
    """Runs created in a window, in equal buckets; ``failed`` counts retrying, dead, resolved."""

    label: str
    buckets: list[Bucket]
    by_status: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(b.total for b in self.buckets)

    @property
    def failed(self) -> int:
        return sum(b.failed for b in self.buckets)

    @property
    def failure_rate(self) -> float | None:
        return self.failed / self.total if self.total else None

    @property
    def peak(self) -> int:
        return max((b.total for b in self.buckets), default=0)


@dataclass(slots=True)
class ActionHealth:
    name: str
    by_status: dict[str, int] = field(default_factory=dict)
    p95: float | None = None
    last_failure: datetime | None = None
    retrying: int = 0
    dead: int = 0

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def success_rate(self) -> float | None:
        done = sum(self.by_status.get(s, 0) for s in ("succeeded", "dead", "resolved"))
        return self.by_status.get("succeeded", 0) / done if done else None


def status_counts() -> dict[str, CappedCount]:
    """Runs waiting on something now, each capped; the partial indexes make these cheap."""

    def compute() -> dict[str, CappedCount]:
        return {
            status: capped_count(Run.objects.filter(status=status), STATUS_COUNT_CAP)
            for status in ("queued", "running", "waiting", "retrying", "dead")
        }

    return cache.get_or_set("dashboard:status-counts", compute, CACHE_SECONDS)


def activity(now: datetime | None = None) -> dict[str, Activity]:
    """The last hour by minute and the last day by hour; cached briefly."""

    def compute() -> dict[str, Activity]:
        current = now or timezone.now()
        hour_start = current.replace(second=0, microsecond=0) - timedelta(minutes=59)
        day_start = current.replace(minute=0, second=0, microsecond=0) - timedelta(hours=23)
        return {
            "hour": _activity("last hour", hour_start, timedelta(minutes=1), 60, TruncMinute),
            "day": _activity("last 24 hours", day_start, timedelta(hours=1), 24, TruncHour),
        }

    return cache.get_or_set("dashboard:activity", compute, CACHE_SECONDS)


def _activity(label: str, start: datetime, step: timedelta, n: int, trunc) -> Activity:
    buckets = [Bucket(start + i * step) for i in range(n)]
    by_start = {b.start: b for b in buckets}
    by_status: dict[str, int] = defaultdict(int)
    rows = (
        Run.objects.filter(created_at__gte=start)  # run_created_idx
        .annotate(bucket=trunc("created_at"))
        .values("bucket", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        bucket = by_start.get(row["bucket"])
        if bucket is None:
            continue
        bucket.total += row["n"]
        if row["status"] in FAILING:
            bucket.failed += row["n"]
        by_status[row["status"]] += row["n"]
    return Activity(label=label, buckets=buckets, by_status=dict(by_status))


def action_health(now: datetime | None = None) -> dict[str, ActionHealth]:
    """Per action over the last 24 hours, plus its retrying and dead runs now; cached briefly."""

    def compute() -> dict[str, ActionHealth]:
        since = (now or timezone.now()) - timedelta(days=1)
        health: dict[str, ActionHealth] = {}

        def of(name: str) -> ActionHealth:
            return health.setdefault(name, ActionHealth(name))

        recent = (
            Run.objects.filter(created_at__gte=since)
            .values("action_id", "status")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for row in recent:
            of(row["action_id"]).by_status[row["status"]] = row["n"]

        failing = (
            Run.objects.failed()  # run_failed_idx
            .values("action_id")
            .annotate(
                retrying=Count("pk", filter=Q(status=RunStatus.RETRYING)),
                dead=Count("pk", filter=Q(status=RunStatus.DEAD)),
                last=Max(Coalesce("finished_at", "started_at", "created_at")),
            )
            .order_by()
        )
        for row in failing:
            item = of(row["action_id"])
            item.retrying, item.dead, item.last_failure = row["retrying"], row["dead"], row["last"]

        # p95 over a bounded sample of the newest successes, not every run of the day.
        durations: dict[str, list[float]] = defaultdict(list)
        sample = (
            Run.objects.filter(created_at__gte=since, status=RunStatus.SUCCEEDED)
            .order_by("-created_at", "-id")
            .values_list("action_id", "started_at", "finished_at")[:P95_SAMPLE]
        )
        for name, started, finished in sample:
            if started and finished:
                durations[name].append((finished - started).total_seconds())
        for name, values in durations.items():
            of(name).p95 = percentile(values, 95)
        return health

    return cache.get_or_set("dashboard:action-health", compute, CACHE_SECONDS)


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(math.ceil(pct / 100 * len(ordered)), 1)
    return ordered[rank - 1]
