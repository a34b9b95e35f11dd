"""GET /api/actions/ and /api/actions/<name>/; POST /api/actions/<name>/pause|resume/."""

import pytest

from actions import pause, queries, queue
from actions.models import Action, EventKind, OperatorEvent, RunStatus
from actions.registry import all_specs
from actions.submission import ensure_action
from tests.api.helpers import error_of
from tests.factories import make_dead_run, make_run

pytestmark = pytest.mark.django_db


def test_the_list_has_every_registered_action_with_policy_schema_and_counts(as_viewer):
    make_run("test-noop")
    make_dead_run("test-final")
    make_dead_run("test-final")
    response = as_viewer.get("/api/actions/")
    assert response.status_code == 200
    actions = {action["name"]: action for action in response.json()}
    assert set(actions) == {spec.name for spec in all_specs()}
    final = actions["test-final"]
    assert final["policy"] == {
        "max_attempts": 5,
        "backoff_base": 1,
        "backoff_max": 600,
        "timeout": 60,
    }
    assert final["overridden"] == []
    assert final["paused"] is False
    assert final["counts"] == {status: 0 for status in RunStatus.values} | {"dead": 2}
    assert actions["test-noop"]["counts"]["queued"] == 1
    assert actions["test-schema"]["inputs_schema"]["required"] == ["email"]


def test_the_list_reads_a_fixed_number_of_queries(as_viewer, django_assert_max_num_queries):
    for spec in all_specs():
        make_run(spec.name)
    # token, 2 permission reads, the action rows, one aggregate of counts
    with django_assert_max_num_queries(5):
        response = as_viewer.get("/api/actions/")
    assert len(response.json()) == len(all_specs())


def test_counts_are_capped_and_cached_briefly(as_viewer, monkeypatch):
    monkeypatch.setattr(queries, "STATUS_COUNT_CAP", 2)
    for _ in range(3):
        make_dead_run("test-final")
    counts = as_viewer.get("/api/actions/test-final/").json()["counts"]
    assert counts["dead"] == 2  # at least two: counting stops at the cap
    make_run("test-final")
    listed = {a["name"]: a for a in as_viewer.get("/api/actions/").json()}
    assert listed["test-final"]["counts"]["queued"] == 0  # from the cache, for a few seconds


def test_an_override_shows_in_the_effective_policy_and_is_named(as_viewer):
    Action.objects.filter(pk=ensure_action("test-final").pk).update(timeout=7, max_attempts=2)
    body = as_viewer.get("/api/actions/test-final/").json()
    assert body["policy"]["timeout"] == 7
    assert body["policy"]["max_attempts"] == 2
    assert body["policy"]["backoff_base"] == 1  # from code
    assert body["overridden"] == ["max_attempts", "timeout"]


def test_the_detail_is_one_action(as_viewer):
    response = as_viewer.get("/api/actions/test-schema/")
    assert response.status_code == 200
    assert response.json()["name"] == "test-schema"


def test_an_unknown_action_is_404_unknown_action(as_viewer):
    response = as_viewer.get("/api/actions/no-such-action/")
    assert response.status_code == 404
    assert error_of(response) == "unknown_action"


def test_pause_then_resume_with_notes_and_events(as_operator, operator):
    response = as_operator.post("/api/actions/test-noop/pause/", {"note": "deploy"}, format="json")
    assert response.status_code == 200
    assert response.json()["paused"] is True
    assert Action.objects.get(pk="test-noop").paused

    response = as_operator.post("/api/actions/test-noop/resume/", {}, format="json")
    assert response.status_code == 200
    assert response.json()["paused"] is False
    events = OperatorEvent.objects.filter(action_id="test-noop")
    assert [(e.kind, e.user, e.note) for e in events] == [
        (EventKind.PAUSED, operator, "deploy"),
        (EventKind.RESUMED, operator, ""),
    ]


def test_resume_enqueues_the_runs_that_waited(as_operator, operator):
    pause("test-noop", operator)
    waiting = as_operator.post("/api/actions/test-noop/runs/", {"inputs": {}}, format="json")
    assert waiting.json()["action_paused"] is True
    enqueued = queue.size()
    as_operator.post("/api/actions/test-noop/resume/")
    assert queue.size() == enqueued + 1
    assert as_operator.get(waiting["Location"]).json()["action_paused"] is False


@pytest.mark.parametrize("verb", ["pause", "resume"])
def test_pausing_an_unknown_action_is_404(as_operator, verb):
    response = as_operator.post(f"/api/actions/no-such-action/{verb}/")
    assert response.status_code == 404
    assert error_of(response) == "unknown_action"
    assert not Action.objects.filter(pk="no-such-action").exists()
