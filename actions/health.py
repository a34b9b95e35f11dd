"""What /healthz reports, and the limits checked when a worker starts."""

from datetime import timedelta

from django.db import DatabaseError
from django.db.models import Min
from django.utils import timezone

from .conf import app_settings
from .models import Action, Run, RunStatus, WorkerHeartbeat
from .registry import all_specs


def longest_lease() -> int:
    """The longest effective timeout plus grace over every action, overrides included."""
    overrides = {a.name: a for a in Action.objects.all()}
    leases = [0]
    for spec in all_specs():
        row = overrides.get(spec.name)
        policy = row.effective_policy(spec.policy) if row else spec.policy
        leases.append(policy.lease_seconds)
    return max(leases)


def health() -> tuple[bool, dict]:
    """(healthy, report): healthy while the database answers.

    No live worker makes the report ``degraded`` but still healthy: a load balancer
    must not take web servers out of rotation because workers are down.
    """
    now = timezone.now()
    try:
        alive_since = now - timedelta(seconds=3 * app_settings.HEARTBEAT_INTERVAL)
        workers = WorkerHeartbeat.objects.filter(last_seen__gte=alive_since).count()
        oldest = Run.objects.filter(status=RunStatus.QUEUED, action__paused=False).aggregate(
            oldest=Min("created_at")
        )["oldest"]
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
