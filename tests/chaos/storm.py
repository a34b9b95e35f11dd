"""One process of the duplicate storm: submit every key once, over HTTP or from Python.

    python -m tests.chaos.storm http|python KEYS START_AT [BASE TOKEN]

All processes wait for the same wall-clock START_AT, then submit the keys in their own
shuffled order; each prints one line: how many answers were new runs and replays.
"""

import json
import os
import random
import sys
import time


def main() -> None:
    mode, keys, start_at = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    order = list(range(keys))
    random.Random(os.getpid()).shuffle(order)
    if mode == "python":
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
        import django

        django.setup()
        from actions import submit

        def send(i: int) -> bool:
            return submit("test-counted", {"n": i}, idempotency_key=f"storm-{i}").replayed
    else:
        from tests.chaos.servers import http

        base, token = sys.argv[4], sys.argv[5]

        def send(i: int) -> bool:
            # A client retries a refused or failed request with the same key: that is
            # what the key is for. 503 (database busy) says when to come back.
            status, body = 0, None
            for _ in range(30):
                try:
                    status, body, headers = http(
                        "POST",
                        f"{base}/api/actions/test-counted/runs/",
                        token,
                        {"inputs": {"n": i}},
                        {"Idempotency-Key": f"storm-{i}"},
                    )
                except OSError:
                    time.sleep(0.5)
                    continue
                if status != 503:
                    break
                time.sleep(min(float(headers.get("Retry-After", 1)), 2))
            if status not in (200, 202):
                raise SystemExit(f"HTTP {status}: {body}")
            return status == 200

    time.sleep(max(0.0, start_at - time.time()))
    replays = sum(send(i) for i in order)
    print(json.dumps({"mode": mode, "new": keys - replays, "replays": replays}))


if __name__ == "__main__":
    main()
