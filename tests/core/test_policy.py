from datetime import UTC, datetime, timedelta

import pytest

from actions.models import Action
from actions.policy import (
    DEFAULT_POLICY,
    POLICY_FIELDS,
    RetryDecision,
    RetryPolicy,
    overridden_fields,
)


@pytest.mark.parametrize(
    ("failures", "expected"),
    [(1, 5), (2, 10), (3, 20), (4, 40), (5, 60), (9, 60)],
)
def test_backoff_doubles_from_the_base_and_is_capped(failures, expected):
    policy = RetryPolicy(backoff_base=5, backoff_max=60)
    assert policy.backoff(failures, jitter=False) == expected


def test_equal_jitter_keeps_half_of_the_delay_fixed():
    policy = RetryPolicy(backoff_base=8, backoff_max=600)
    delays = {policy.backoff(3, jitter=True) for _ in range(200)}
    assert all(16 <= d <= 32 for d in delays)
    assert len(delays) > 100  # random, not constant


def test_overrides_replace_only_what_is_set():
    policy = RetryPolicy(max_attempts=3, timeout=60).with_overrides(max_attempts=7, timeout=None)
    assert (policy.max_attempts, policy.timeout) == (7, 60)


@pytest.mark.parametrize(
    "kwargs", [{"max_attempts": 0}, {"timeout": 0}, {"backoff_base": 10, "backoff_max": 5}]
)
def test_nonsense_policies_are_refused(kwargs):
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)


T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("spent", "retryable", "retry_after", "expected"),
    [
        (1, True, None, T0 + timedelta(seconds=5)),  # the backoff after the first failure
        (2, True, None, T0 + timedelta(seconds=10)),  # doubling
        (1, True, 30.0, T0 + timedelta(seconds=30)),  # the handler's own wait wins
        (1, True, 0.0, T0),  # "now" is a wait too
        (1, True, -5.0, T0),  # never in the past
        (3, True, None, None),  # the budget is spent
        (3, True, 1.0, None),  # even with a wait asked for
        (4, True, None, None),  # a lost attempt past the budget
        (1, False, None, None),  # not retryable: dead at once
        (1, False, 1.0, None),
    ],
)
def test_the_retry_decision(spent, retryable, retry_after, expected):
    policy = RetryPolicy(max_attempts=3, backoff_base=5, backoff_max=60)
    decision = policy.get_retry_decision(
        spent=spent, retryable=retryable, retry_after=retry_after, failed_at=T0
    )
    assert decision == RetryDecision(retry_at=expected)
    assert decision.dead is (expected is None)


def test_the_retry_decision_waits_the_jittered_backoff(settings):
    settings.DOPLATFORM_BACKOFF_JITTER = True
    policy = RetryPolicy(max_attempts=5, backoff_base=8)
    decision = policy.get_retry_decision(spent=3, retryable=True, retry_after=None, failed_at=T0)
    assert T0 + timedelta(seconds=16) <= decision.retry_at <= T0 + timedelta(seconds=32)


@pytest.mark.parametrize(
    ("policy", "text"),
    [
        (RetryPolicy(), "3 attempts, backoff 5–600 s, timeout 60 s"),
        (
            RetryPolicy(max_attempts=1, backoff_base=0, timeout=2),
            "1 attempt, backoff 0–600 s, timeout 2 s",
        ),
    ],
)
def test_one_description_for_people(policy, text):
    assert str(policy) == text


def test_the_policy_fields_are_the_policys_own():
    assert POLICY_FIELDS == ("max_attempts", "backoff_base", "backoff_max", "timeout")
    assert RetryPolicy() == DEFAULT_POLICY


def test_overridden_fields_name_what_a_row_sets():
    row = Action(name="x", timeout=5, max_attempts=None, backoff_base=0, backoff_max=None)
    assert overridden_fields(row) == ["backoff_base", "timeout"]
    assert overridden_fields(None) == []
