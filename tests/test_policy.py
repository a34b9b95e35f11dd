import pytest

from actions.policy import RetryPolicy


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
