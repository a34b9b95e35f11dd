"""Bulk retry and resolve: selected runs at once, or all matching the filter as a job."""

import json

import pytest

from actions import operators
from actions.models import Job, Run
from tests.dashboard.conftest import htmx
from tests.factories import make_dead_run, make_run

pytestmark = pytest.mark.django_db


def ids(*runs) -> list[str]:
    return [str(run.pk) for run in runs]


def test_bulk_retry_first_asks_for_confirmation_with_the_count(operator_client):
    runs = [make_dead_run() for _ in range(3)]
    response = operator_client.post("/runs/bulk/", {"op": "retry", "ids": ids(*runs)}, **htmx())
    assert response.status_code == 200
    assert response.template_name == "actions/runs.html#bulk-confirm"
    html = response.content.decode()
    assert "Retry 3 runs?" in html
    assert '<input type="hidden" name="confirmed" value="1">' in html
    assert all(run.status == "dead" for run in Run.objects.all())


def test_confirmed_bulk_retry_retries_the_selected_runs(operator_client):
    runs = [make_dead_run() for _ in range(3)]
    untouched = make_dead_run()
    response = operator_client.post(
        "/runs/bulk/", {"op": "retry", "ids": ids(*runs), "confirmed": "1"}, **htmx()
    )
    assert response.status_code == 200
    assert "runs-changed" in json.loads(response["HX-Trigger"])  # the table refreshes itself
    assert "Retried 3 runs." in response.content.decode()
    assert {r.status for r in Run.objects.filter(pk__in=ids(*runs))} == {"queued"}
    untouched.refresh_from_db()
    assert untouched.status == "dead"


def test_bulk_retry_skips_runs_that_changed_status_meanwhile(operator_client, operator):
    runs = [make_dead_run() for _ in range(3)]
    operators.resolve(runs[0], operator, "settled")
    response = operator_client.post(
        "/runs/bulk/", {"op": "retry", "ids": ids(*runs), "confirmed": "1"}, **htmx()
    )
    assert "Retried 2 runs; skipped 1 that had changed status meanwhile." in (
        response.content.decode()
    )


def test_bulk_resolve_needs_a_note(operator_client):
    run = make_dead_run()
    response = operator_client.post("/runs/bulk/", {"op": "resolve", "ids": ids(run)}, **htmx())
    assert response.status_code == 400
    assert "needs a note" in response.content.decode()


def test_bulk_resolve_resolves_with_the_note(operator_client):
    runs = [make_dead_run() for _ in range(2)]
    operator_client.post(
        "/runs/bulk/",
        {"op": "resolve", "ids": ids(*runs), "note": "CRM fixed by hand", "confirmed": "1"},
        **htmx(),
    )
    assert {(r.status, r.resolution_note) for r in Run.objects.all()} == {
        ("resolved", "CRM fixed by hand")
    }


def test_bulk_needs_a_selection_or_all_matching(operator_client):
    response = operator_client.post("/runs/bulk/", {"op": "retry"}, **htmx())
    assert response.status_code == 400
    assert "Select at least one run" in response.content.decode()


def test_bulk_needs_a_known_operation(operator_client):
    response = operator_client.post("/runs/bulk/", {"op": "delete", "ids": ["x"]}, **htmx())
    assert response.status_code == 400


def test_all_matching_confirmation_counts_the_runs_matching_the_filter(operator_client):
    for _ in range(4):
        make_dead_run("test-final")
    make_dead_run("test-broken")
    make_run("test-final", status="succeeded")
    response = operator_client.post(
        "/runs/bulk/", {"op": "retry", "all_matching": "1", "action": "test-final"}, **htmx()
    )
    assert "Retry 4 runs: every run matching the filter, in the background?" in (
        response.content.decode()
    )


def test_all_matching_starts_a_background_job(operator_client, operator):
    for _ in range(4):
        make_dead_run("test-final")
    response = operator_client.post(
        "/runs/bulk/",
        {"op": "retry", "all_matching": "1", "action": "test-final", "confirmed": "1"},
        **htmx(),
    )
    job = Job.objects.get()
    assert (job.kind, job.filters, job.total, job.user) == (
        "retried",
        {"action": "test-final"},
        4,
        operator,
    )
    html = response.content.decode()
    assert f"Job #{job.pk} started: retry 4 runs in the background." in html
    assert f'hx-get="/jobs/{job.pk}/" hx-trigger="every 2s"' in html  # progress, live


def test_job_progress_stops_polling_when_the_job_is_finished(operator_client, operator):
    from actions import jobs
    from actions.filters import RunFilterSet

    make_dead_run()
    job = jobs.start_job("retried", filters=RunFilterSet({}), user=operator)
    assert operator_client.get(f"/jobs/{job.pk}/", **htmx()).status_code == 200
    jobs.advance_job(job.pk)
    jobs.advance_job(job.pk)
    response = operator_client.get(f"/jobs/{job.pk}/", **htmx())
    assert response.status_code == 286
    assert "1 of 1 done · finished" in " ".join(response.content.decode().split())


def test_without_javascript_bulk_confirms_on_a_page_then_redirects(operator_client):
    runs = [make_dead_run() for _ in range(2)]
    page = operator_client.post("/runs/bulk/", {"op": "retry", "ids": ids(*runs)})
    assert page.template_name == "actions/bulk_confirm.html"
    assert "Retry 2 runs?" in page.content.decode()
    done = operator_client.post(
        "/runs/bulk/", {"op": "retry", "ids": ids(*runs), "confirmed": "1"}, follow=True
    )
    assert done.redirect_chain == [("/runs/failed/", 302)]
    assert "Retried 2 runs." in done.content.decode()
