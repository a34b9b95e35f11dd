"""The app's settings accessor and django-q2 configuration (actions/conf.py)."""

import pytest
from django.conf import settings
from django.test import override_settings

from actions.conf import app_settings, content_security_policy, q_cluster


def test_a_project_that_sets_nothing_gets_the_defaults():
    with override_settings():
        del settings.DOPLATFORM_LEASE_GRACE
        del settings.DOPLATFORM_MAX_INPUT_BYTES
        del settings.DOPLATFORM_RUN_RETENTION
        assert app_settings.LEASE_GRACE == 10
        assert app_settings.MAX_INPUT_BYTES == 256 * 1024
        assert app_settings.RUN_RETENTION == 30 * 24 * 3600
        assert app_settings.SHOW_ENGINE_ADMIN is False


def test_a_project_setting_wins_and_is_read_at_use():
    with override_settings(DOPLATFORM_LEASE_GRACE=3):
        assert app_settings.LEASE_GRACE == 3
    assert app_settings.LEASE_GRACE == settings.DOPLATFORM_LEASE_GRACE


def test_the_run_retention_is_never_shorter_than_the_idempotency_ttl():
    with override_settings(DOPLATFORM_IDEMPOTENCY_TTL=7200, DOPLATFORM_RUN_RETENTION=60):
        assert app_settings.RUN_RETENTION == 7200


def test_q_cluster_uses_the_database_broker_unless_given_redis():
    assert q_cluster()["orm"] == "default"
    assert "redis" not in q_cluster()
    with_redis = q_cluster(redis_url="redis://127.0.0.1:6379/0")
    assert with_redis["redis"] == "redis://127.0.0.1:6379/0"
    assert "orm" not in with_redis


@pytest.mark.parametrize("config", [q_cluster(), q_cluster(workers=8, task_retry=4000)])
def test_q_cluster_leaves_retries_and_results_to_doplatform(config):
    assert config["max_attempts"] == 1
    assert config["ack_failures"] is True
    assert config["save_limit"] == -1
    assert config["retry"] > config["timeout"]


def test_q_cluster_takes_overrides():
    config = q_cluster(workers=4, queue_limit=100)
    assert (config["workers"], config["queue_limit"]) == (4, 100)


def test_the_content_security_policy_allows_only_the_sites_own_files():
    policy = content_security_policy()
    assert policy["default-src"] == policy["script-src"] == policy["style-src"] == ["'self'"]
    assert "'unsafe-inline'" not in str(policy) and "'unsafe-eval'" not in str(policy)
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy == settings.SECURE_CSP  # the reference project's


def test_a_directive_of_the_policy_can_be_replaced():
    policy = content_security_policy(img_src=["'self'", "https://images.example.com"])
    assert policy["img-src"] == ["'self'", "https://images.example.com"]
    assert policy["script-src"] == ["'self'"]
