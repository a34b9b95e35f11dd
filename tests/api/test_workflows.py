"""Workflows over REST: the same endpoints as actions, with steps, parents and repairs."""

import pytest

from actions import submit
from actions.models import OperatorEvent, Run, RunStatus
from actions.worker import execute_run
from tests.api.helpers import error_of, post_raw
from tests.factories import drive, make_dead_workflow, make_run

pytestmark = pytest.mark.django_db


def ids(response) -> list[str]:
    return [run["id"] for run in response.json()["results"]]


def status_of(run: Run) -> str:
    return Run.objects.get(pk=run.pk).status


# --- bodies --------------------------------------------------------------------------


def test_a_workflows_detail_lists_its_steps_in_order(as_viewer):
    run = submit("test-wf-sequence", {"fail_times": 1})
    drive()
    body = as_viewer.get(f"/api/runs/{run.pk}/").json()
    assert (body["kind"], body["parent"], body["step"], body["status"]) == (
        "workflow",
        None,
        None,
        "succeeded",
    )
    children = list(Run.objects.steps_of(run.pk))
    assert [
        (s["id"], s["position"], s["key"], s["group"], s["action"], s["status"])
        for s in body["steps"]
    ] == [
        (str(children[0].pk), 1, "1", 1, "test-counted", "succeeded"),
        (str(children[1].pk), 2, "2", 2, "test-flaky", "succeeded"),
        (str(children[2].pk), 3, "3", 3, "test-counted", "succeeded"),
    ]
    flaky = body["steps"][1]
    assert flaky["attempt_count"] == 2
    assert flaky["started_at"] and flaky["finished_at"]
    assert flaky["duration"] >= 0
    assert [a["outcome"] for a in body["attempts"]] == ["suspended", "succeeded"]
    assert body["attempts"][0]["error_message"] == "waiting for step 2 (test-flaky)"


def test_parallel_steps_share_their_group(as_viewer):
    run = submit("test-wf-parallel", {"n": 3})
    execute_run(str(run.pk))
    body = as_viewer.get(f"/api/runs/{run.pk}/").json()
    assert body["status"] == "waiting"
    assert body["waiting_reason"].startswith("waiting for 3 steps")
    assert [(s["position"], s["group"], s["status"]) for s in body["steps"]] == [
        (1, 1, "queued"),
        (2, 1, "queued"),
        (3, 1, "queued"),
    ]
    assert [s["duration"] for s in body["steps"]] == [None, None, None]


def test_a_step_names_its_workflow_and_where_it_stands(as_viewer):
    run, (first, middle) = make_dead_workflow()
    body = as_viewer.get(f"/api/runs/{middle.pk}/").json()
    assert (body["kind"], body["parent"], body["step"]) == (
        "action",
        str(run.pk),
        {"key": "2", "position": 2, "group": 2},
    )
    assert body["steps"] is None  # only a workflow has steps
    listed = as_viewer.get(f"/api/runs/?parent={run.pk}").json()["results"]
    assert {r["id"]: r["step"]["position"] for r in listed} == {
        str(first.pk): 1,
        str(middle.pk): 2,
    }


def test_an_actions_run_has_no_parent_step_or_steps(as_viewer):
    run = make_run("test-noop", status="succeeded")
    body = as_viewer.get(f"/api/runs/{run.pk}/").json()
    assert (body["kind"], body["parent"], body["step"], body["steps"]) == (
        "action",
        None,
        None,
        None,
    )
    assert body["error"] is None


def test_a_workflow_dead_of_a_step_says_which_in_its_error_details(as_viewer):
    run, (_, middle) = make_dead_workflow()
    error = as_viewer.get(f"/api/runs/{run.pk}/").json()["error"]
    assert error["code"] == "step_dead"
    assert error["details"] == {"step": "2", "run_id": str(middle.pk)}
    assert as_viewer.get(f"/api/runs/{middle.pk}/").json()["error"]["details"] is None


def test_actions_say_their_kind(as_viewer):
    kinds = {a["name"]: a["kind"] for a in as_viewer.get("/api/actions/").json()}
    assert (kinds["test-wf-repair"], kinds["test-noop"]) == ("workflow", "action")
    assert as_viewer.get("/api/actions/test-wf-repair/").json()["kind"] == "workflow"


