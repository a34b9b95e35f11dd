"""Fake external services: a payment gateway, a mail server and a CRM.

They behave like the real ones where it matters to a platform: the gateway
deduplicates by idempotency key, and the CRM answers 429, 5xx and 400 on demand.
"""

import random
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F

from .models import Charge, CrmContact, Email


def charge(*, idempotency_key: str, customer: str, amount_cents: int) -> Charge:
    """Charge once per key; a repeated request returns the first charge and counts the request."""
    try:
        with transaction.atomic():
            return Charge.objects.create(
                idempotency_key=idempotency_key, customer=customer, amount_cents=amount_cents
            )
    except IntegrityError:
        Charge.objects.filter(idempotency_key=idempotency_key).update(requests=F("requests") + 1)
        return Charge.objects.get(idempotency_key=idempotency_key)


def send_email(*, message_id: str, to: str, subject: str) -> Email:
    email, _ = Email.objects.get_or_create(
        message_id=message_id, defaults={"to": to, "subject": subject}
    )
    return email


@dataclass(frozen=True)
class CrmResponse:
    status: int
    body: dict
    retry_after: int | None = None


def crm_update(*, email: str, fields: dict, fail_with: int | None, fail_rate: float) -> CrmResponse:
    """Answer like a CRM's HTTP API: ``fail_with`` forces an error status, ``fail_rate`` a random one."""
    if fail_with is None and fail_rate and random.random() < fail_rate:
        fail_with = random.choice([429, 500, 503, 400])
    if fail_with == 429:
        return CrmResponse(429, {"error": "rate limited"}, retry_after=2)
    if fail_with is not None and fail_with >= 500:
        return CrmResponse(fail_with, {"error": "upstream unavailable"})
    if fail_with is not None and fail_with >= 400:
        return CrmResponse(fail_with, {"error": f"invalid contact {email}"})
    contact, _ = CrmContact.objects.update_or_create(email=email, defaults={"fields": fields})
    return CrmResponse(200, {"id": contact.pk})
