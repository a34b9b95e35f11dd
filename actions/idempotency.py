"""Idempotency keys: what a valid key is, and binding (action, key) to one run.

The database's unique constraint on (action, key) decides every race: the
binding is one ``INSERT … ON CONFLICT`` statement (which also rebinds an expired
record), never a read followed by a write.
"""

import re
from datetime import timedelta

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from .conf import app_settings
from .errors import InvalidIdempotencyKey
from .models import IdempotencyRecord, Run

# Visible ASCII (0x21-0x7E) except the comma, the double quote and the backslash.
KEY_RE = re.compile(r"^[\x21\x23-\x2b\x2d-\x5b\x5d-\x7e]{1,255}$")


def validate_idempotency_key(key: object) -> str:
    """Return ``key`` unchanged if valid, else raise ``InvalidIdempotencyKey``."""
    if not isinstance(key, str):
        raise InvalidIdempotencyKey("the idempotency key must be a string")
    if not key:
        raise InvalidIdempotencyKey("the idempotency key is empty")
    if len(key) > 255:
        raise InvalidIdempotencyKey(
            f"the idempotency key is {len(key)} characters long; the limit is 255",
            details={"length": len(key), "limit": 255},
        )
    if not KEY_RE.match(key):
        raise InvalidIdempotencyKey(
            'the idempotency key may hold only visible ASCII characters other than , " and \\'
        )
    return key


def bind_key(*, action_id: str, key: str, fingerprint: str, run_id) -> bool:
    """Bind (action, key) to ``run_id`` unless it is bound to a run and not expired.

    True when this call won the key (a new record, or an expired one rebound).
    Must run inside the transaction that creates the run.
    """
    table = connection.ops.quote_name(IdempotencyRecord._meta.db_table)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    params = [action_id, key, fingerprint, Run._meta.pk.get_db_prep_value(run_id, connection)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (action_id, key, fingerprint, run_id, created_at, expires_at) "
            "VALUES (%s, %s, %s, %s, %s, NULL) "
            "ON CONFLICT (action_id, key) DO UPDATE SET "
            "fingerprint = excluded.fingerprint, run_id = excluded.run_id, "
            "created_at = excluded.created_at, expires_at = NULL "
            f"WHERE {table}.expires_at IS NOT NULL AND {table}.expires_at <= %s "
            "RETURNING id",
            [*params, now, now],
        )
        return cursor.fetchone() is not None


def find_binding(*, action_id: str, key: str) -> IdempotencyRecord | None:
    return (
        IdempotencyRecord.objects.select_related("run").filter(action_id=action_id, key=key).first()
    )


def start_expiry(run_id, *, own: bool = True, steps: bool = False) -> None:
    """The run is closed: its key (``own``) and its workflow steps' keys (``steps``) may
    start new runs once the TTL has passed."""
    if not (own or steps):
        return
    records = IdempotencyRecord.objects.filter(expires_at__isnull=True)
    if own and steps:
        records = records.filter(Q(run_id=run_id) | Q(run__parent_id=run_id))
    elif own:
        records = records.filter(run_id=run_id)
    else:
        records = records.filter(run__parent_id=run_id)
    ttl = timedelta(seconds=app_settings.IDEMPOTENCY_TTL)
    records.update(expires_at=timezone.now() + ttl)