def test_the_detail_of_a_workflow_reads_its_steps_in_one_query(
    as_viewer, django_assert_max_num_queries
):
    short = submit("test-wf-long", {"n": 2})
    long = submit("test-wf-long", {"n": 30})
    drive()
    # token, 2 permission reads, run, attempts, events, steps
    with django_assert_max_num_queries(7):
        assert len(as_viewer.get(f"/api/runs/{short.pk}/").json()["steps"]) == 2
    with django_assert_max_num_queries(7):
        assert len(as_viewer.get(f"/api/runs/{long.pk}/").json()["steps"]) == 30


# --- filters -------------------------------------------------------------------------


def test_the_list_filters_by_kind_and_by_parent(as_viewer):
    run, steps = make_dead_workflow()
    other = submit("test-wf-sequence", {})
    drive()
    plain = make_run("test-noop")
    assert set(ids(as_viewer.get("/api/runs/?kind=workflow"))) == {str(run.pk), str(other.pk)}
    assert str(plain.pk) in ids(as_viewer.get("/api/runs/?kind=action"))
    assert str(run.pk) not in ids(as_viewer.get("/api/runs/?kind=action"))
    assert set(ids(as_viewer.get(f"/api/runs/?parent={run.pk}"))) == {str(s.pk) for s in steps}
    dead_steps = as_viewer.get(f"/api/runs/?parent={run.pk}&status=dead")
    assert ids(dead_steps) == [str(steps[1].pk)]


@pytest.mark.parametrize("query", ["kind=", "kind=job", "parent=", "parent=not-a-uuid"])
def test_a_malformed_kind_or_parent_is_invalid_query(as_viewer, query):
    response = as_viewer.get(f"/api/runs/?{query}")
    assert response.status_code == 400
    assert error_of(response) == "invalid_query"
    assert query.split("=")[0] in response.json()["details"]


def test_the_schema_documents_the_new_filters_fields_and_bodies(as_viewer):
    schema = as_viewer.get("/api/schema/").json()
    parameters = {p["name"]: p for p in schema["paths"]["/api/runs/"]["get"]["parameters"]}
    assert parameters["kind"]["schema"]["enum"] == ["action", "workflow"]
    assert parameters["parent"]["schema"]["format"] == "uuid"
    components = schema["components"]["schemas"]
    assert "waiting" in components["RunStatusEnum"]["enum"]
    assert "suspended" in components["AttemptOutcomeEnum"]["enum"]
    assert {"kind", "parent", "step"} <= set(components["Run"]["properties"])
    assert "steps" in components["RunDetail"]["properties"]
    assert "details" in components["RunError"]["properties"]
    assert "details" in components["Event"]["properties"]
    assert "inputs" in components["RetryRequest"]["properties"]
    assert "result" in components["ResolveRequest"]["properties"]


# --- retry ---------------------------------------------------------------------------


