"""Entry point of a child process that submits once (safe to spawn or fork)."""

import os


def submit_once(database_url: str, barrier, results) -> None:
    os.environ["DATABASE_URL"] = database_url
    import django

    django.setup()  # a no-op in a forked child
    from actions import submit

    barrier.wait()
    try:
        run = submit("test-counted", {"n": 1}, idempotency_key="race")
        results.put(("ok", str(run.pk), run.replayed))
    except Exception as error:  # noqa: BLE001 - reported by the test
        results.put(("error", repr(error), None))
