"""Workflows, in process: replay, steps as child runs, waiting, repair by operators."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from actions import dispatcher, operators, submit
from actions.errors import IllegalTransition, InvalidInputs
from actions.models import IdempotencyRecord, OperatorEvent, Run, RunStatus
from actions.worker import execute_run
from tests.factories import drive
from tests.testapp import actions as testapp
from tests.testapp.models import Execution

pytestmark = pytest.mark.django_db


def reload(run: Run) -> Run:
    return Run.objects.select_related("action").get(pk=run.pk)


def steps(run: Run) -> list[Run]:
    return list(Run.objects.steps_of(run.pk))


def executions(run: Run) -> int:
    return Execution.objects.filter(run_id=run.pk).count()


@pytest.fixture(autouse=True)
def steady_minds():
    testapp.CHANGE_OF_MIND.clear()
    yield
    testapp.CHANGE_OF_MIND.clear()


def test_a_workflow_runs_its_steps_in_order_as_child_runs_in_one_execution():
    run = submit("test-wf-sequence", {})
    drive()
    run = reload(run)
    assert run.status == RunStatus.SUCCEEDED
    assert run.result == {"a": {"n": 1}, "b": {"attempt": 1}, "c": {"n": 2}}
    children = steps(run)
    assert [(c.step_key, c.action_id, c.status) for c in children] == [
        ("1", "test-counted", "succeeded"),
        ("2", "test-flaky", "succeeded"),
        ("3", "test-counted", "succeeded"),
    ]
    assert {c.parent_id for c in children} == {run.pk}
    assert [c.idempotency_key for c in children] == [f"{run.pk}:1", f"{run.pk}:2", f"{run.pk}:3"]
    # The steps fitted in the workflow's time: run inline, by the workflow's own execution.
    assert list(run.attempt_set.values_list("outcome", flat=True)) == ["succeeded"]
    assert all(c.worker == run.worker for c in children)


def test_a_step_is_bound_through_its_idempotency_record():
    run = submit("test-wf-sequence", {})
    drive()
    [first, *_] = steps(run)
    record = IdempotencyRecord.objects.get(run=first)
    assert (record.action_id, record.key) == ("test-counted", f"{run.pk}:1")
    assert record.expires_at is not None  # the workflow is closed, so its steps' keys expire


def test_a_failing_step_retries_alone_and_the_steps_before_it_never_run_again():
    run = submit("test-wf-sequence", {"fail_times": 1})
    execute_run(str(run.pk))
    run = reload(run)
    first, second = steps(run)
    assert run.status == RunStatus.WAITING
    assert run.waiting_reason == "waiting for step 2 (test-flaky)"
    assert second.status == RunStatus.RETRYING
    assert run.lease_expires_at is None and run.worker  # holds no worker
    drive()
    run = reload(run)
    assert run.status == RunStatus.SUCCEEDED
    assert run.result["b"] == {"attempt": 2}
    assert executions(first) == 1
    assert executions(reload(second)) == 2
    assert list(run.attempt_set.values_list("outcome", flat=True)) == ["suspended", "succeeded"]


def test_a_suspended_execution_does_not_spend_the_workflows_budget():
    run = submit("test-wf-sequence", {"fail_times": 1})
    execute_run(str(run.pk))
    run = reload(run)
    assert run.budget_start == run.attempts == 1
    assert run.attempt_set.get().error_message == "waiting for step 2 (test-flaky)"


def test_a_replay_reads_every_step_outcome_in_one_query():
    short = submit("test-wf-long", {"n": 3})
    long = submit("test-wf-long", {"n": 30})
    drive()

    def replay_queries(run: Run) -> int:
        Run.objects.filter(pk=run.pk).update(status=RunStatus.QUEUED)
        with CaptureQueriesContext(connection) as queries:
            execute_run(str(run.pk))
        assert reload(run).status == RunStatus.SUCCEEDED
        return len(queries)

    assert replay_queries(long) == replay_queries(short)


def test_parallel_steps_are_enqueued_together_and_gathered_in_order():
    run = submit("test-wf-parallel", {"n": 3})
    execute_run(str(run.pk))
    run = reload(run)
    children = steps(run)
    assert run.status == RunStatus.WAITING
    assert run.waiting_reason.startswith("waiting for 3 steps")
    assert [c.status for c in children] == ["queued"] * 3
    assert {c.step_group for c in children} == {1}  # one batch, started at position 1
    drive()
    run = reload(run)
    assert run.status == RunStatus.SUCCEEDED
    assert run.result == {"results": [{"n": 0}, {"n": 1}, {"n": 2}]}


def test_a_sleep_holds_no_worker_and_the_dispatcher_wakes_it_when_due():
    run = submit("test-wf-sleep", {"seconds": 60})
    execute_run(str(run.pk))
    run = reload(run)
    assert run.status == RunStatus.WAITING
    assert run.waiting_reason.startswith("sleeping until") and "(nap)" in run.waiting_reason
    due = run.next_attempt_at
    assert timedelta(seconds=59) < due - timezone.now() <= timedelta(seconds=60)
    assert dispatcher.wake_workflows() == 0
    # A minute later:
    past = timezone.now() - timedelta(seconds=1)
    memo = {"nap": {"sleep_until": past.isoformat()}}
    Run.objects.filter(pk=run.pk).update(next_attempt_at=past, memo=memo)
    assert dispatcher.wake_workflows() == 1
    drive()
    run = reload(run)
    assert run.status == RunStatus.SUCCEEDED
    assert run.memo == memo  # recorded once, read by the replay, kept
    assert run.result == {"n": 1}


def test_steps_in_a_loop_take_their_explicit_keys():
    run = submit("test-wf-loop", {"items": [5, 6]})
    drive()
    assert [c.step_key for c in steps(run)] == ["item-5", "item-6"]
    assert reload(run).result == {"items": [{"n": 5}, {"n": 6}]}


def test_now_and_uuid_are_recorded_once_and_replayed():
    run = submit("test-wf-recorded", {})
    drive()
    run = reload(run)
    assert run.memo == {"1": {"now": run.result["now"]}, "2": {"uuid": run.result["uuid"]}}
    Run.objects.filter(pk=run.pk).update(status=RunStatus.QUEUED)
    execute_run(str(run.pk))
    assert reload(run).result == run.result


def test_a_dead_step_makes_the_workflow_dead_naming_the_step_and_its_run():
    run = submit("test-wf-final", {"message": "no such customer"})
    drive()
    run = reload(run)
    dead_step = steps(run)[1]
    assert dead_step.status == RunStatus.DEAD
    assert run.status == RunStatus.DEAD
    assert run.error["code"] == "step_dead"
    assert run.error["retryable"] is False
    assert run.error["details"] == {"step": "2", "run_id": str(dead_step.pk)}
    assert "step 2 (test-final)" in run.error["message"]
    assert "no such customer" in run.error["message"]


def test_retrying_a_workflow_retries_its_dead_step_and_the_workflow_completes():
    run = submit("test-wf-repair", {})
    drive()
    first, middle = steps(run)
    assert reload(run).status == RunStatus.DEAD
    operators.retry(reload(run), None, "the refusal was fixed")
    run = reload(run)
    assert run.status == RunStatus.WAITING
    assert reload(middle).status == RunStatus.QUEUED
    event = run.events.get()
    assert event.details == {"step": "2", "run_id": str(middle.pk)}
    drive()
    run = reload(run)
    assert run.status == RunStatus.SUCCEEDED
    assert run.result["middle"] == {"attempt": 2}
    assert executions(first) == 1


def test_retrying_the_dead_step_itself_resumes_its_workflow():
    run = submit("test-wf-repair", {})
    drive()
    middle = steps(run)[1]
    operators.retry(middle, None)
    assert reload(run).status == RunStatus.WAITING
    drive()
    assert reload(run).status == RunStatus.SUCCEEDED


def test_resolving_a_dead_step_with_an_output_resumes_the_workflow_with_it():
    run = submit("test-wf-repair", {})
    drive()
    middle = steps(run)[1]
    operators.resolve(middle, None, "done by hand in the CRM", result={"by_hand": True})
    assert reload(run).status == RunStatus.QUEUED
    drive()
    run = reload(run)
    assert run.status == RunStatus.SUCCEEDED
    assert run.result["middle"] == {"by_hand": True}
    assert executions(reload(middle)) == 1  # never executed again
    event = reload(middle).events.get()
    assert (event.kind, event.details) == ("resolved", {"result": {"by_hand": True}})


def test_a_step_output_given_by_hand_is_checked_like_a_handler_result():
    run = submit("test-wf-repair", {})
    drive()
    middle = steps(run)[1]
    with pytest.raises(InvalidInputs):
        operators.resolve(middle, None, "by hand", result=["not", "an", "object"])
    assert reload(middle).status == RunStatus.DEAD


def test_resolving_a_dead_step_without_an_output_resolves_its_workflow():
    run = submit("test-wf-repair", {})
    drive()
    middle = steps(run)[1]
    operators.resolve(middle, None, "refunded instead")
    run = reload(run)
    assert run.status == RunStatus.RESOLVED
    assert "refunded instead" in run.resolution_note


def test_resolving_a_dead_workflow_resolves_its_dead_steps():
    run = submit("test-wf-repair", {})
    drive()
    operators.resolve(reload(run), None, "settled with the customer")
    assert reload(run).status == RunStatus.RESOLVED
    assert reload(steps(run)[1]).status == RunStatus.RESOLVED


def test_cancelling_a_workflow_cancels_its_steps_that_have_not_started():
    run = submit("test-wf-parallel", {"n": 2})
    execute_run(str(run.pk))
    operators.cancel(reload(run), None, "not needed")
    assert reload(run).status == RunStatus.CANCELLED
    assert {c.status for c in steps(run)} == {RunStatus.CANCELLED}
    drive()
    assert Execution.objects.count() == 0


def test_a_different_action_at_a_recorded_step_is_a_nondeterministic_replay():
    run = submit("test-wf-fickle", {})
    execute_run(str(run.pk))  # step 2 (test-flaky) fails once: the workflow waits
    testapp.CHANGE_OF_MIND["second"] = "test-counted"
    Run.objects.filter(pk=run.pk).update(status=RunStatus.QUEUED)
    execute_run(str(run.pk))
    run = reload(run)
    assert run.status == RunStatus.DEAD
    assert run.error["code"] == "nondeterministic_replay"
    assert "test-flaky" in run.error["message"] and "test-counted" in run.error["message"]
    assert run.error["details"]["step"] == "2"


def test_other_inputs_at_a_recorded_step_are_a_nondeterministic_replay():
    run = submit("test-wf-fickle", {})
    execute_run(str(run.pk))
    testapp.CHANGE_OF_MIND["n"] = 2
    Run.objects.filter(pk=run.pk).update(status=RunStatus.QUEUED)
    execute_run(str(run.pk))
    run = reload(run)
    assert run.error["code"] == "nondeterministic_replay"
    assert "other inputs" in run.error["message"]


def test_an_exception_in_the_workflow_function_is_retried_like_a_handlers():
    run = submit("test-wf-broken", {})
    execute_run(str(run.pk))
    run = reload(run)
    assert run.status == RunStatus.RETRYING
    assert run.error["code"] == "exception" and "workflow bug" in run.error["message"]
    drive()
    run = reload(run)
    assert run.status == RunStatus.DEAD  # max_attempts=2
    assert executions(steps(run)[0]) == 1  # its step ran once for both executions


def test_a_final_action_error_in_the_workflow_function_makes_it_dead():
    run = submit("test-wf-broken", {"final": True})
    execute_run(str(run.pk))
    run = reload(run)
    assert (run.status, run.error["code"]) == (RunStatus.DEAD, "wf_refused")


@override_settings(DOPLATFORM_WORKFLOW_MAX_STEPS=5)
def test_more_steps_than_the_limit_end_the_workflow():
    run = submit("test-wf-long", {"n": 6})
    drive()
    run = reload(run)
    assert (run.status, run.error["code"]) == (RunStatus.DEAD, "too_many_steps")
    assert len(steps(run)) == 5


@override_settings(DOPLATFORM_WORKFLOW_MAX_PARALLEL=4)
def test_more_parallel_steps_than_the_limit_end_the_workflow():
    run = submit("test-wf-wide", {"n": 5})
    drive()
    run = reload(run)
    assert (run.status, run.error["code"]) == (RunStatus.DEAD, "too_many_parallel_steps")


def test_retry_with_edited_inputs_keeps_both_in_the_event():
    run = submit("test-final", {"message": "old"})
    drive()
    operators.retry(reload(run), None, "fixed the message", inputs={"message": "new"})
    run = reload(run)
    assert run.inputs == {"message": "new"}
    event = OperatorEvent.objects.get(run=run)
    assert event.details == {"inputs": {"before": {"message": "old"}, "after": {"message": "new"}}}


def test_edited_inputs_that_fail_the_schema_are_refused_and_nothing_changes():
    run = submit("test-schema", {"email": "a@example.com"})
    Run.objects.filter(pk=run.pk).update(status=RunStatus.DEAD)
    with pytest.raises(InvalidInputs):
        operators.retry(reload(run), None, inputs={"age": -1})
    run = reload(run)
    assert (run.status, run.inputs) == (RunStatus.DEAD, {"email": "a@example.com"})
    assert not OperatorEvent.objects.exists()


def test_a_workflow_that_died_of_a_step_is_edited_through_that_step():
    run = submit("test-wf-repair", {})
    drive()
    with pytest.raises(IllegalTransition, match="edit the inputs of that step"):
        operators.retry(reload(run), None, inputs={"fail_first": 0})


def test_an_edited_step_keeps_its_identity_in_the_replay():
    run = submit("test-wf-repair", {})
    drive()
    middle = steps(run)[1]
    operators.retry(middle, None, "let it through", inputs={"fail_first": 0})
    drive()
    run = reload(run)
    assert run.status == RunStatus.SUCCEEDED  # not a nondeterministic replay
    assert run.result["middle"] == {"attempt": 2}


def test_a_workflow_is_submitted_with_an_idempotency_key_like_an_action():
    first = submit("test-wf-sequence", {}, idempotency_key="signup-1")
    again = submit("test-wf-sequence", {}, idempotency_key="signup-1")
    assert again.pk == first.pk and again.replayed
    assert first.action.kind == "workflow"


def test_a_step_key_outside_the_key_alphabet_ends_the_workflow():
    run = submit("test-wf-loop", {"items": ["with space"]})
    drive()
    run = reload(run)
    assert (run.status, run.error["code"]) == (RunStatus.DEAD, "invalid_step")
    assert "with space" in run.error["message"]


def test_a_step_whose_inputs_fail_the_schema_ends_the_workflow():
    testapp.CHANGE_OF_MIND["second"] = "test-schema"
    fickle = submit("test-wf-fickle", {})
    drive()
    fickle = reload(fickle)
    assert (fickle.status, fickle.error["code"]) == (RunStatus.DEAD, "invalid_step")
    assert fickle.error["details"]["step"] == "2"
    assert len(steps(fickle)) == 1  # nothing was created for the refused step


def test_a_step_of_an_action_unknown_here_is_retried_not_dead():
    testapp.CHANGE_OF_MIND["second"] = "no-such-action"
    run = submit("test-wf-fickle", {})
    execute_run(str(run.pk))
    run = reload(run)
    assert (run.status, run.error["code"], run.error["retryable"]) == (
        RunStatus.RETRYING,
        "invalid_step",
        True,
    )
