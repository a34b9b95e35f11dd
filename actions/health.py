"""What /healthz reports, and the limits checked when a worker starts."""

from datetime import timedelta

from django.db import DatabaseError
from django.db.models import Min
from django.utils import timezone

from .conf import app_settings
from .models import Action, Run, RunStatus, WorkerHeartbeat
from .registry import all_specs, effective_policy


def longest_lease() -> int:
    """The longest effective timeout plus grace over every action, overrides included."""
    rows = Action.objects.in_bulk()
    leases = [
        effective_policy(spec.name, rows.get(spec.name)).lease_seconds for spec in all_specs()
    ]
    return max(leases, default=0)


def health() -> tuple[bool, dict]:
    """(healthy, report): healthy while the database answers.

    No live worker makes the report ``degraded`` but still healthy: a load balancer
    must not take web servers out of rotation because workers are down.
    """
    now = timezone.now()
    try:
        alive_since = now - timedelta(seconds=3 * app_settings.HEARTBEAT_INTERVAL)
        workers = WorkerHeartbeat.objects.filter(last_seen__gte=alive_since).count()
        queued = Run.objects.waiting(now).filter(status=RunStatus.QUEUED)
        oldest = queued.aggregate(oldest=Min("created_at"))["oldest"]
    except DatabaseError:
        return False, {
            "status": "unavailable",
            "database": "unreachable",
            "workers": None,
            "queue_lag_seconds": None,
        }
    lag = (now - oldest).total_seconds() if oldest else 0.0
    report = {
        "status": "ok" if workers else "degraded",
        "database": "ok",
        "workers": workers,
        "queue_lag_seconds": round(lag, 3),
    }
    return True, report
