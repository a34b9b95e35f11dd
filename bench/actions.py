from actions import action


@action("bench-noop", description="Does nothing; measures the platform's own cost.", max_attempts=1)
def noop(inputs, ctx):
    return {}
