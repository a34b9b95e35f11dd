"""Workflows end to end: real ``runworker`` subprocesses, operators through ``actions.operators``.

The in-process specification is tests/core/test_workflows.py; here the same promises are
kept across processes: wake-ups between worker processes, the dispatcher's timers, a
crashed worker, and a deploy that changes a workflow's code mid-flight.
"""

from datetime import timedelta

import pytest
from django.utils.dateparse import parse_datetime

from actions import operators, submit
from actions.models import Run, RunStatus
from tests.conftest import wait_for
from tests.testapp.models import Execution

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def settled(run: Run, *statuses: str):
    """A condition for ``wait_for``: the run, reloaded, once it is in one of ``statuses``."""

    def check():
        current = Run.objects.get(pk=run.pk)
        return current if current.status in statuses else None

    return check


def step_started(run: Run, key: str):
    """A condition for ``wait_for``: the step ``key`` of ``run`` has begun executing."""

    def check():
        step = Run.objects.filter(parent=run, step_key=key).first()
        return step is not None and Execution.objects.filter(run_id=step.pk).exists()

    return check


def steps(run: Run) -> dict[str, Run]:
    return {step.step_key: step for step in Run.objects.steps_of(run.pk)}


def executions(run: Run) -> int:
    return Execution.objects.filter(run_id=run.pk).count()


def outcomes(run: Run) -> list[str]:
    return list(run.attempt_set.order_by("number").values_list("outcome", flat=True))


def test_an_operator_retry_of_a_workflow_dead_of_its_step_completes_it(start_worker):
    start_worker()
    run = submit("test-wf-repair", {})
    run = wait_for(settled(run, RunStatus.DEAD), what="the workflow to die of its step")
    first, middle = steps(run).values()
    assert (run.error["code"], run.error["details"]["run_id"]) == ("step_dead", str(middle.pk))

    operators.retry(run, None, "the refusal was fixed")

    run = wait_for(settled(run, RunStatus.SUCCEEDED), what="the workflow to complete")
    assert run.result["middle"] == {"attempt": 2}
    assert [executions(first), executions(middle)] == [1, 2]
    assert executions(steps(run)["3"]) == 1


def test_a_dead_step_resolved_with_an_output_completes_the_workflow_with_it(start_worker):
    start_worker()
    run = submit("test-wf-repair", {})
    wait_for(settled(run, RunStatus.DEAD), what="the workflow to die of its step")
    middle = steps(run)["2"]

    operators.resolve(middle, None, "entered by hand", result={"by_hand": True})

    run = wait_for(settled(run, RunStatus.SUCCEEDED), what="the workflow to complete")
    assert run.result["middle"] == {"by_hand": True}
    assert executions(middle) == 1  # never executed again
    assert Run.objects.get(pk=middle.pk).status == RunStatus.RESOLVED


def test_parallel_steps_on_two_worker_processes_both_wake_their_workflow(start_worker):
    start_worker(DOPLATFORM_WORKERS="2")
    run = submit("test-wf-pair", {"seconds": 1})
    run = wait_for(settled(run, RunStatus.SUCCEEDED), timeout=30, what="the workflow")
    left, right = steps(run).values()
    pids = {Execution.objects.get(run_id=step.pk).pid for step in (left, right)}
    assert len(pids) == 2  # one step on each worker process, at the same time
    assert run.result == {"left": {"slept": 1}, "right": {"slept": 1}}
    # Suspended while a step was pending; completed by the wake-up of the last to finish.
    *waits, last = outcomes(run)
    assert last == "succeeded" and waits and set(waits) == {"suspended"}
    assert run.finished_at >= max(left.finished_at, right.finished_at)


def test_a_sleep_is_woken_by_the_dispatcher_within_a_second_of_its_time(start_worker):
    start_worker()
    run = submit("test-wf-sleep", {"seconds": 2})
    run = wait_for(settled(run, RunStatus.SUCCEEDED), timeout=30, what="the workflow")
    until = parse_datetime(run.memo["nap"]["sleep_until"])
    asleep, awake = run.attempt_set.order_by("number")
    assert asleep.outcome == "suspended" and awake.outcome == "succeeded"
    assert asleep.finished_at < until <= awake.started_at
    assert awake.started_at - until < timedelta(seconds=1)


def test_a_killed_worker_mid_step_loses_the_execution_and_the_steps_before_never_run_again(
    start_worker,
):
    worker = start_worker()
    run = submit("test-wf-slow-middle", {"seconds": 1.5})
    wait_for(step_started(run, "2"), what="the slow step to start")
    worker.kill()  # kill -9 of the whole group: the workflow and its inline step die together

    start_worker()
    run = wait_for(settled(run, RunStatus.SUCCEEDED), timeout=60, what="the workflow")
    first, middle, last = steps(run).values()
    assert [executions(first), executions(middle), executions(last)] == [1, 2, 1]
    assert outcomes(middle) == ["lost", "succeeded"]
    assert "lost" in outcomes(run)
    assert run.result["first"] == {"n": 1} and run.result["last"] == {"n": 3}


def test_a_deploy_that_changes_a_recorded_step_ends_the_workflow_as_nondeterministic(
    start_worker,
):
    # Step 2's action is paused: the first execution records it and waits for it.
    operators.pause("test-flaky", None)
    old = start_worker()
    run = submit("test-wf-fickle", {})
    wait_for(settled(run, RunStatus.WAITING), what="the workflow to wait for step 2")
    old.terminate()

    start_worker(TEST_WF_FICKLE_SECOND="test-counted")  # the new code asks otherwise at step 2
    operators.resume("test-flaky", None)

    run = wait_for(settled(run, RunStatus.DEAD), timeout=30, what="the replay to be refused")
    assert run.error["code"] == "nondeterministic_replay"
    assert run.error["details"]["step"] == "2"
    assert "test-flaky" in run.error["message"] and "test-counted" in run.error["message"]
    first, second = steps(run).values()
    assert executions(first) == 1
    assert (second.action_id, second.status) == ("test-flaky", RunStatus.SUCCEEDED)
