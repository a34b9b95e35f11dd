"""Submit demo runs from a separate process (so that it can use the Redis broker).

    python -m tests.chaos.produce N SEED SECONDS [mix|registrations]

A mix of the demo's actions, or N ``user-registration`` workflows (one user each).
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


def registration(i: int, rng: random.Random) -> tuple[str, dict]:
    """A signup whose steps all succeed in the end; some fail transiently first."""
    inputs = {"email": f"user{i}@example.com", "cool_off_seconds": 1, "charge_work_seconds": 0.3}
    trouble = rng.random()
    if trouble < 0.25:
        inputs["email_fail_first"] = 1
    elif trouble < 0.5:
        inputs |= {"crm_fail_with": 503, "crm_fail_first": 1}
    return "user-registration", inputs


def main() -> None:
    count, seed, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    make = registration if sys.argv[4:] == ["registrations"] else mix
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from actions import submit

    rng = random.Random(seed)
    began = time.monotonic()
    for i in range(count):
        time.sleep(max(0.0, began + seconds * i / count - time.monotonic()))
        action, inputs = make(i, rng)
        submit(action, inputs, idempotency_key=f"chaos-{seed}-{i}")
    print(f"submitted {count}")


if __name__ == "__main__":
    main()
