import pytest
from django.contrib.auth import get_user_model

from actions.models import Action, OperatorEvent, RunStatus
from tests.factories import make_dead_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return client


def test_the_run_list_and_detail_render_without_counting_every_row(admin_client):
    run = make_dead_run(inputs={"email": "<script>alert(1)</script>"})
    response = admin_client.get("/admin/actions/run/")
    assert response.status_code == 200
    assert str(run.pk) in response.text
    detail = admin_client.get(f"/admin/actions/run/{run.pk}/change/")
    assert detail.status_code == 200
    assert "<script>alert(1)</script>" not in detail.text


def test_retry_from_the_admin_goes_through_the_operator_function(admin_client):
    run = make_dead_run()
    response = admin_client.post(
        "/admin/actions/run/",
        {"action": "retry_runs", "_selected_action": [str(run.pk)]},
        follow=True,
    )
    assert response.status_code == 200
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED
    assert OperatorEvent.objects.get(run=run).kind == "retried"


def test_a_timeout_override_past_the_workers_limit_is_refused(admin_client):
    response = admin_client.post(
        "/admin/actions/action/test-noop/change/",
        {"max_attempts": "", "backoff_base": "", "backoff_max": "", "timeout": "100000"},
    )
    assert response.status_code == 200
    assert "must stay below" in response.text
    assert Action.objects.get(pk="test-noop").timeout is None


def test_a_sane_override_is_saved(admin_client):
    response = admin_client.post(
        "/admin/actions/action/test-noop/change/",
        {"max_attempts": "7", "backoff_base": "", "backoff_max": "", "timeout": "30"},
    )
    assert response.status_code == 302
    action = Action.objects.get(pk="test-noop")
    assert (action.max_attempts, action.timeout) == (7, 30)


def test_resolving_from_the_admin_asks_for_a_note_first(admin_client):
    run = make_dead_run()
    changelist = "/admin/actions/run/"
    asked = admin_client.post(
        changelist, {"action": "resolve_runs", "_selected_action": [str(run.pk)]}
    )
    assert asked.status_code == 200
    assert "say how it was settled" in asked.text
    run.refresh_from_db()
    assert run.status == RunStatus.DEAD

    admin_client.post(
        changelist,
        {"action": "resolve_runs", "_selected_action": [str(run.pk)], "note": "refunded by hand"},
    )
    run.refresh_from_db()
    assert (run.status, run.resolution_note) == (RunStatus.RESOLVED, "refunded by hand")


def test_the_admin_index_shows_no_engine_pages_beside_runs(admin_client):
    index = admin_client.get("/admin/")
    assert "Runs" in index.text
    assert "Failed tasks" not in index.text
    assert "Scheduled tasks" not in index.text
    assert admin_client.get("/admin/django_q/failure/").status_code == 404
