"""The actions page: policy, schema, health; pause and resume."""

import pytest

from actions.models import Action, EventKind, OperatorEvent
from tests.dashboard.conftest import htmx

pytestmark = pytest.mark.django_db


def test_lists_each_action_with_its_policy_and_schema(operator_client):
    html = operator_client.get("/actions/").content.decode()
    assert '<tr id="action-update-user-crm">' in html
    assert "4 attempts, backoff 1–20 s, timeout 60 s" in html
    assert "&quot;fail_first&quot;" in html  # the input schema, as escaped JSON


def test_pause_answers_the_updated_row_and_a_message(operator_client, operator):
    response = operator_client.post(
        "/actions/update-user-crm/pause/", **htmx("action-update-user-crm")
    )
    assert response.status_code == 200
    assert response.template_name == "actions/action_list.html#action-answer"
    html = response.content.decode()
    assert '<span class="badge paused">paused</span>' in html
    assert ">Resume</button>" in html
    assert "Paused update-user-crm" in html
    assert Action.objects.get(pk="update-user-crm").paused
    assert OperatorEvent.objects.get(kind=EventKind.PAUSED).user == operator


def test_resume(operator_client):
    operator_client.post("/actions/update-user-crm/pause/")
    response = operator_client.post("/actions/update-user-crm/resume/", follow=True)
    assert response.redirect_chain == [("/actions/", 302)]
    assert "Resumed update-user-crm" in response.content.decode()
    assert not Action.objects.get(pk="update-user-crm").paused


def test_pausing_an_unknown_action_is_404(operator_client):
    assert operator_client.post("/actions/no-such-action/pause/").status_code == 404


def test_the_actions_page_makes_a_bounded_number_of_queries(
    operator_client, django_assert_max_num_queries
):
    # session, user, 2 permissions, action rows, 3 health aggregates
    with django_assert_max_num_queries(8):
        assert operator_client.get("/actions/").status_code == 200
