"""Actions that exist only for tests; workers started by tests load them too."""

import os
import time

from actions import ActionError, action, workflow

from .models import Execution


def executed(ctx) -> None:
    Execution.objects.create(run_id=ctx.run_id, attempt=ctx.attempt, pid=os.getpid())


@action("test-noop", max_attempts=1)
def noop(inputs, ctx):
    return {}


@action("test-counted", max_attempts=3, backoff_base=1)
def counted(inputs, ctx):
    executed(ctx)
    return {"n": inputs.get("n")}


@action(
    "test-flaky",
    max_attempts=5,
    backoff_base=1,
    backoff_max=8,
    inputs_schema={"type": "object", "properties": {"fail_times": {"type": "integer"}}},
)
def flaky(inputs, ctx):
    executed(ctx)
    if ctx.attempt <= inputs.get("fail_times", 0):
        raise ActionError("flaky", f"failing attempt {ctx.attempt} on purpose", retryable=True)
    return {"attempt": ctx.attempt}


@action("test-final", max_attempts=5, backoff_base=1)
def final(inputs, ctx):
    executed(ctx)
    raise ActionError("bad_request", inputs.get("message", "refused for good"), retryable=False)


@action("test-broken", max_attempts=2, backoff_base=1)
def broken(inputs, ctx):
    executed(ctx)
    raise RuntimeError("handler bug")


@action("test-sleep", max_attempts=2, backoff_base=1, timeout=2)
def sleep(inputs, ctx):
    executed(ctx)
    time.sleep(inputs.get("seconds", 0))
    return {"slept": inputs.get("seconds", 0)}


@action(
    "test-schema",
    inputs_schema={
        "type": "object",
        "properties": {
            "email": {"type": "string", "format": "email"},
            "age": {"type": "integer", "minimum": 0},
        },
        "required": ["email"],
        "additionalProperties": False,
    },
)
def schema(inputs, ctx):
    return {"ok": True}


# --- workflows ------------------------------------------------------------------------

# In-process tests flip this to make a workflow ask for something else on its next replay;
# a worker started with TEST_WF_FICKLE_SECOND runs "a new deploy" of test-wf-fickle.
CHANGE_OF_MIND: dict[str, object] = {}


@workflow("test-wf-sequence", inputs_schema={"type": "object"})
def wf_sequence(wf, inputs):
    a = wf.step("test-counted", {"n": 1})
    b = wf.step("test-flaky", {"fail_times": inputs.get("fail_times", 0)})
    c = wf.step("test-counted", {"n": a["n"] + 1})
    return {"a": a, "b": b, "c": c}


@workflow("test-wf-final")
def wf_final(wf, inputs):
    first = wf.step("test-counted", {"n": 1})
    wf.step("test-final", {"message": inputs.get("message", "refused for good")})
    return {"first": first}


@workflow("test-wf-parallel")
def wf_parallel(wf, inputs):
    handles = [wf.start("test-counted", {"n": i}) for i in range(inputs.get("n", 3))]
    return {"results": wf.gather(*handles)}


@workflow("test-wf-sleep")
def wf_sleep(wf, inputs):
    wf.sleep("nap", seconds=inputs.get("seconds", 60))
    return wf.step("test-counted", {"n": 1})


@workflow("test-wf-loop")
def wf_loop(wf, inputs):
    return {
        "items": [
            wf.step("test-counted", {"n": item}, key=f"item-{item}") for item in inputs["items"]
        ]
    }


@workflow("test-wf-recorded")
def wf_recorded(wf, inputs):
    now = wf.now()
    token = wf.uuid()
    step = wf.step("test-counted", {"n": 1})
    return {"now": now.isoformat(), "uuid": str(token), "step": step}


@workflow("test-wf-fickle")
def wf_fickle(wf, inputs):
    wf.step("test-counted", {"n": CHANGE_OF_MIND.get("n", 1)})
    second = CHANGE_OF_MIND.get("second", os.environ.get("TEST_WF_FICKLE_SECOND", "test-flaky"))
    wf.step(str(second), {"fail_times": 1})
    return {}


@workflow("test-wf-broken", max_attempts=2, backoff_base=1)
def wf_broken(wf, inputs):
    wf.step("test-counted", {"n": 1})
    if inputs.get("final"):
        raise ActionError("wf_refused", "the workflow refuses", retryable=False)
    raise RuntimeError("workflow bug")


@workflow("test-wf-wide", timeout=5)
def wf_wide(wf, inputs):
    return {"results": wf.gather(*[wf.start("test-noop", {}) for _ in range(inputs["n"])])}


@workflow("test-wf-long")
def wf_long(wf, inputs):
    for i in range(inputs["n"]):
        wf.step("test-noop", {"i": i})
    return {}


@action("test-refuse-first", max_attempts=3, backoff_base=1)
def refuse_first(inputs, ctx):
    """Refused for good while ``ctx.attempt <= fail_first``: an operator's retry gets past it."""
    executed(ctx)
    if ctx.attempt <= inputs.get("fail_first", 1):
        raise ActionError("refused", f"attempt {ctx.attempt} refused", retryable=False)
    return {"attempt": ctx.attempt}


@workflow("test-wf-repair")
def wf_repair(wf, inputs):
    first = wf.step("test-counted", {"n": 1})
    middle = wf.step("test-refuse-first", {"fail_first": inputs.get("fail_first", 1)})
    last = wf.step("test-counted", {"n": 3})
    return {"first": first, "middle": middle, "last": last}


@workflow(
    "test-wf-signup",
    description="A signup from the demo's actions: account, CRM, then email and charge at once.",
)
def wf_signup(wf, inputs):
    """The browser tests' workflow: realistic steps, one of which the CRM may refuse."""
    email = inputs["email"]
    user = wf.step("create-user", {"email": email, "name": inputs.get("name", "")})
    crm = wf.step("update-user-crm", {"email": email, **inputs.get("crm", {})})
    welcome, charge = wf.gather(
        wf.start("send-welcome-email", {"email": email, "name": inputs.get("name", "")}),
        wf.start("charge-subscription", {"email": email, "amount_cents": 1900, "plan": "basic"}),
    )
    return {
        "customer_id": user["customer_id"],
        "crm_id": crm["crm_id"],
        "message_id": welcome["message_id"],
        "charge_id": charge["charge_id"],
    }


@workflow("test-wf-pair")
def wf_pair(wf, inputs):
    """Two slow steps at once: each takes a worker process of its own."""
    seconds = inputs.get("seconds", 1)
    left, right = wf.gather(
        wf.start("test-sleep", {"seconds": seconds}), wf.start("test-sleep", {"seconds": seconds})
    )
    return {"left": left, "right": right}


@workflow("test-wf-slow-middle", backoff_base=1)
def wf_slow_middle(wf, inputs):
    """A slow step between two quick ones: where a crash lands."""
    first = wf.step("test-counted", {"n": 1})
    middle = wf.step("test-sleep", {"seconds": inputs.get("seconds", 1.5)})
    last = wf.step("test-counted", {"n": 3})
    return {"first": first, "middle": middle, "last": last}
