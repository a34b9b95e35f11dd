"""The one definition of the run filters (actions/filters.py), shared by every surface."""

from datetime import UTC, datetime, timedelta

import pytest
from django.http import QueryDict
from django.utils import timezone

from actions import jobs
from actions.filters import RunFilterSet
from actions.models import Run
from actions.paging import Cursor
from tests.factories import make_dead_run, make_dead_workflow, make_run

pytestmark = pytest.mark.django_db


def matching(query: str, **options) -> list[Run]:
    return list(Run.objects.matching(RunFilterSet(QueryDict(query), **options)))


def test_filters_round_trip_through_the_query_string():
    filters = RunFilterSet(
        QueryDict("status=dead&action=test-final&since=24h&code=x&limit=5"), failed=True
    )
    again = RunFilterSet(QueryDict(filters.as_query()), failed=True)
    assert (
        again.params
        == filters.params
        == {
            "status": ["dead"],
            "action": "test-final",
            "since": "24h",
            "code": "x",
        }
    )
    assert again.limit == 5


def test_the_failed_lists_take_only_failed_statuses():
    assert "status" not in RunFilterSet(QueryDict("status=succeeded"), failed=True).params
    assert RunFilterSet(QueryDict("status=succeeded")).params["status"] == ["succeeded"]


def test_an_empty_text_filter_is_no_filter():
    filters = RunFilterSet(QueryDict("action=&q=&code=&idempotency_key="))
    assert filters.is_valid()
    assert (filters.params, filters.active) == ({}, False)


@pytest.mark.parametrize(
    "name", ["status", "since", "created_after", "created_before", "cursor", "after", "limit"]
)
def test_an_empty_typed_value_is_not_valid_and_so_left_out(name):
    filters = RunFilterSet(QueryDict(f"{name}=&action=test-noop"))
    assert not filters.is_valid()  # the API answers 400, as its schema says
    assert filters.params == {"action": "test-noop"}  # the dashboard shows the rest
    assert (filters.cursor, filters.limit) == (None, None)


@pytest.mark.parametrize(
    ("query", "other"),
    [
        ("status=sleeping", "action=test-noop"),
        ("status=dead&status=sleeping", "action=test-noop"),
        ("since=forever", "action=test-noop"),
        ("created_after=yesterday", "action=test-noop"),
        ("created_before=2026-13-01T00:00:00Z", "action=test-noop"),
        ("created_before=0001-01-01T00:00:00%2B01:00", "action=test-noop"),  # before year 1
        ("action=a%00b", "since=7d"),
        ("q=a%00b", "action=test-noop"),
        ("limit=0", "action=test-noop"),
        ("limit=201", "action=test-noop"),
        ("limit=%2B5", "action=test-noop"),
        ("limit=5.0", "action=test-noop"),
        ("cursor=garbled", "action=test-noop"),
    ],
)
def test_invalid_values_make_the_set_invalid_and_are_left_out(query, other):
    make_run()
    filters = RunFilterSet(QueryDict(f"{query}&{other}"))
    assert not filters.is_valid()
    name = query.split("=")[0]
    assert name in filters.errors
    assert name not in filters.params
    assert filters.params == dict([other.split("=")])  # the valid one still applies
    assert len(list(Run.objects.matching(filters))) == 1


def test_each_filter_selects_its_runs():
    t0 = datetime(2026, 1, 1, 12, tzinfo=UTC)
    early = make_run("test-noop", status="succeeded", idempotency_key="k-1", created_at=t0)
    dead = make_dead_run(error={"code": "card_declined", "message": "", "retryable": False})
    retrying = make_run("test-flaky", status="retrying", created_at=timezone.now())
    assert matching("status=dead&status=retrying") == [retrying, dead]
    assert matching("action=test-flaky") == [retrying]
    assert matching("idempotency_key=k-1") == [early]
    assert matching("q=k-1") == [early]
    assert matching(f"q={dead.pk}") == [dead]
    assert matching("code=card_declined") == [dead]
    assert matching("since=1h") == [retrying, dead]
    assert matching("created_before=2026-01-01T12:00:01Z") == [early]
    assert matching("created_after=2026-01-01T12:00:01%2B00:00") == [retrying, dead]
    assert matching("created_after=2026-01-01T12:00:00") == [retrying, dead, early]  # naive: UTC
    assert matching("created_before=2026-01-01T00:00:01-19:56") == [early]  # any offset


def test_since_counts_back_from_the_moment_given():
    run = make_run(created_at=timezone.now() - timedelta(hours=2))
    later = timezone.now() + timedelta(hours=23)
    assert matching("since=24h") == [run]
    assert matching("since=24h", now=later) == []


def test_the_older_name_after_is_the_cursor():
    cursor = Cursor(timezone.now(), make_run().pk)
    assert RunFilterSet(QueryDict(f"after={cursor.encode()}")).cursor == cursor
    newer = Cursor(timezone.now(), make_run().pk)
    both = RunFilterSet(QueryDict(f"after={cursor.encode()}&cursor={newer.encode()}"))
    assert both.cursor == newer


def test_a_jobs_stored_filters_rebuild_the_same_set():
    filters = RunFilterSet(QueryDict("status=dead&action=test-final&cursor=&limit=3"), failed=True)
    stored = filters.params  # what a job keeps: filters, never the page
    assert RunFilterSet(stored, failed=True).params == stored
    assert RunFilterSet({"status": "dead"}, failed=True).params == {"status": ["dead"]}


def test_hidden_inputs_carry_every_value():
    filters = RunFilterSet(QueryDict("status=dead&status=retrying&q=k"))
    assert filters.hidden_inputs() == [("status", "dead"), ("status", "retrying"), ("q", "k")]


def test_kind_selects_workflows_or_actions_and_parent_the_steps_of_one_workflow():
    run, steps = make_dead_workflow()
    plain = make_run("test-noop")
    assert matching("kind=workflow") == [run]
    assert set(matching("kind=action")) == {plain, *steps}
    assert set(matching(f"parent={run.pk}")) == set(steps)
    assert matching(f"parent={run.pk}&status=dead") == [steps[1]]
    assert matching(f"parent={plain.pk}") == []


@pytest.mark.parametrize("query", ["kind=", "kind=job", "parent=", "parent=42"])
def test_a_malformed_kind_or_parent_is_left_out(query):
    filters = RunFilterSet(QueryDict(f"{query}&action=test-noop"))
    assert not filters.is_valid()
    assert filters.params == {"action": "test-noop"}


def test_a_job_stores_the_parent_as_text_and_rebuilds_the_same_set():
    run, steps = make_dead_workflow()
    filters = RunFilterSet(QueryDict(f"parent={run.pk}&kind=action"), failed=True)
    job = jobs.start_job("retried", filters=filters, user=None)
    job.refresh_from_db()
    assert job.filters == {"kind": "action", "parent": str(run.pk)}
    assert job.total == 1  # the dead step
    again = RunFilterSet(job.filters, failed=True)
    assert list(Run.objects.failed().matching(again)) == [steps[1]]