def test_retrying_a_dead_workflow_retries_its_dead_step(as_operator):
    run, (first, middle) = make_dead_workflow()
    response = as_operator.post(f"/api/runs/{run.pk}/retry/", {"note": "fixed"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "waiting"
    assert body["waiting_reason"] == "waiting for step 2 (test-refuse-first)"
    assert body["events"][0]["details"] == {"step": "2", "run_id": str(middle.pk)}
    assert [s["status"] for s in body["steps"]] == ["succeeded", "queued"]
    drive()
    assert status_of(run) == RunStatus.SUCCEEDED


def test_retry_with_edited_inputs_keeps_both_in_the_event(as_operator):
    run, (_, middle) = make_dead_workflow()
    response = as_operator.post(
        f"/api/runs/{middle.pk}/retry/",
        {"note": "let it through", "inputs": {"fail_first": 0}},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["inputs"] == {"fail_first": 0}
    assert body["events"][-1]["details"] == {
        "inputs": {"before": {"fail_first": 1}, "after": {"fail_first": 0}}
    }
    drive()
    assert status_of(run) == RunStatus.SUCCEEDED


def test_edited_inputs_that_fail_the_schema_are_400_invalid_inputs_and_nothing_changes(
    as_operator,
):
    run = make_run("test-schema", status=RunStatus.DEAD, inputs={"email": "a@example.com"})
    response = as_operator.post(
        f"/api/runs/{run.pk}/retry/",
        {"inputs": {"email": "a@example.com", "age": -1}},
        format="json",
    )
    assert response.status_code == 400
    assert error_of(response) == "invalid_inputs"
    assert response.json()["details"][0]["path"] == "$.age"
    run.refresh_from_db()
    assert (run.status, run.inputs) == (RunStatus.DEAD, {"email": "a@example.com"})
    assert not OperatorEvent.objects.exists()


@pytest.mark.parametrize("body", ['{"inputs": []}', '{"inputs": null}', '{"inputs": "x"}'])
def test_inputs_that_are_not_an_object_are_invalid_body(as_operator, body):
    run = make_run("test-final", status=RunStatus.DEAD)
    response = post_raw(as_operator, f"/api/runs/{run.pk}/retry/", body)
    assert response.status_code == 400
    assert error_of(response) == "invalid_body"
    assert status_of(run) == RunStatus.DEAD


def test_editing_the_inputs_of_a_workflow_dead_of_a_step_is_409_naming_the_step(as_operator):
    run, (_, middle) = make_dead_workflow()
    response = as_operator.post(
        f"/api/runs/{run.pk}/retry/", {"inputs": {"fail_first": 0}}, format="json"
    )
    assert response.status_code == 409
    assert error_of(response) == "illegal_transition"
    assert "edit the inputs of that step" in response.json()["message"]
    assert response.json()["details"]["step_run_id"] == str(middle.pk)
    assert status_of(run) == RunStatus.DEAD


def test_retry_with_inputs_needs_retry_run(client_with):
    run, (_, middle) = make_dead_workflow()
    as_resolver = client_with("actions.view_run", "actions.resolve_run")
    response = as_resolver.post(
        f"/api/runs/{middle.pk}/retry/", {"inputs": {"fail_first": 0}}, format="json"
    )
    assert response.status_code == 403
    middle.refresh_from_db()
    assert (middle.status, middle.inputs) == (RunStatus.DEAD, {"fail_first": 1})


# --- resolve -------------------------------------------------------------------------


def test_resolving_a_dead_step_with_an_output_resumes_its_workflow(as_operator):
    run, (_, middle) = make_dead_workflow()
    response = as_operator.post(
        f"/api/runs/{middle.pk}/resolve/",
        {"note": "done by hand", "result": {"attempt": "by hand"}},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["result"]) == ("resolved", {"attempt": "by hand"})
    assert body["events"][-1]["details"] == {"result": {"attempt": "by hand"}}
    assert status_of(run) == RunStatus.QUEUED
    drive()
    run.refresh_from_db()
    assert (run.status, run.result["middle"]) == (RunStatus.SUCCEEDED, {"attempt": "by hand"})


def test_resolving_a_dead_step_without_an_output_resolves_its_workflow(as_operator):
    run, (_, middle) = make_dead_workflow()
    response = as_operator.post(
        f"/api/runs/{middle.pk}/resolve/", {"note": "refunded"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["events"][-1]["details"] is None
    assert status_of(run) == RunStatus.RESOLVED


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ('{"note": "n", "result": [1]}', "invalid_body"),
        ('{"note": "n", "result": null}', "invalid_body"),
        ('{"note": "n", "result": {"a": "\\u0000"}}', "invalid_inputs"),
        ('{"note": "n", "result": {"a": 1}, "extra": 1}', "invalid_body"),
        ('{"result": {"a": 1}}', "invalid_body"),  # no note
    ],
)
def test_an_output_that_cannot_be_stored_is_400_and_nothing_changes(as_operator, body, code):
    run, (_, middle) = make_dead_workflow()
    response = post_raw(as_operator, f"/api/runs/{middle.pk}/resolve/", body)
    assert response.status_code == 400
    assert error_of(response) == code
    assert (status_of(middle), status_of(run)) == (RunStatus.DEAD, RunStatus.DEAD)
    assert not OperatorEvent.objects.exists()


def test_resolve_with_an_output_needs_resolve_run(client_with):
    run, (_, middle) = make_dead_workflow()
    as_retrier = client_with("actions.view_run", "actions.retry_run")
    response = as_retrier.post(
        f"/api/runs/{middle.pk}/resolve/", {"note": "n", "result": {}}, format="json"
    )
    assert response.status_code == 403
    assert status_of(middle) == RunStatus.DEAD


# --- cancel --------------------------------------------------------------------------


def test_cancelling_a_waiting_workflow_cancels_its_pending_steps(as_operator):
    run = submit("test-wf-parallel", {"n": 2})
    execute_run(str(run.pk))
    response = as_operator.post(f"/api/runs/{run.pk}/cancel/", {"note": "no"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "cancelled"
    assert [s["status"] for s in body["steps"]] == ["cancelled", "cancelled"]


def test_a_workflow_is_submitted_at_the_same_endpoint(as_operator):
    response = as_operator.post(
        "/api/actions/test-wf-sequence/runs/",
        {"inputs": {}},
        format="json",
        headers={"Idempotency-Key": "signup-1"},
    )
    assert response.status_code == 202
    assert response.json()["kind"] == "workflow"
