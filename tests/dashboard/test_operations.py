"""Retry, resolve, cancel from the dashboard: the row updates in place and a message says so."""

import pytest

from actions import operators
from actions.models import EventKind, OperatorEvent
from tests.dashboard.conftest import htmx
from tests.factories import make_dead_run, make_run

pytestmark = pytest.mark.django_db


def test_retry_answers_the_updated_row_and_a_message(operator_client, operator):
    run = make_dead_run()
    response = operator_client.post(f"/runs/{run.pk}/retry/", **htmx(f"run-{run.pk}"))
    assert response.status_code == 200
    assert response.template_name == "actions/runs.html#row-answer"
    html = response.content.decode()
    assert html.lstrip().startswith(f'<tr id="run-{run.pk}" class="status-queued">')
    assert (
        '<div id="messages" class="messages" role="status" aria-live="polite" hx-swap-oob="true">'
        in html
    )
    assert f"Retried run {str(run.pk)[:8]}" in html
    run.refresh_from_db()
    assert run.status == "queued"
    event = OperatorEvent.objects.get(run=run)
    assert (event.kind, event.user) == (EventKind.RETRIED, operator)


def test_retry_on_the_run_page_answers_the_live_section(operator_client):
    run = make_dead_run()
    response = operator_client.post(f"/runs/{run.pk}/retry/", **htmx("run-live"))
    assert response.template_name == "actions/run_detail.html#run-live-answer"
    html = response.content.decode()
    assert (
        f'<section id="run-live" class="card" hx-get="/runs/{run.pk}/" hx-trigger="run-refresh from:body"'
        in html
    )
    assert "Retried run" in html


def test_resolve_records_the_note(operator_client, operator):
    run = make_dead_run()
    response = operator_client.post(
        f"/runs/{run.pk}/resolve/", {"note": "refunded by hand"}, **htmx(f"run-{run.pk}")
    )
    assert response.status_code == 200
    assert "Resolved run" in response.content.decode()
    run.refresh_from_db()
    assert (run.status, run.resolution_note, run.resolved_by) == (
        "resolved",
        "refunded by hand",
        operator,
    )


def test_resolve_without_a_note_is_400_with_a_message(operator_client):
    run = make_dead_run()
    response = operator_client.post(f"/runs/{run.pk}/resolve/", {"note": "  "}, **htmx())
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#messages"
    assert response["HX-Reswap"] == "outerHTML"
    assert "needs a note" in response.content.decode()
    run.refresh_from_db()
    assert run.status == "dead"


def test_cancel_a_retrying_run(operator_client):
    run = make_run("test-flaky", status="retrying", attempts=1)
    response = operator_client.post(f"/runs/{run.pk}/cancel/", **htmx(f"run-{run.pk}"))
    assert response.status_code == 200
    assert "Cancelled run" in response.content.decode()
    run.refresh_from_db()
    assert run.status == "cancelled"


def test_an_illegal_transition_is_409_with_a_clear_message(operator_client):
    run = make_run("test-noop", status="succeeded")
    response = operator_client.post(f"/runs/{run.pk}/retry/", **htmx(f"run-{run.pk}"))
    assert response.status_code == 409
    assert response["HX-Retarget"] == "#messages"
    html = response.content.decode()
    assert "Nothing done: cannot retry run" in html
    assert "it is succeeded, and only retrying or dead runs can be" in html


def test_someone_else_resolving_first_is_a_409_not_a_double_action(operator_client, operator):
    run = make_dead_run()
    operators.resolve(run, operator, "settled elsewhere")
    response = operator_client.post(f"/runs/{run.pk}/resolve/", {"note": "me too"}, **htmx())
    assert response.status_code == 409
    assert "it is resolved" in response.content.decode()
    assert OperatorEvent.objects.filter(run=run).count() == 1


def test_without_javascript_an_action_redirects_back_with_a_message(operator_client):
    run = make_dead_run()
    response = operator_client.post(
        f"/runs/{run.pk}/retry/", {"next": "/runs/failed/?action=test-final"}, follow=True
    )
    assert response.redirect_chain == [("/runs/failed/?action=test-final", 302)]
    assert "Retried run" in response.content.decode()


def test_without_javascript_a_redirect_never_leaves_the_site(operator_client):
    run = make_dead_run()
    response = operator_client.post(f"/runs/{run.pk}/retry/", {"next": "https://evil.example/"})
    assert response["Location"] == f"/runs/{run.pk}/"


def test_without_javascript_a_refusal_is_a_page_with_the_message(operator_client):
    run = make_run("test-noop", status="succeeded")
    response = operator_client.post(f"/runs/{run.pk}/cancel/")
    assert response.status_code == 409
    assert response.template_name == "actions/message.html"
    assert "Nothing done: cannot cancel run" in response.content.decode()


def test_an_unknown_run_is_404(operator_client):
    response = operator_client.post("/runs/00000000-0000-0000-0000-000000000000/retry/")
    assert response.status_code == 404
