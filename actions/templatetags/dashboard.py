"""Template filters for the dashboard. None of them marks anything safe: autoescape applies."""

import json
from datetime import datetime, timedelta

from django import template
from django.utils import timezone

from actions import operators, rules
from actions.models import RunStatus

register = template.Library()

STEP_ENDS = {
    "step_dead": "is dead; a retry retries that step",
    "step_cancelled": "was cancelled",
    "step_resolved": "was resolved without an output",
}


@register.filter
def pretty_json(value) -> str:
    """Indented JSON for a ``<pre>``; returned as plain text, so the template escapes it."""
    if value is None:
        return "null"
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


@register.filter
def seconds(value: float | timedelta | None) -> str:
    """A duration an operator can read at a glance: 850 ms, 12.3 s, 4 min 05 s, 2 h 10 min."""
    if value is None:
        return "—"
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 60:
        return f"{value:.1f} s"
    minutes, secs = divmod(int(value), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


@register.filter
def since(start: datetime | None, end: datetime | None = None) -> str:
    """Seconds between two datetimes (``end`` defaults to now), formatted by ``seconds``."""
    if start is None:
        return "—"
    return seconds(((end or timezone.now()) - start).total_seconds())


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


@register.filter
def short_id(value) -> str:
    return str(value)[:8]


@register.filter
def may(user, verb: str) -> bool:
    """Whether ``user`` holds the permission to ``verb`` (``rules.user_may``)."""
    return rules.user_may(user, verb)


@register.filter
def allows(run, verb: str) -> bool:
    """Whether ``run``'s status lets an operator ``verb`` it (retry, resolve, cancel)."""
    return operators.allows(run, verb)


@register.filter
def died_of_step(run) -> bool:
    """A dead workflow whose retry goes to its dead step (``rules.died_of_step``)."""
    return rules.died_of_step(run)


@register.filter
def waiting(run) -> str:
    """What a run is waiting for, in words; empty once nothing will happen by itself."""
    reason = rules.waiting_reason(run)
    if reason:
        return reason
    if run.status == RunStatus.QUEUED:
        return "waits for a worker"
    if run.status == RunStatus.RUNNING:
        return f"running on {run.worker or 'a worker'} for {since(run.started_at)}"
    if run.status == RunStatus.RETRYING:
        if run.next_attempt_at is None:
            return "next attempt soon"
        delta = (run.next_attempt_at - timezone.now()).total_seconds()
        when = f"in {seconds(delta)}" if delta > 0 else "due now"
        return f"next attempt {when} ({run.next_attempt_at:%H:%M:%S} UTC)"
    if run.status == RunStatus.DEAD:
        error = run.error or {}
        step = rules.failed_step(run)
        if step is not None:
            ended = STEP_ENDS.get(error.get("code"), "ended")
            return f"dead-lettered: its step {step['step']} {ended}"
        if error.get("retryable") is False:
            return "dead-lettered: the error is not retryable"
        return "dead-lettered: the attempt budget is spent"
    return ""


@register.filter
def query_with(filters, group) -> str:
    """The query string of ``filters`` narrowed to one failure group (action, error code)."""
    return filters.as_query(action=group.action, code=group.code)


@register.filter
def query_after(filters, cursor) -> str:
    """The query string of the page after ``cursor`` with the same filters."""
    return filters.as_query(cursor=cursor.encode())


@register.filter
def get_item(mapping: dict, key):
    return mapping.get(key)
