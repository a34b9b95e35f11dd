"""``manage.py retry | resolve | cancel RUN_ID … [--note]``: operators' functions from a shell."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from actions.models import OperatorEvent, RunStatus
from tests.factories import make_dead_run, make_run

pytestmark = pytest.mark.django_db


def test_retry_queues_a_dead_run_and_records_the_note(manage):
    run = make_dead_run()
    done = manage("retry", str(run.pk), "--note", "the CRM is back")
    assert done.returncode == 0
    assert json.loads(done.stdout)["status"] == "queued"
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED
    event = OperatorEvent.objects.get(run=run)
    assert (event.kind, event.note, event.user) == ("retried", "the CRM is back", None)


def test_resolve_needs_a_note(manage):
    run = make_dead_run()
    with pytest.raises(CommandError, match="--note"):
        call_command("resolve", str(run.pk))
    done = manage("resolve", str(run.pk), "--note", "  ")
    assert done.returncode == 1
    assert "note_required" in done.stderr
    run.refresh_from_db()
    assert run.status == RunStatus.DEAD


def test_resolve_settles_a_dead_run(manage):
    run = make_dead_run()
    done = manage("resolve", str(run.pk), "--note", "refunded by hand")
    assert json.loads(done.stdout)["resolution"]["note"] == "refunded by hand"
    run.refresh_from_db()
    assert (run.status, run.resolution_note) == (RunStatus.RESOLVED, "refunded by hand")


def test_cancel_takes_several_runs_and_reports_each_refusal(manage):
    queued, dead, retrying = make_run(), make_dead_run(), make_run(status=RunStatus.RETRYING)
    done = manage("cancel", str(queued.pk), str(dead.pk), "nope", str(retrying.pk))
    assert done.returncode == 1
    assert [json.loads(line)["id"] for line in done.stdout.splitlines()] == [
        str(queued.pk),
        str(retrying.pk),
    ]
    assert f"{dead.pk}: illegal_transition: cannot cancel run {dead.pk}: it is dead" in done.stderr
    assert "nope: not_found: no run 'nope'" in done.stderr
    assert "2 of 4 run(s) refused" in done.stderr
    dead.refresh_from_db()
    assert dead.status == RunStatus.DEAD
