"""Submit a mix of demo runs from a separate process (so it can use the Redis broker).

python -m tests.chaos.produce N SEED
"""

import os
import random
import sys


def mix(i: int, rng: random.Random) -> tuple[str, dict]:
    email = f"user{i}@example.com"
    kind = rng.random()
    if kind < 0.4:
        return "charge-subscription", {
            "email": email,
            "amount_cents": 100 + i,
            "work_seconds": 0.05,
        }
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
    count, seed = int(sys.argv[1]), int(sys.argv[2])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from actions import submit

    rng = random.Random(seed)
    for i in range(count):
        action, inputs = mix(i, rng)
        submit(action, inputs, idempotency_key=f"chaos-{seed}-{i}")
    print(f"submitted {count}")


if __name__ == "__main__":
    main()
