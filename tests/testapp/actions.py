"""Actions that exist only for tests; workers started by tests load them too."""

import os
import time

from actions import ActionError, action

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
