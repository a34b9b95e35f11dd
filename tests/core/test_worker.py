"""execute_run, in process: what one delivery of a run does."""

from datetime import timedelta

import pytest
from django.utils import timezone

from actions import registry, signals, submit
from actions.models import Action, Attempt, Run, RunStatus
from actions.runs import claim_run
from actions.worker import execute_run
from tests.testapp.models import Execution

pytestmark = pytest.mark.django_db


def reload(run: Run) -> Run:
    return Run.objects.get(pk=run.pk)


def test_a_successful_attempt_stores_the_result_and_one_attempt():
    run = submit("test-counted", {"n": 7})
    assert execute_run(str(run.pk)) == "succeeded"
    run = reload(run)
    assert run.status == RunStatus.SUCCEEDED
    assert run.result == {"n": 7}
    assert run.finished_at is not None and run.lease_expires_at is None
    [attempt] = run.attempt_set.all()
    assert (attempt.number, attempt.outcome) == (1, "succeeded")
    assert attempt.worker


def test_a_retryable_action_error_schedules_a_retry_after_the_backoff():
    run = submit("test-flaky", {"fail_times": 1})
    execute_run(str(run.pk))
    run = reload(run)
    assert run.status == RunStatus.RETRYING
    assert run.error == {
        "code": "flaky",
        "message": "failing attempt 1 on purpose",
        "retryable": True,
    }
    wait = (run.next_attempt_at - run.attempt_set.get().finished_at).total_seconds()
    assert wait == pytest.approx(1, abs=0.01)  # backoff_base 1, jitter off in tests


def test_a_retry_that_is_not_due_is_not_taken():
    run = submit("test-flaky", {"fail_times": 1})
    execute_run(str(run.pk))
    assert execute_run(str(run.pk)) == "not-claimed"
    assert Execution.objects.filter(run_id=run.pk).count() == 1


def test_a_due_retry_is_taken_and_the_attempt_number_grows():
    run = submit("test-flaky", {"fail_times": 1})
    execute_run(str(run.pk))
    Run.objects.filter(pk=run.pk).update(next_attempt_at=timezone.now())
    assert execute_run(str(run.pk)) == "succeeded"
    assert list(reload(run).attempt_set.values_list("number", "outcome")) == [
        (1, "failed"),
        (2, "succeeded"),
    ]


def test_a_non_retryable_error_dead_letters_after_one_attempt():
    run = submit("test-final", {"message": "card declined"})
    execute_run(str(run.pk))
    run = reload(run)
    assert run.status == RunStatus.DEAD
    assert run.error["retryable"] is False
    assert run.attempt_set.count() == 1


def test_the_seed_shaped_failure_result_is_a_failure_and_missing_retryable_means_final():
    def seed_style(inputs, ctx):
        return {"success": False, "error": "crm_rejected", "message": "400 from CRM"}

    registry.action("test-seed-style")(seed_style)
    try:
        run = submit("test-seed-style", {})
        execute_run(str(run.pk))
    finally:
        registry.unregister("test-seed-style")
    run = reload(run)
    assert run.status == RunStatus.DEAD
    assert run.error == {"code": "crm_rejected", "message": "400 from CRM", "retryable": False}


def test_an_unexpected_exception_is_retryable_and_keeps_its_traceback():
    run = submit("test-broken", {})
    execute_run(str(run.pk))
    run = reload(run)
    assert run.status == RunStatus.RETRYING
    attempt = run.attempt_set.get()
    assert attempt.error_code == "exception"
    assert "RuntimeError: handler bug" in attempt.traceback


def test_exhausting_max_attempts_dead_letters_the_run():
    run = submit("test-broken", {})  # max_attempts=2
    execute_run(str(run.pk))
    Run.objects.filter(pk=run.pk).update(next_attempt_at=timezone.now())
    execute_run(str(run.pk))
    run = reload(run)
    assert run.status == RunStatus.DEAD
    assert run.attempts == 2


def test_an_overrunning_handler_is_stopped_by_our_timer_and_recorded_timed_out():
    run = submit("test-sleep", {"seconds": 30})  # timeout=2
    execute_run(str(run.pk))
    run = reload(run)
    attempt = run.attempt_set.get()
    assert attempt.outcome == "timed_out"
    assert attempt.duration < 5
    assert run.status == RunStatus.RETRYING


def test_a_result_that_cannot_be_stored_fails_with_invalid_result():
    registry.action("test-bad-result")(lambda inputs, ctx: {"x": float("nan")})
    try:
        run = submit("test-bad-result", {})
        execute_run(str(run.pk))
    finally:
        registry.unregister("test-bad-result")
    run = reload(run)
    assert run.status == RunStatus.DEAD
    assert run.error["code"] == "invalid_result"


