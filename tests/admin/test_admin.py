import pytest
from django.contrib.auth import get_user_model

from actions.models import Action, OperatorEvent, RunStatus
from tests.factories import drive, make_dead_run, make_dead_workflow, make_run, submit

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


def test_the_run_list_shows_kind_and_which_workflow_a_step_belongs_to(
    admin_client, django_assert_max_num_queries
):
    run, (first, middle) = make_dead_workflow()
    submit("test-wf-long", {"n": 5})
    drive()
    make_run("test-noop")
    # session, user, the action filter's choices, a count, the page: no read per step
    with django_assert_max_num_queries(5):
        response = admin_client.get("/admin/actions/run/")
    html = response.text
    assert '<td class="field-kind">workflow</td>' in html
    assert (
        f'<td class="field-step_of">step 2 of <a href="/admin/actions/run/{run.pk}/change/">'
        f"{str(run.pk)[:8]}</a></td>"
    ) in html


def test_the_run_list_filters_by_kind(admin_client):
    run, steps = make_dead_workflow()
    response = admin_client.get("/admin/actions/run/?action__kind__exact=workflow")
    assert list(response.context["cl"].result_list) == [run]
    response = admin_client.get("/admin/actions/run/?action__kind__exact=action")
    assert set(response.context["cl"].result_list) == set(steps)


def test_a_workflows_page_lists_its_steps_and_a_steps_page_links_its_workflow(admin_client):
    run, (first, middle) = make_dead_workflow()
    workflow_page = admin_client.get(f"/admin/actions/run/{run.pk}/change/")
    assert workflow_page.status_code == 200
    [steps] = [
        formset
        for formset in workflow_page.context["inline_admin_formsets"]
        if formset.opts.verbose_name_plural == "steps"
    ]
    assert [form.original for form in steps] == [first, middle]
    assert f'href="/admin/actions/run/{middle.pk}/change/"' in workflow_page.text
    step_page = admin_client.get(f"/admin/actions/run/{middle.pk}/change/")
    assert f'<a href="/admin/actions/run/{run.pk}/change/">' in step_page.text
    names = [f.opts.verbose_name_plural for f in step_page.context["inline_admin_formsets"]]
    assert "steps" not in names  # a step has none


def test_the_action_list_shows_the_kind(admin_client):
    response = admin_client.get("/admin/actions/action/?kind__exact=workflow")
    names = {action.name for action in response.context["cl"].result_list}
    assert "test-wf-repair" in names and "test-noop" not in names
    assert '<td class="field-kind">Workflow</td>' in response.text
