"""The user-registration story, written as a user of doplatform would write it."""

import os
import time

from actions import ActionError, action, workflow

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
    description=(
        "Send the welcome email once per run; the mail server is busy for the first "
        "`fail_first` attempts."
    ),
    inputs_schema={
        "type": "object",
        "properties": {
            "email": EMAIL,
            "name": {"type": "string", "maxLength": 200},
            "fail_first": {"type": "integer", "minimum": 0},
        },
        "required": ["email"],
    },
    max_attempts=5,
    backoff_base=2,
)
def send_welcome_email(inputs, ctx):
    if ctx.attempt <= inputs.get("fail_first", 0):
        raise ActionError(
            "smtp_unavailable", "the mail server answered 421 Try again later", retryable=True
        )
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


@workflow(
    "user-registration",
    description=(
        "Sign a user up: the account, the first month's charge, a cool-off, then the welcome "
        "email and the CRM in parallel. A failed step is retried or repaired on its own."
    ),
    inputs_schema={
        "type": "object",
        "properties": {
            "email": EMAIL,
            "name": {"type": "string", "maxLength": 200},
            "cool_off_seconds": {"type": "number", "minimum": 0, "maximum": 3600},
            # Knobs for the demo and the chaos tests: the outside world misbehaving.
            "email_fail_first": {"type": "integer", "minimum": 0},
            "crm_fail_with": {"enum": [400, 429, 500, 502, 503]},
            "crm_fail_first": {"type": "integer", "minimum": 0},
            "charge_work_seconds": {"type": "number", "minimum": 0, "maximum": 600},
        },
        "required": ["email"],
    },
    # The function only orchestrates: its attempts are spent by a bug in it, or by an
    # execution lost with its worker. A replay that finds a step pending, or a step that
    # succeeds, starts a fresh budget, so only executions killed back to back before any
    # step finishes spend it: five tolerates that; a bug is dead within ~15 s of backoff.
    max_attempts=5,
    backoff_base=1,
    backoff_max=30,
)
def register(wf, inputs):
    email, name = inputs["email"], inputs.get("name", "")
    user = wf.step("create-user", {"email": email, "name": name})
    charge = {"email": email, "amount_cents": 1900, "plan": "pro"}
    charged = wf.step("charge-subscription", charge | knobs(inputs, work_seconds="charge"))
    wf.sleep("cool-off", seconds=inputs.get("cool_off_seconds", 2))
    welcome = {"email": email, "name": name} | knobs(inputs, fail_first="email")
    crm = {"email": email, "fields": {"plan": "pro", "customer_id": user["customer_id"]}}
    crm |= knobs(inputs, fail_with="crm", fail_first="crm")
    wf.gather(
        wf.start("send-welcome-email", welcome),
        wf.start("update-user-crm", crm),
    )
    return {"user_id": user["customer_id"], "charge_id": charged["charge_id"]}


def knobs(inputs: dict, **steps: str) -> dict:
    """A step's failure knobs from the workflow's inputs: ``fail_first="crm"`` passes
    ``crm_fail_first`` on as ``fail_first`` when it is given."""
    return {
        knob: inputs[f"{step}_{knob}"] for knob, step in steps.items() if f"{step}_{knob}" in inputs
    }
