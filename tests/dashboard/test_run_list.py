"""The runs and failed pages: filters in the URL, keyset pages, capped counts, partials."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from actions import queries
from actions.paging import PAGE_SIZE
from tests.dashboard.conftest import htmx
from tests.factories import make_dead_run, make_run

pytestmark = pytest.mark.django_db


def ids_in(response) -> list[str]:
    return [str(run.pk) for run in response.context["page"].rows]


def make_runs(n: int, action: str = "test-noop", status: str = "succeeded", start=None):
    start = start or timezone.now()
    return [
        make_run(action, status=status, created_at=start - timedelta(seconds=i)) for i in range(n)
    ]


def test_runs_are_listed_newest_first(operator_client):
    runs = make_runs(3)
    response = operator_client.get("/runs/")
    assert response.status_code == 200
    assert ids_in(response) == [str(run.pk) for run in runs]


def test_the_full_page_uses_the_layout_and_loads_htmx_locally(operator_client):
    response = operator_client.get("/runs/")
    html = response.content.decode()
    assert response.template_name == "actions/runs.html"
    assert "actions/base.html" in [t.name for t in response.templates]
    assert '<script src="/static/django_htmx/htmx-2.min.js" defer></script>' in html
    assert 'name="htmx-config"' in html
    assert response["Vary"].count("HX-Request") == 1


def test_htmx_refreshes_get_only_the_table_partial(operator_client):
    make_runs(2)
    response = operator_client.get("/runs/", **htmx("run-table"))
    html = response.content.decode()
    assert response.template_name == "actions/runs.html#run-table"
    assert html.lstrip().startswith('<div id="run-table"')
    assert "<html" not in html
    assert "HX-Request" in response["Vary"]


def test_the_table_refreshes_itself_without_losing_the_page_or_the_filters(operator_client):
    runs = make_runs(PAGE_SIZE + 5)
    first = operator_client.get("/runs/?action=test-noop")
    cursor = first.context["page"].next_cursor.encode()
    url = f"/runs/?action=test-noop&after={cursor}"
    html = operator_client.get(url).content.decode()
    assert f'hx-get="{url.replace("&", "&amp;")}"' in html
    # dashboard.js fires runs-refresh every 5 s, unless the operator selects or types.
    assert 'hx-trigger="runs-refresh from:body, runs-changed from:body"' in html
    refreshed = operator_client.get(url, **htmx("run-table"))
    assert ids_in(refreshed) == [str(run.pk) for run in runs[PAGE_SIZE:]]


def test_keyset_pages_follow_each_other_without_gaps_or_repeats(operator_client):
    now = timezone.now()
    # Same timestamp for several runs: the id breaks the tie.
    runs = [make_run("test-noop", status="succeeded", created_at=now) for _ in range(4)]
    runs += make_runs(PAGE_SIZE * 2, start=now - timedelta(seconds=1))
    seen = []
    url = "/runs/"
    while url:
        response = operator_client.get(url)
        seen += ids_in(response)
        cursor = response.context["page"].next_cursor
        url = f"/runs/?after={cursor.encode()}" if cursor else None
    assert len(seen) == len(runs) == len(set(seen))
    assert set(seen) == {str(run.pk) for run in runs}


def test_a_garbled_cursor_shows_the_first_page(operator_client):
    make_runs(2)
    response = operator_client.get("/runs/?after=not-a-cursor")
    assert response.status_code == 200
    assert len(ids_in(response)) == 2


def test_filters_by_status_action_and_time(operator_client):
    old = make_run("test-noop", status="succeeded", created_at=timezone.now() - timedelta(days=2))
    new = make_run("test-noop", status="succeeded")
    dead = make_dead_run()
    assert ids_in(operator_client.get("/runs/?status=dead")) == [str(dead.pk)]
    assert set(ids_in(operator_client.get("/runs/?action=test-noop"))) == {
        str(old.pk),
        str(new.pk),
    }
    assert ids_in(operator_client.get("/runs/?action=test-noop&since=24h")) == [str(new.pk)]


def test_unknown_filter_values_are_ignored(operator_client):
    make_runs(2)
    response = operator_client.get("/runs/?status=bogus&since=forever")
    assert response.context["filters"].active is False
    assert len(ids_in(response)) == 2


def test_search_finds_a_run_by_id_or_by_idempotency_key(operator_client):
    keyed = make_run("test-noop", idempotency_key="signup-42")
    other = make_run("test-noop")
    assert ids_in(operator_client.get("/runs/?q=signup-42")) == [str(keyed.pk)]
    assert ids_in(operator_client.get(f"/runs/?q={other.pk}")) == [str(other.pk)]
    assert ids_in(operator_client.get(f"/runs/?q={uuid.uuid4()}")) == []


def test_filters_are_kept_in_the_next_page_link(operator_client):
    make_runs(PAGE_SIZE + 1)
    html = operator_client.get("/runs/?action=test-noop&status=succeeded").content.decode()
    assert "?status=succeeded&amp;action=test-noop&amp;cursor=" in html  # the API's name


def test_the_api_parameter_names_work_on_the_dashboard_too(operator_client):
    keyed = make_run("test-noop", status="succeeded", idempotency_key="k-1")
    dead = make_dead_run()
    make_run("test-noop", status="succeeded", created_at=timezone.now() - timedelta(days=2))
    both = operator_client.get("/runs/?status=succeeded&status=dead&idempotency_key=k-1")
    assert ids_in(both) == [str(keyed.pk)]
    after = (timezone.now() - timedelta(hours=1)).isoformat()
    recent = operator_client.get("/runs/", {"created_after": after, "limit": "1"})
    assert ids_in(recent) == [str(dead.pk)]  # the newest, one per page
    assert recent.context["page"].next_cursor is not None


def test_counts_are_capped(operator_client, monkeypatch):
    monkeypatch.setattr(queries, "COUNT_CAP", 5)
    make_runs(7)
    html = operator_client.get("/runs/").content.decode()
    assert "5+ runs" in html


def test_the_runs_page_makes_a_bounded_number_of_queries(
    operator_client, django_assert_max_num_queries
):
    make_runs(PAGE_SIZE + 10)
    for _ in range(5):
        make_dead_run()
    operator_client.get("/runs/")  # warm the session and the permission cache's tables
    # session, user, two permission lookups, the page, the capped count
    with django_assert_max_num_queries(6):
        response = operator_client.get("/runs/")
    assert len(ids_in(response)) == PAGE_SIZE


def test_the_failed_page_makes_a_bounded_number_of_queries(
    operator_client, django_assert_max_num_queries
):
    for i in range(PAGE_SIZE + 10):
        make_dead_run("test-final" if i % 2 else "test-broken")
    # session, user, two permission lookups, the page, the capped count, the groups
    with django_assert_max_num_queries(7):
        response = operator_client.get("/runs/failed/?since=24h")
    assert len(ids_in(response)) == PAGE_SIZE


def test_the_failed_page_lists_only_retrying_and_dead_runs(operator_client):
    dead = make_dead_run()
    retrying = make_run("test-flaky", status="retrying", attempts=1)
    make_run("test-noop", status="succeeded")
    make_run("test-noop", status="queued")
    response = operator_client.get("/runs/failed/")
    assert set(ids_in(response)) == {str(dead.pk), str(retrying.pk)}


def test_the_failed_page_groups_by_action_and_error_code(operator_client):
    for _ in range(3):
        make_dead_run(error={"code": "crm_rejected", "message": "no", "retryable": False})
    make_dead_run("test-broken", error={"code": "exception", "message": "boom", "retryable": True})
    response = operator_client.get("/runs/failed/")
    groups = [(g.action, g.code, g.count) for g in response.context["groups"]]
    assert groups == [("test-final", "crm_rejected", 3), ("test-broken", "exception", 1)]
    assert 'href="?action=test-final&amp;code=crm_rejected"' in response.content.decode()


def test_the_failed_page_filters_by_error_code(operator_client):
    wanted = make_dead_run(error={"code": "crm_rejected", "message": "", "retryable": False})
    make_dead_run(error={"code": "other", "message": "", "retryable": False})
    response = operator_client.get("/runs/failed/?code=crm_rejected")
    assert ids_in(response) == [str(wanted.pk)]


def test_failed_rows_say_why_they_wait(operator_client):
    make_run(
        "test-flaky",
        status="retrying",
        attempts=1,
        error={"code": "flaky", "message": "try later", "retryable": True},
    )
    make_dead_run(error={"code": "bad", "message": "no", "retryable": False})
    make_dead_run("test-broken", error={"code": "exception", "message": "x", "retryable": True})
    html = operator_client.get("/runs/failed/").content.decode()
    assert "next attempt in" in html
    assert "dead-lettered: the error is not retryable" in html
    assert "dead-lettered: the attempt budget is spent" in html
    assert "retryable</span>" in html and "not retryable</span>" in html


def test_a_paused_action_is_named_as_the_reason_a_run_waits(operator_client, operator):
    from actions import operators

    make_run("test-flaky", status="retrying", attempts=1)
    operators.pause("test-flaky", operator)
    # The API's words (rules.waiting_reason), not the dashboard's own.
    assert "the action is paused" in operator_client.get("/runs/failed/").content.decode()
