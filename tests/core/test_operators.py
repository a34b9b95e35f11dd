import pytest

from actions import (
    IllegalTransition,
    cancel,
    operators,
    pause,
    queue,
    resolve,
    resume,
    retry,
    submit,
)
from actions.models import Action, IdempotencyRecord, OperatorEvent, Run, RunStatus
from actions.operators import MissingNote
from actions.worker import execute_run
from tests.factories import make_dead_run, make_run

pytestmark = pytest.mark.django_db


def reload(run: Run) -> Run:
    return Run.objects.get(pk=run.pk)


def test_retrying_a_dead_run_queues_it_with_a_fresh_budget_and_records_who(operator):
    run = make_dead_run("test-flaky", attempts=5)
    retry(run, operator, note="CRM is back")
    run = reload(run)
    assert run.status == RunStatus.QUEUED
    assert (run.attempts, run.budget_start, run.budget_used) == (5, 5, 0)
    event = OperatorEvent.objects.get(run=run)
    assert (event.kind, event.user, event.note) == ("retried", operator, "CRM is back")
    assert queue.size() == 1


def test_attempt_numbers_continue_after_a_manual_retry(operator):
    run = submit("test-final", {})
    execute_run(str(run.pk))
    retry(run.pk, operator)
    execute_run(str(run.pk))
    assert list(reload(run).attempt_set.values_list("number", flat=True)) == [1, 2]


def test_resolving_needs_a_note(operator):
    run = make_dead_run()
    with pytest.raises(MissingNote):
        resolve(run, operator, note="   ")
    assert reload(run).status == RunStatus.DEAD
    assert not OperatorEvent.objects.exists()


def test_resolving_a_dead_run_closes_it_and_starts_its_key_expiry(operator):
    run = submit("test-final", {}, idempotency_key="k")
    execute_run(str(run.pk))
    assert IdempotencyRecord.objects.get().expires_at is None  # dead is not closed
    resolve(run.pk, operator, note="refunded by hand")
    run = reload(run)
    assert (run.status, run.resolved_by, run.resolution_note) == (
        "resolved",
        operator,
        "refunded by hand",
    )
    assert IdempotencyRecord.objects.get().expires_at is not None


def test_cancelling_a_queued_run(operator):
    run = make_run("test-noop", status=RunStatus.QUEUED)
    cancel(run, operator, note="duplicate signup")
    assert reload(run).status == RunStatus.CANCELLED


@pytest.mark.parametrize(
    ("operation", "status"),
    [
        (retry, RunStatus.SUCCEEDED),
        (retry, RunStatus.QUEUED),
        (retry, RunStatus.RUNNING),
        (cancel, RunStatus.DEAD),
        (cancel, RunStatus.RUNNING),
        (cancel, RunStatus.SUCCEEDED),
        (resolve, RunStatus.RETRYING),
        (resolve, RunStatus.RESOLVED),
    ],
)
def test_illegal_transitions_are_refused_and_change_nothing(operator, operation, status):
    run = make_run("test-noop", status=status)
    with pytest.raises(IllegalTransition) as caught:
        operation(run, operator, note="note")
    assert caught.value.details["status"] == status
    assert reload(run).status == status
    assert not OperatorEvent.objects.exists()


def test_a_lost_race_is_an_illegal_transition_not_a_second_action(operator, viewer):
    run = make_dead_run()
    stale_copy = Run.objects.get(pk=run.pk)
    resolve(run, operator, note="first")
    with pytest.raises(IllegalTransition):
        retry(stale_copy, viewer)
    assert OperatorEvent.objects.count() == 1


def test_pausing_holds_new_runs_and_resuming_enqueues_them(operator):
    pause("test-noop", operator)
    run = submit("test-noop", {})
    assert execute_run(str(run.pk)) == "not-claimed"
    assert reload(run).status == RunStatus.QUEUED
    queue.purge()

    resume("test-noop", operator)
    assert queue.size() == 1
    assert execute_run(str(run.pk)) == "succeeded"
    assert list(OperatorEvent.objects.values_list("kind", flat=True)) == ["paused", "resumed"]


def test_pausing_twice_records_one_event(operator):
    pause("test-noop", operator)
    pause("test-noop", operator)
    assert Action.objects.get(pk="test-noop").paused
    assert OperatorEvent.objects.count() == 1


# --- the rules the operators enforce, and applying them to many runs --------------------


@pytest.mark.parametrize(
    ("verb", "statuses"),
    [
        ("retry", {RunStatus.RETRYING, RunStatus.DEAD}),
        ("resolve", {RunStatus.DEAD}),
        ("cancel", {RunStatus.QUEUED, RunStatus.RETRYING, RunStatus.WAITING}),
    ],
)
def test_each_verb_starts_from_its_statuses(verb, statuses):
    for status in RunStatus.values:
        assert operators.allows(Run(status=status), verb) is (status in statuses), status


def test_eligible_narrows_a_query_to_what_the_verb_applies_to():
    dead = make_dead_run()
    retrying = make_run("test-flaky", status=RunStatus.RETRYING)
    make_run("test-noop", status=RunStatus.SUCCEEDED)
    assert set(operators.eligible("retry", Run.objects.all())) == {dead, retrying}
    assert list(operators.eligible("resolve", Run.objects.all())) == [dead]


@pytest.mark.parametrize("note", ["", "   ", None])
def test_resolving_needs_a_note_and_nothing_else_does(note):
    with pytest.raises(MissingNote) as caught:
        operators.require_note("resolve", note)
    assert caught.value.code == "note_required"  # a core code; the API answers invalid_body
    assert operators.require_note("retry", note) == ""
    assert operators.require_note("resolve", "  by hand ") == "by hand"


def test_apply_changes_each_run_and_skips_what_it_cannot(operator):
    runs = [make_dead_run() for _ in range(3)]
    resolve(runs[0], operator, note="someone was faster")
    applied = operators.apply("retry", Run.objects.filter(pk__in=[r.pk for r in runs]), operator)
    assert applied.done == 2
    [refusal] = applied.skipped
    assert refusal.details["status"] == RunStatus.RESOLVED
    assert sorted(Run.objects.values_list("status", flat=True)) == ["queued", "queued", "resolved"]


def test_apply_resolve_without_a_note_touches_nothing(operator):
    run = make_dead_run()
    with pytest.raises(MissingNote):
        operators.apply("resolve", [run], operator, note=" ")
    assert reload(run).status == RunStatus.DEAD


def test_apply_knows_only_the_operators_verbs(operator):
    with pytest.raises(ValueError):
        operators.apply("delete", [], operator)
