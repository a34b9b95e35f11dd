"""What /healthz reports (actions/health.py, actions/health_view.py), and the worker's limits."""

from datetime import timedelta
from unittest import mock

import pytest
from django.db import OperationalError
from django.utils import timezone

from actions import health
from actions.models import Action, WorkerHeartbeat
from actions.policy import DEFAULT_POLICY
from actions.registry import all_specs, effective_policy
from tests.factories import make_run

pytestmark = pytest.mark.django_db


def beat(name: str, seconds_ago: float = 0) -> None:
    now = timezone.now()
    WorkerHeartbeat.objects.create(
        name=name, started_at=now, last_seen=now - timedelta(seconds=seconds_ago)
    )


def test_healthz_is_200_ok_with_a_live_worker_and_no_lag(client):
    beat("w:1")
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "workers": 1,
        "queue_lag_seconds": 0.0,
    }
    assert "no-cache" in response["Cache-Control"]


def test_healthz_needs_no_sign_in_and_shows_no_secret(client):
    make_run(inputs={"card": "4242-secret"})
    response = client.get("/healthz")
    assert response.status_code == 200
    assert b"4242-secret" not in response.content


def test_without_a_live_worker_it_is_degraded_but_healthy(client):
    beat("w:gone", seconds_ago=60)  # three heartbeats missed
    response = client.get("/healthz")
    assert response.status_code == 200  # a load balancer keeps the web servers
    assert (response.json()["status"], response.json()["workers"]) == ("degraded", 0)


def test_the_lag_is_the_age_of_the_oldest_queued_run_that_could_start(client):
    make_run(created_at=timezone.now() - timedelta(seconds=30))
    paused = make_run("test-counted", created_at=timezone.now() - timedelta(hours=1))
    Action.objects.filter(pk=paused.action_id).update(paused=True)  # waits on purpose
    make_run("test-flaky", status="retrying", created_at=timezone.now() - timedelta(hours=2))
    lag = client.get("/healthz").json()["queue_lag_seconds"]
    assert 30 <= lag < 40


def test_healthz_is_503_with_retry_after_when_the_database_is_down(client):
    with mock.patch.object(WorkerHeartbeat.objects, "filter", side_effect=OperationalError("down")):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "status": "unavailable",
        "database": "unreachable",
        "workers": None,
        "queue_lag_seconds": None,
    }


def test_healthz_answers_get_only(client):
    assert client.post("/healthz").status_code == 405


def test_health_says_the_same_as_healthz():
    beat("w:1")
    assert health.health() == (
        True,
        {"status": "ok", "database": "ok", "workers": 1, "queue_lag_seconds": 0.0},
    )


def test_the_longest_lease_counts_every_action_and_its_overrides():
    longest = max(effective_policy(spec.name).lease_seconds for spec in all_specs())
    assert health.longest_lease() == longest
    Action.objects.update_or_create(name="test-noop", defaults={"timeout": 900})
    assert (
        health.longest_lease()
        == effective_policy("test-noop", Action.objects.get(pk="test-noop")).lease_seconds
    )
    assert health.longest_lease() > DEFAULT_POLICY.lease_seconds
