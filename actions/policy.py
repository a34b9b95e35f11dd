"""Retry policy: how many attempts, how long to wait between them, how long one may take.

An action's policy comes from its ``@action`` declaration; an operator may override
any of ``POLICY_FIELDS`` on the action's row. ``registry.effective_policy`` combines the
two; ``RetryPolicy.get_retry_decision`` says what becomes of a failed attempt.
"""

import random
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta

from .conf import app_settings


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """What becomes of a failed attempt: tried again at ``retry_at``, or dead (None)."""

    retry_at: datetime | None

    @property
    def dead(self) -> bool:
        return self.retry_at is None


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

    def __str__(self) -> str:
        """The one description shown to people (the dashboard, the admin)."""
        attempts = "attempt" if self.max_attempts == 1 else "attempts"
        return (
            f"{self.max_attempts} {attempts}, backoff {self.backoff_base}–{self.backoff_max} s, "
            f"timeout {self.timeout} s"
        )

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

    def get_retry_decision(
        self, *, spent: int, retryable: bool, retry_after: float | None, failed_at: datetime
    ) -> RetryDecision:
        """Retry a failed attempt while it is retryable and the budget lasts, else dead.

        ``spent`` is the attempts the budget has used, the failed one included. The wait
        is the handler's ``retry_after`` when it gave one (never negative), else the backoff.
        """
        if not retryable or spent >= self.max_attempts:
            return RetryDecision(retry_at=None)
        delay = retry_after if retry_after is not None else self.backoff(spent)
        return RetryDecision(retry_at=failed_at + timedelta(seconds=max(delay, 0)))

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


# What an action's row may override, in this order everywhere (admin form, API, dashboard).
POLICY_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(RetryPolicy))

# The policy of an action declared without options, and of one this process has no handler for.
DEFAULT_POLICY = RetryPolicy()


def overridden_fields(row) -> list[str]:
    """The policy fields an operator set on ``row`` (an ``Action`` or None)."""
    if row is None:
        return []
    return [name for name in POLICY_FIELDS if getattr(row, name) is not None]
