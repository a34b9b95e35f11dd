from actions import action, workflow


@action("bench-noop", description="Does nothing; measures the platform's own cost.", max_attempts=1)
def noop(inputs, ctx):
    return {}


@workflow("bench-sequence", description="n sequential no-op steps: measures a workflow's own cost.")
def sequence(wf, inputs):
    for i in range(inputs["n"]):
        wf.step("bench-noop", {"i": i})
    return {}


# bench-noop's timeout (60 s) never fits in this workflow's 30 s, so no step runs inline:
# each goes through the queue, and the workflow replays from the top after each.
@workflow(
    "bench-sequence-queued",
    description="n sequential no-op steps, each through the queue: measures replay.",
    timeout=30,
)
def sequence_queued(wf, inputs):
    for i in range(inputs["n"]):
        wf.step("bench-noop", {"i": i})
    return {}
