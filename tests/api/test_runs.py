"""GET /api/runs/ and /api/runs/<id>/; POST /api/runs/<id>/retry|resolve|cancel/."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from actions import cancel, retry
from actions.models import Attempt, OperatorEvent, Run, RunStatus
from tests.api.helpers import error_of, post_raw
from tests.factories import make_dead_run, make_run

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def ids(response) -> list[str]:
    return [run["id"] for run in response.json()["results"]]


# --- list ----------------------------------------------------------------------------


def test_the_list_is_newest_first(as_viewer):
    old = make_run(created_at=T0)
    new = make_run(created_at=T0 + timedelta(minutes=1))
    response = as_viewer.get("/api/runs/")
    assert response.status_code == 200
    assert ids(response) == [str(new.pk), str(old.pk)]
    assert response.json()["next"] is None


def test_the_list_filters_by_status_action_and_key(as_viewer):
    dead = make_dead_run("test-final", idempotency_key="k-1")
    retrying = make_run("test-flaky", status=RunStatus.RETRYING, idempotency_key="k-2")
    make_run("test-noop", status=RunStatus.SUCCEEDED, idempotency_key="k-1")
    assert ids(as_viewer.get("/api/runs/?status=dead")) == [str(dead.pk)]
    assert set(ids(as_viewer.get("/api/runs/?status=dead&status=retrying"))) == {
        str(dead.pk),
        str(retrying.pk),
    }
    assert ids(as_viewer.get("/api/runs/?action=test-flaky")) == [str(retrying.pk)]
    assert ids(as_viewer.get("/api/runs/?action=test-final&idempotency_key=k-1")) == [str(dead.pk)]
    assert ids(as_viewer.get("/api/runs/?action=no-such-action")) == []


def test_the_list_filters_by_creation_time(as_viewer):
    runs = [make_run(created_at=T0 + timedelta(hours=h)) for h in range(4)]
    response = as_viewer.get(
        "/api/runs/",
        {"created_after": "2026-01-01T13:00:00Z", "created_before": "2026-01-01T15:00:00+00:00"},
    )
    assert ids(response) == [str(runs[2].pk), str(runs[1].pk)]
    naive = as_viewer.get("/api/runs/", {"created_after": "2026-01-01T14:00:00"})
    assert ids(naive) == [str(runs[3].pk), str(runs[2].pk)]


@pytest.mark.parametrize(
    "query",
    [
        "status=sleeping",
        "created_after=yesterday",
        "created_after=2026-13-01T00:00:00Z",
        "created_before=2026-01-01T00:00:00 01:00",  # an unescaped + became a space
        "limit=0",
        "limit=201",
        "limit=ten",
        "cursor=not-a-cursor",
        "cursor=" + "A" * 7,
        "action=a%00b",
        "idempotency_key=%00",
        "status=",
        "since=forever",
        "since=",
        "created_after=",
        "cursor=",
        "after=not-a-cursor",
        "limit=",
        "q=%00",
    ],
)
def test_a_malformed_query_is_400_invalid_query(as_viewer, query):
    response = as_viewer.get(f"/api/runs/?{query}")
    assert response.status_code == 400
    assert error_of(response) == "invalid_query"
    name = query.split("=")[0]
    assert {"after": "cursor"}.get(name, name) in response.json()["details"]


def test_the_dashboards_filters_work_here_too(as_viewer):
    keyed = make_run(idempotency_key="signup-7", created_at=T0)
    dead = make_dead_run(error={"code": "card_declined", "message": "", "retryable": False})
    assert ids(as_viewer.get("/api/runs/?q=signup-7")) == [str(keyed.pk)]
    assert ids(as_viewer.get(f"/api/runs/?q={dead.pk}")) == [str(dead.pk)]
    assert ids(as_viewer.get("/api/runs/?code=card_declined")) == [str(dead.pk)]
    assert ids(as_viewer.get("/api/runs/?since=1h")) == [str(dead.pk)]


def test_an_empty_text_filter_is_no_filter(as_viewer):
    run = make_run()
    assert ids(as_viewer.get("/api/runs/?action=&idempotency_key=&q=&code=")) == [str(run.pk)]


def test_the_older_cursor_name_after_is_understood_and_next_uses_cursor(as_viewer):
    runs = [make_run(created_at=T0 + timedelta(seconds=i)) for i in range(3)]
    first = as_viewer.get("/api/runs/?limit=1").json()
    cursor = first["next"].split("cursor=")[1]
    second = as_viewer.get(f"/api/runs/?limit=1&after={cursor}")
    assert ids(second) == [str(runs[1].pk)]
    assert "after=" not in second.json()["next"] and "cursor=" in second.json()["next"]


def test_cursor_pages_walk_every_run_once_even_with_equal_timestamps(as_viewer):
    runs = [make_run(created_at=T0 + timedelta(seconds=i // 3)) for i in range(11)]
    seen: list[str] = []
    url = "/api/runs/?limit=4"
    pages = 0
    while url:
        response = as_viewer.get(url)
        assert response.status_code == 200
        seen += ids(response)
        url = response.json()["next"]
        pages += 1
    assert pages == 3
    expected = sorted(runs, key=lambda run: (run.created_at, run.pk), reverse=True)
    assert seen == [str(run.pk) for run in expected]


def test_the_next_link_keeps_the_filters(as_viewer):
    for _ in range(3):
        make_dead_run()
    make_run()
    first = as_viewer.get("/api/runs/?status=dead&limit=2")
    second = as_viewer.get(first.json()["next"])
    assert len(ids(first)) == 2 and len(ids(second)) == 1
    assert second.json()["next"] is None


def test_the_list_reads_a_bounded_number_of_queries(
    as_viewer, operator, django_assert_max_num_queries
):
    for _ in range(3):
        run = make_dead_run()
        Run.objects.filter(pk=run.pk).update(
            resolved_by=operator, resolved_at=T0, resolution_note="n"
        )
    for _ in range(20):
        make_dead_run()
    with django_assert_max_num_queries(4):  # token, 2 permission reads, the page
        response = as_viewer.get("/api/runs/")
    assert len(ids(response)) == 23


# --- detail --------------------------------------------------------------------------


def test_the_detail_has_attempts_and_events(as_operator, operator):
    run = make_dead_run(attempts=2, error={"code": "boom", "message": "m", "retryable": True})
    Attempt.objects.filter(run=run, number=2).update(traceback="Traceback <b>&</b>")
    retry(run, operator, note="upstream fixed")
    body = as_operator.get(f"/api/runs/{run.pk}/").json()
    assert body["status"] == "queued"
    assert body["attempt_count"] == 2
    assert [a["number"] for a in body["attempts"]] == [1, 2]
    attempt = body["attempts"][1]
    assert attempt["outcome"] == "failed"
    assert attempt["error_code"] == "boom"
    assert attempt["retryable"] is True
    assert attempt["duration"] == pytest.approx(1.0)
    assert attempt["traceback"] == "Traceback <b>&</b>"  # JSON, not HTML: nothing escaped
    assert body["events"] == [
        {
            "kind": "retried",
            "user": operator.username,
            "note": "upstream fixed",
            "details": None,
            "created_at": body["events"][0]["created_at"],
        }
    ]


def test_tracebacks_are_for_users_who_may_retry(as_viewer):
    run = make_dead_run()
    Attempt.objects.filter(run=run).update(traceback="Traceback ...")
    body = as_viewer.get(f"/api/runs/{run.pk}/").json()
    assert body["attempts"][0]["traceback"] is None


def test_the_detail_reads_a_bounded_number_of_queries(as_viewer, django_assert_max_num_queries):
    run = make_dead_run(attempts=5)
    with django_assert_max_num_queries(6):  # token, 2 permission reads, run, attempts, events
        response = as_viewer.get(f"/api/runs/{run.pk}/")
    assert len(response.json()["attempts"]) == 5


@pytest.mark.parametrize("run_id", [str(uuid.uuid4()), "not-a-uuid", "1", "%20"])
def test_an_unknown_or_malformed_run_id_is_404_not_found(as_operator, run_id):
    response = as_operator.get(f"/api/runs/{run_id}/")
    assert response.status_code == 404
    assert error_of(response) == "not_found"


# --- operator actions ----------------------------------------------------------------


def test_retry_queues_a_dead_run_and_records_the_note(as_operator, operator):
    run = make_dead_run()
    response = as_operator.post(f"/api/runs/{run.pk}/retry/", {"note": "try again"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "queued"
    assert response.json()["events"][0]["note"] == "try again"
    event = OperatorEvent.objects.get(run=run)
    assert (event.kind, event.user) == ("retried", operator)


def test_retry_needs_no_body(as_operator):
    run = make_dead_run()
    response = as_operator.post(f"/api/runs/{run.pk}/retry/")
    assert response.status_code == 200
    assert response.json()["events"][0]["note"] == ""


def test_retrying_a_queued_run_is_409_illegal_transition(as_operator):
    run = make_run()
    response = as_operator.post(f"/api/runs/{run.pk}/retry/", {}, format="json")
    assert response.status_code == 409
    assert error_of(response) == "illegal_transition"
    assert response.json()["details"]["status"] == "queued"
    assert not OperatorEvent.objects.exists()


def test_resolve_settles_a_dead_run_with_the_note(as_operator, operator):
    run = make_dead_run()
    response = as_operator.post(
        f"/api/runs/{run.pk}/resolve/", {"note": "refunded by hand"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "resolved"
    assert body["resolution"]["by"] == operator.username
    assert body["resolution"]["note"] == "refunded by hand"
    assert body["resolution"]["at"]


@pytest.mark.parametrize("body", [{}, {"note": ""}, {"note": "   "}, {"note": None}])
def test_resolve_without_a_note_is_400_invalid_body(as_operator, body):
    run = make_dead_run()
    response = as_operator.post(f"/api/runs/{run.pk}/resolve/", body, format="json")
    assert response.status_code == 400
    assert error_of(response) == "invalid_body"
    assert Run.objects.get(pk=run.pk).status == RunStatus.DEAD


def test_resolving_a_run_that_is_not_dead_is_409(as_operator):
    run = make_run(status=RunStatus.RETRYING)
    response = as_operator.post(f"/api/runs/{run.pk}/resolve/", {"note": "n"}, format="json")
    assert response.status_code == 409
    assert error_of(response) == "illegal_transition"


def test_cancel_stops_a_queued_run(as_operator):
    run = make_run()
    response = as_operator.post(f"/api/runs/{run.pk}/cancel/", {"note": "dup"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["finished_at"]


def test_cancelling_a_finished_run_is_409(as_operator, operator):
    run = make_run()
    cancel(run, operator)
    response = as_operator.post(f"/api/runs/{run.pk}/cancel/")
    assert response.status_code == 409
    assert error_of(response) == "illegal_transition"


@pytest.mark.parametrize("verb", ["retry", "resolve", "cancel"])
@pytest.mark.parametrize("run_id", [str(uuid.uuid4()), "nope"])
def test_operating_on_an_unknown_run_is_404(as_operator, verb, run_id):
    response = as_operator.post(f"/api/runs/{run_id}/{verb}/", {"note": "n"}, format="json")
    assert response.status_code == 404
    assert error_of(response) == "not_found"


@pytest.mark.parametrize(
    "raw",
    [
        '{"note": 1}',
        '{"note": null}',
        '{"note": ["a"]}',
        '{"note": "a\\u0000b"}',
        '{"note": "\\ud800"}',
        '{"comment": "n"}',
        "[]",
    ],
)
def test_a_malformed_note_is_400_invalid_body(as_operator, raw):
    run = make_dead_run()
    response = post_raw(as_operator, f"/api/runs/{run.pk}/retry/", raw)
    assert response.status_code == 400
    assert error_of(response) == "invalid_body"
    assert Run.objects.get(pk=run.pk).status == RunStatus.DEAD
