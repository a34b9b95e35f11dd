"""Read-side queries for the dashboard, shaped to stay fast at millions of runs.

Lists are keyset pages on ``(created_at, id)`` (never OFFSET), counts are capped
("1,000+") instead of a full-table ``COUNT(*)``, and aggregates are limited to a time
window and cached for a few seconds. Each query names the index that serves it.
"""

import math
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.core.cache import cache
from django.db.models import Count, Max, Q, QuerySet
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, TruncHour, TruncMinute
from django.http import QueryDict
from django.utils import timezone
from django.utils.http import urlencode

from .models import Run, RunStatus

PAGE_SIZE = 50
COUNT_CAP = 1000
STATUS_COUNT_CAP = 10_000
CACHE_SECONDS = 15
FAILED_STATUSES = [RunStatus.RETRYING, RunStatus.DEAD]  # the order of run_failed_idx
FAILING = {RunStatus.RETRYING, RunStatus.DEAD, RunStatus.RESOLVED}
RANGES = {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7)}
P95_SAMPLE = 5000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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


# --- filters and keyset pages -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cursor:
    """The last row of a page: the next page starts strictly after it."""

    created_at: datetime
    id: uuid.UUID

    def encode(self) -> str:
        micros = (self.created_at - EPOCH) // timedelta(microseconds=1)
        return f"{micros}.{self.id.hex}"

    @classmethod
    def decode(cls, value: str) -> "Cursor | None":
        try:
            micros, hex_id = value.split(".", 1)
            return cls(EPOCH + timedelta(microseconds=int(micros)), uuid.UUID(hex=hex_id))
        except (ValueError, OverflowError):
            return None


@dataclass(frozen=True, slots=True)
class RunFilters:
    """What the operator asked to see; always round-trips through the URL."""

    status: str = ""
    action: str = ""
    since: str = ""
    q: str = ""
    code: str = ""

    @classmethod
    def from_query(cls, query: QueryDict, *, failed: bool = False) -> "RunFilters":
        statuses = FAILED_STATUSES if failed else RunStatus.values
        status = query.get("status", "")
        since = query.get("since", "")
        return cls(
            status=status if status in statuses else "",
            action=query.get("action", "").strip()[:100],
            since=since if since in RANGES else "",
            q=query.get("q", "").strip()[:255],
            code=query.get("code", "").strip()[:100] if failed else "",
        )

    def as_dict(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in self.__slots__ if getattr(self, name)}

    def as_query(self, **changes: str) -> str:
        values = {**self.as_dict(), **changes}
        return urlencode({k: v for k, v in values.items() if v})

    @property
    def active(self) -> bool:
        return bool(self.as_dict())


def filtered_runs(filters: RunFilters, *, failed: bool = False, now=None) -> QuerySet:
    """Runs matching ``filters``, newest first.

    Without an action this reads ``run_created_idx`` (created_at, id); with one,
    ``run_action_created_idx``; the failed page reads the partial ``run_failed_idx``
    (its ``status IN ('retrying', 'dead')`` must match the index predicate exactly).
    """
    runs = Run.objects.failed() if failed else Run.objects.all()
    if filters.status:
        runs = runs.filter(status=filters.status)
    if filters.action:
        runs = runs.filter(action_id=filters.action)
    if filters.since:
        runs = runs.filter(created_at__gte=(now or timezone.now()) - RANGES[filters.since])
    if filters.code:
        runs = runs.filter(error__code=filters.code)
    if filters.q:
        runs = runs.filter(search_condition(filters.q))
    return runs.order_by("-created_at", "-id")


def search_condition(text: str) -> Q:
    """A run id finds that run; anything else is an idempotency key (``run_key_idx``)."""
    try:
        return Q(pk=uuid.UUID(text)) | Q(idempotency_key=text)
    except ValueError:
        return Q(idempotency_key=text)


def older_than(runs: QuerySet, cursor: Cursor) -> QuerySet:
    """Rows strictly after ``cursor`` in newest-first order."""
    return runs.filter(created_at__lte=cursor.created_at).filter(
        Q(created_at__lt=cursor.created_at) | Q(created_at=cursor.created_at, id__lt=cursor.id)
    )


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[Run]
    next_cursor: Cursor | None
    is_first: bool


def keyset_page(runs: QuerySet, after: Cursor | None = None, size: int = PAGE_SIZE) -> Page:
    """One page of ``runs`` (ordered newest first) starting after ``after``.

    The redundant ``created_at <= cursor`` bound lets the index scan start at the
    cursor instead of filtering every newer row, so page 1,000 costs what page 1 does.
    """
    if after is not None:
        runs = older_than(runs, after)
    rows = list(
        runs.select_related("action").defer("inputs", "result", "resolution_note")[: size + 1]
    )
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = Cursor(rows[-1].created_at, rows[-1].id) if more else None
    return Page(rows=rows, next_cursor=next_cursor, is_first=after is None)


# --- the failed page's groups --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FailureGroup:
    action: str
    code: str
    count: int


def failure_groups(filters: RunFilters, limit: int = 30) -> list[FailureGroup]:
    """Retrying and dead runs per (action, error code), largest first; cached briefly.

    Groups ignore the code filter so every code stays one click away.
    """
    scope = RunFilters(status=filters.status, action=filters.action, since=filters.since)
    key = f"dashboard:failure-groups:{scope.as_query()}:{limit}"

    def compute() -> list[FailureGroup]:
        rows = (
            filtered_runs(scope, failed=True)
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
            for status in ("queued", "running", "retrying", "dead")
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
