"""The user-registration story, written as a user of doplatform would write it."""

import os
import time

from actions import ActionError, action

from . import services
from .models import Customer

EMAIL = {"type": "string", "minLength": 3, "maxLength": 254, "pattern": "^[^@\\s]+@[^@\\s]+$"}


@action(
    "create-user",
    description="Create the customer account for a signup.",
    inputs_schema={
        "type": "object",
        "properties": {"email": EMAIL, "name": {"type": "string", "maxLength": 200}},
        "required": ["email"],
    },
    max_attempts=3,
    backoff_base=1,
)
def create_user(inputs, ctx):
    customer, created = Customer.objects.get_or_create(
        email=inputs["email"], defaults={"name": inputs.get("name", "")}
    )
    return {"customer_id": customer.pk, "created": created}


@action(
    "charge-subscription",
    description="Charge the first month; the run id is the gateway's idempotency key.",
    inputs_schema={
        "type": "object",
        "properties": {
            "email": EMAIL,
            "amount_cents": {"type": "integer", "minimum": 1, "maximum": 10_000_000},
            "plan": {"type": "string", "maxLength": 50},
            "work_seconds": {"type": "number", "minimum": 0, "maximum": 600},
        },
        "required": ["email", "amount_cents"],
    },
    max_attempts=5,
    backoff_base=1,
    backoff_max=30,
    timeout=30,
)
def charge_subscription(inputs, ctx):
    charge = services.charge(
        idempotency_key=ctx.run_id, customer=inputs["email"], amount_cents=inputs["amount_cents"]
    )
    # Slow work after the charge: where a crash tests that a retry never charges twice.
    if inputs.get("work_seconds"):
        time.sleep(inputs["work_seconds"])
    return {"charge_id": charge.pk, "amount_cents": charge.amount_cents}


@action(
    "send-welcome-email",
    description="Send the welcome email once per run.",
    inputs_schema={
        "type": "object",
        "properties": {"email": EMAIL, "name": {"type": "string", "maxLength": 200}},
        "required": ["email"],
    },
    max_attempts=5,
    backoff_base=2,
)
def send_welcome_email(inputs, ctx):
    email = services.send_email(
        message_id=ctx.run_id,
        to=inputs["email"],
        subject=f"Welcome, {inputs.get('name') or 'friend'}!",
    )
    return {"message_id": email.message_id}


@action(
    "update-user-crm",
    description="Copy the signup to the CRM, which rate-limits and fails now and then.",
    inputs_schema={
        "type": "object",
        "properties": {
            "email": EMAIL,
            "fields": {"type": "object"},
            "fail_with": {"enum": [400, 429, 500, 502, 503]},
            "fail_first": {"type": "integer", "minimum": 0},
            "fail_rate": {"type": "number", "minimum": 0, "maximum": 1},
        },
        "required": ["email"],
    },
    max_attempts=4,
    backoff_base=1,
    backoff_max=20,
)
def update_user_crm(inputs, ctx):
    fail_with = inputs.get("fail_with")
    if fail_with is not None and ctx.attempt > inputs.get("fail_first", 1_000_000):
        fail_with = None
    fail_rate = inputs.get("fail_rate", float(os.getenv("DEMO_CRM_FAILURE_RATE", "0")))
    response = services.crm_update(
        email=inputs["email"],
        fields=inputs.get("fields", {}),
        fail_with=fail_with,
        fail_rate=fail_rate,
    )
    if response.status == 429:
        raise ActionError(
            "crm_rate_limited",
            "the CRM answered 429 Too Many Requests",
            retryable=True,
            retry_after=response.retry_after,
        )
    if response.status >= 500:
        raise ActionError("crm_unavailable", f"the CRM answered {response.status}", retryable=True)
    if response.status >= 400:
        return {
            "success": False,
            "error": "crm_rejected",
            "message": f"the CRM answered {response.status}: {response.body['error']}",
            "retryable": False,
        }
    return {"crm_id": response.body["id"]}