def test_a_result_is_stored_in_its_canonical_form():
    registry.action("test-float-result")(lambda inputs, ctx: {"total": 1900.0, "ratio": 0.50})
    try:
        run = submit("test-float-result", {})
        execute_run(str(run.pk))
    finally:
        registry.unregister("test-float-result")
    run = reload(run)
    assert run.status == RunStatus.SUCCEEDED
    assert run.result == {"ratio": 0.5, "total": 1900}
    assert type(run.result["total"]) is int


def test_a_result_with_an_integer_a_double_would_round_fails_with_invalid_result():
    registry.action("test-big-result")(lambda inputs, ctx: {"id": 2**53 + 1})
    try:
        run = submit("test-big-result", {})
        execute_run(str(run.pk))
    finally:
        registry.unregister("test-big-result")
    run = reload(run)
    assert run.status == RunStatus.DEAD
    assert run.error["code"] == "invalid_result"
    assert "send it as a string" in run.error["message"]


def test_a_worker_without_the_handler_leaves_the_run_untouched_and_says_why():
    run = submit("test-counted", {})
    spec = registry.get_spec("test-counted")
    registry.unregister("test-counted")
    try:
        assert execute_run(str(run.pk)) == "no-handler"
    finally:
        registry._registry[spec.name] = spec  # exactly as it was, for the tests after this one
    run = reload(run)
    assert run.status == RunStatus.QUEUED
    assert run.attempts == 0
    assert "no handler for 'test-counted'" in run.waiting_reason


def test_a_paused_actions_run_is_never_claimed():
    run = submit("test-counted", {})
    Action.objects.filter(pk="test-counted").update(paused=True)
    assert execute_run(str(run.pk)) == "not-claimed"
    assert reload(run).status == RunStatus.QUEUED
    assert not Execution.objects.exists()


def test_a_duplicate_delivery_executes_nothing():
    run = submit("test-counted", {})
    execute_run(str(run.pk))
    assert execute_run(str(run.pk)) == "not-claimed"
    assert Execution.objects.filter(run_id=run.pk).count() == 1


def test_a_zombie_attempt_cannot_write_its_outcome():
    from actions import runs
    from actions.policy import RetryPolicy

    run = submit("test-counted", {})
    zombie = Run.objects.get(pk=run.pk)
    number = claim_run(zombie, lease_seconds=1, worker="zombie:1")
    # Its lease expires; the dispatcher records it lost and a second attempt takes over.
    policy = RetryPolicy(max_attempts=3, backoff_base=0)
    assert runs.expire_lease(reload(run), policy=policy, now=timezone.now())
    newer = reload(run)
    assert claim_run(newer, lease_seconds=60, worker="fresh:2") == 2

    late = runs.record_success(
        zombie, number=number, result={"late": True}, finished_at=timezone.now()
    )

    assert late is False
    run = reload(run)
    assert (run.status, run.attempts, run.result) == (RunStatus.RUNNING, 2, None)
    assert list(run.attempt_set.values_list("number", "outcome")) == [(1, "lost")]


def test_finished_signals_fire_once_per_transition(django_capture_on_commit_callbacks):
    seen = []

    def on_finished(sender, run, status, **kwargs):
        seen.append(("finished", status))

    def on_dead(sender, run, **kwargs):
        seen.append(("dead", run.pk))

    signals.run_finished.connect(on_finished)
    signals.run_dead_lettered.connect(on_dead)
    try:
        run = submit("test-final", {})
        with django_capture_on_commit_callbacks(execute=True):
            execute_run(str(run.pk))
        with django_capture_on_commit_callbacks(execute=True):
            execute_run(str(run.pk))  # duplicate delivery
    finally:
        signals.run_finished.disconnect(on_finished)
        signals.run_dead_lettered.disconnect(on_dead)
    assert seen == [("finished", "dead"), ("dead", run.pk)]


def test_one_successful_execution_uses_a_bounded_number_of_queries(django_assert_max_num_queries):
    run = submit("test-noop", {}, idempotency_key="q-1")
    # read run+action, claim, finish, attempt, key expiry (+ savepoints inside the test transaction)
    with django_assert_max_num_queries(7):
        execute_run(str(run.pk))
    assert reload(run).status == RunStatus.SUCCEEDED


def test_attempt_rows_are_never_rewritten_by_a_later_attempt():
    run = submit("test-flaky", {"fail_times": 1})
    execute_run(str(run.pk))
    first = Attempt.objects.get(run=run, number=1)
    Run.objects.filter(pk=run.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    execute_run(str(run.pk))
    assert Attempt.objects.get(pk=first.pk).outcome == "failed"
