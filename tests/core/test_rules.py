"""The rules people meet (actions/rules.py): permissions, tracebacks, why a run waits."""

import pytest

from actions import operators, rules
from actions.models import RunStatus
from tests.factories import make_dead_run, make_run, make_user

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("verb", sorted(rules.PERMISSIONS))
def test_each_verb_needs_its_permission(verb):
    holder = make_user("holder", rules.PERMISSIONS[verb])
    other = make_user("other", "actions.view_run" if verb != "view" else "actions.submit_run")
    assert rules.user_may(holder, verb)
    assert not rules.user_may(other, verb)


def test_anonymous_users_may_nothing():
    from django.contrib.auth.models import AnonymousUser

    assert not any(rules.user_may(AnonymousUser(), verb) for verb in rules.PERMISSIONS)
    assert not rules.may_use_dashboard(AnonymousUser())


def test_the_dashboard_is_for_staff_who_may_view(operator, viewer, outsider):
    assert rules.may_use_dashboard(operator) and rules.may_use_dashboard(viewer)
    assert not rules.may_use_dashboard(outsider)
    assert not rules.may_use_dashboard(make_user("staff-only"))
    assert not rules.may_use_dashboard(
        make_user("viewer-not-staff", "actions.view_run", staff=False)
    )


def test_tracebacks_are_for_those_who_may_retry(operator, viewer):
    assert rules.may_see_tracebacks(operator)
    assert not rules.may_see_tracebacks(viewer)


def test_a_paused_actions_waiting_run_says_so(operator):
    queued = make_run("test-noop")
    operators.pause("test-noop", operator)
    queued.action.refresh_from_db()
    assert rules.waiting_reason(queued) == rules.PAUSED


def test_a_worker_that_left_a_run_says_why():
    run = make_run("test-noop")
    run.waiting_reason = "no handler for 'test-noop' on worker w:1"
    assert rules.waiting_reason(run) == "no handler for 'test-noop' on worker w:1"
    assert rules.waiting_reason(make_run("test-noop")) is None  # it simply waits its turn


@pytest.mark.parametrize("status", [RunStatus.RUNNING, RunStatus.SUCCEEDED, RunStatus.CANCELLED])
def test_a_run_that_is_not_waiting_has_no_reason(status, operator):
    run = make_run("test-noop", status=status)
    operators.pause("test-noop", operator)
    run.action.refresh_from_db()
    assert rules.waiting_reason(run) is None
    assert rules.waiting_reason(make_dead_run()) is None
