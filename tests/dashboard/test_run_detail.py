"""The run page: JSON, error, attempt timeline, operator events, idempotency, live updates."""

from datetime import timedelta

import pytest
from django.utils import timezone

from actions import operators
from actions.models import Attempt, AttemptOutcome
from tests.dashboard.conftest import htmx
from tests.factories import make_dead_run, make_run, submit

pytestmark = pytest.mark.django_db


def test_shows_inputs_and_result_as_formatted_json(operator_client):
    run = make_run("test-noop", status="succeeded", inputs={"email": "a@example.com", "n": 1})
    run.result = {"crm_id": 7}
    run.save(update_fields=["result"])
    html = operator_client.get(f"/runs/{run.pk}/").content.decode()
    assert "{\n  &quot;email&quot;: &quot;a@example.com&quot;,\n  &quot;n&quot;: 1\n}" in html
    assert "&quot;crm_id&quot;: 7" in html


def test_shows_the_error_and_every_attempt_with_its_traceback(operator_client):
    run = make_dead_run(
        "test-broken",
        attempts=2,
        error={"code": "exception", "message": "handler bug", "retryable": True},
    )
    Attempt.objects.filter(run=run, number=2).update(traceback="Traceback: RuntimeError")
    response = operator_client.get(f"/runs/{run.pk}/")
    html = response.content.decode()
    assert "Attempt 1</strong> failed after 1.0 s" in html
    assert "Attempt 2</strong> failed" in html
    assert "<details><summary>Traceback</summary><pre>Traceback: RuntimeError</pre>" in html
    assert "<code>exception</code>" in html and "handler bug" in html


def test_a_viewer_sees_the_error_but_not_the_traceback(viewer_client):
    run = make_dead_run("test-broken", attempts=1)
    Attempt.objects.filter(run=run).update(traceback="Traceback: SECRET_TOKEN=abc")
    html = viewer_client.get(f"/runs/{run.pk}/").content.decode()
    assert "Attempt 1</strong> failed" in html
    assert "SECRET_TOKEN" not in html


def test_shows_operator_events_with_who_and_the_note(operator_client, operator):
    run = make_dead_run()
    operators.resolve(run, operator, "refunded by hand")
    html = operator_client.get(f"/runs/{run.pk}/").content.decode()
    assert "<strong>Resolved</strong> by olivia-operator" in html
    assert '<blockquote class="note">refunded by hand</blockquote>' in html


def test_the_timeline_interleaves_attempts_and_events_in_time_order(operator_client, operator):
    run = make_dead_run(attempts=1)
    Attempt.objects.filter(run=run).update(started_at=timezone.now() - timedelta(minutes=5))
    operators.retry(run, operator, note="try again")
    Attempt.objects.create(
        run=run,
        number=2,
        outcome=AttemptOutcome.SUCCEEDED,
        started_at=timezone.now() + timedelta(seconds=1),
        finished_at=timezone.now() + timedelta(seconds=2),
    )
    response = operator_client.get(f"/runs/{run.pk}/")
    kinds = [
        (kind, getattr(item, "number", None)) for _, kind, item in response.context["timeline"]
    ]
    assert kinds == [("attempt", 1), ("event", None), ("attempt", 2)]


def test_shows_the_idempotency_key_and_that_duplicates_return_this_run(operator_client):
    run = submit("test-noop", {}, idempotency_key="signup-7")
    replay = submit("test-noop", {}, idempotency_key="signup-7")
    assert replay.replayed and replay.pk == run.pk
    other = submit("test-counted", {}, idempotency_key="signup-7")
    html = operator_client.get(f"/runs/{run.pk}/").content.decode()
    assert '<code class="key">signup-7</code>' in html
    assert "return this run and never execute again" in html
    assert f'href="/runs/{other.pk}/"' in html  # the same business key drives another action


def test_a_run_in_flight_polls_itself(operator_client):
    run = make_run("test-noop", status="queued")
    html = operator_client.get(f"/runs/{run.pk}/").content.decode()
    assert f'hx-get="/runs/{run.pk}/" hx-trigger="run-refresh from:body"' in html


def test_a_poll_answers_only_the_live_section(operator_client):
    run = make_run("test-noop", status="running")
    response = operator_client.get(f"/runs/{run.pk}/", **htmx("run-live"))
    assert response.status_code == 200
    assert response.template_name == "actions/run_detail.html#run-live"
    assert response.content.decode().lstrip().startswith('<section id="run-live"')
    assert "HX-Request" in response["Vary"]


def test_polling_stops_once_the_run_is_finished(operator_client):
    run = make_run("test-noop", status="succeeded")
    response = operator_client.get(f"/runs/{run.pk}/", **htmx("run-live"))
    assert response.status_code == 286  # htmx stops polling, and swaps the final state in
    assert "every 2s" not in response.content.decode()
    assert "every 2s" not in operator_client.get(f"/runs/{run.pk}/").content.decode()


def test_an_unknown_run_is_404(operator_client):
    response = operator_client.get("/runs/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404


def test_the_run_page_makes_a_bounded_number_of_queries(
    operator_client, operator, django_assert_max_num_queries
):
    run = make_dead_run(attempts=20, idempotency_key="k-1")
    for i in range(5):
        operators.retry(run, operator, note=f"retry {i}")
        run.refresh_from_db()
        run.status = "dead"
        run.save(update_fields=["status"])
    # session, user, 2 permissions, run, attempts, events, key binding, same-key runs
    with django_assert_max_num_queries(9):
        response = operator_client.get(f"/runs/{run.pk}/")
    assert len(response.context["timeline"]) == 25
