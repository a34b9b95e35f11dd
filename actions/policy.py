"""Retry policy: how many attempts, how long to wait between them, how long one may take."""

import random
from dataclasses import dataclass, replace

from .conf import app_settings


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 3
    backoff_base: int = 5
    backoff_max: int = 600
    timeout: int = 60

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.backoff_base < 0 or self.backoff_max < self.backoff_base:
            raise ValueError("need 0 <= backoff_base <= backoff_max")
        if self.timeout < 1:
            raise ValueError("timeout must be at least 1 second")

    def with_overrides(self, **overrides: int | None) -> "RetryPolicy":
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def backoff(self, failures: int, *, jitter: bool | None = None) -> float:
        """Seconds to wait after the ``failures``-th failed attempt (1-based).

        Exponential, capped, with equal jitter: half of the delay is fixed and half
        random, so retries spread out but never come sooner than half the schedule.
        """
        delay = min(self.backoff_max, self.backoff_base * 2 ** max(failures - 1, 0))
        if jitter is None:
            jitter = app_settings.BACKOFF_JITTER
        if not jitter:
            return float(delay)
        return delay / 2 + random.uniform(0, delay / 2)

    @property
    def lease_seconds(self) -> int:
        """How long a claim holds before the dispatcher presumes its worker dead."""
        return self.timeout + app_settings.LEASE_GRACE

    @property
    def backstop_seconds(self) -> int:
        """When django-q2 kills a worker stuck past our own timer: within the lease's grace.

        Our timer (SIGALRM) cannot interrupt a handler stuck in C code; django-q2's guard
        kills the whole worker process, and it must do so before the lease expires and
        another worker starts the run.
        """
        return self.timeout + max(1, app_settings.LEASE_GRACE // 2)
