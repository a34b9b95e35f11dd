"""Submit a mix of demo runs from a separate process (so that it can use the Redis broker).

    python -m tests.chaos.produce N SEED SECONDS

Submissions are spread over SECONDS so that the load lasts while workers are killed.
"""

import os
import random
import sys
import time


def mix(i: int, rng: random.Random) -> tuple[str, dict]:
    email = f"user{i}@example.com"
    kind = rng.random()
    if kind < 0.4:
        return "charge-subscription", {"email": email, "amount_cents": 100 + i, "work_seconds": 0.3}
    if kind < 0.6:
        return "update-user-crm", {
            "email": email,
            "fail_with": 503,
            "fail_first": rng.randint(1, 2),
        }
    if kind < 0.7:
        return "update-user-crm", {"email": email, "fail_with": 400}
    if kind < 0.85:
        return "create-user", {"email": email}
    return "send-welcome-email", {"email": email}


def main() -> None:
    count, seed, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from actions import submit

    rng = random.Random(seed)
    began = time.monotonic()
    for i in range(count):
        time.sleep(max(0.0, began + seconds * i / count - time.monotonic()))
        action, inputs = mix(i, rng)
        submit(action, inputs, idempotency_key=f"chaos-{seed}-{i}")
    print(f"submitted {count}")


if __name__ == "__main__":
    main()
