"""The overview: counts now, activity over the last hour and day, per-action health."""

from datetime import timedelta

import pytest
from django.utils import timezone

from actions import queries
from tests.factories import make_dead_run, make_run

pytestmark = pytest.mark.django_db


def test_shows_counts_activity_and_health(operator_client):
    now = timezone.now()
    for i in range(3):
        run = make_run("test-noop", status="succeeded", created_at=now - timedelta(minutes=i))
        run.started_at, run.finished_at = run.created_at, run.created_at + timedelta(seconds=i + 1)
        run.save()
    make_dead_run("test-final")
    make_run("test-flaky", status="retrying", attempts=1)
    response = operator_client.get("/")
    assert response.status_code == 200
    counts = response.context["counts"]
    assert (int(counts["dead"]), int(counts["retrying"]), int(counts["queued"])) == (1, 1, 0)
    hour = response.context["activity"]["hour"]
    assert (hour.total, hour.failed) == (5, 2)
    health = {h.name: h for h in response.context["health"]}
    assert health["test-noop"].success_rate == 1.0
    assert health["test-noop"].p95 == 3.0
    assert (health["test-final"].dead, health["test-flaky"].retrying) == (1, 1)
    html = response.content.decode()
    assert "<svg" in html and 'class="bar-failed"' in html
    assert 'href="/runs/failed/?action=test-final&amp;status=dead"' in html


def test_aggregates_are_cached_briefly(operator_client, django_assert_max_num_queries):
    operator_client.get("/")
    make_dead_run()
    # session, user, 2 permissions; the aggregates come from the cache
    with django_assert_max_num_queries(4):
        response = operator_client.get("/")
    assert int(response.context["counts"]["dead"]) == 0


def test_the_overview_makes_a_bounded_number_of_queries(
    operator_client, django_assert_max_num_queries
):
    for _ in range(20):
        make_dead_run()
        make_run("test-noop", status="succeeded")
    # session, user, 2 permissions, 5 status counts, 2 activity windows, 3 health queries
    with django_assert_max_num_queries(14):
        operator_client.get("/")


def test_percentile_is_nearest_rank():
    assert queries.percentile([], 95) is None
    assert queries.percentile([1.0], 95) == 1.0
    assert queries.percentile([float(i) for i in range(1, 101)], 95) == 95.0
