"""Counts and aggregates (actions/queries.py), and on PostgreSQL the plans behind the pages."""

from datetime import timedelta

import pytest
from django.db import connection

from actions import queries
from actions.filters import RunFilterSet
from actions.models import Run
from actions.paging import Cursor
from tests.factories import make_dead_run, make_dead_workflow, make_run

pytestmark = pytest.mark.django_db


def test_a_capped_count_says_plus_past_the_cap():
    for _ in range(3):
        make_run("test-noop")
    assert str(queries.capped_count(Run.objects.all(), cap=2)) == "2+"
    assert str(queries.capped_count(Run.objects.all(), cap=5)) == "3"


def plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")  # a tiny table would be scanned anyway
        try:
            cursor.execute(f"EXPLAIN {sql}", params)
            return "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("RESET enable_seqscan")


@pytest.mark.postgres
def test_the_failed_page_reads_the_partial_index():
    make_dead_run()
    runs = Run.objects.failed().matching(RunFilterSet({"action": "test-final"}, failed=True))
    with connection.cursor() as cursor:
        # Which of two usable indexes a near-empty table picks depends on its statistics;
        # without the general one, the plan shows that the partial index serves the query.
        # (DDL is transactional in PostgreSQL: the test's rollback restores the index.)
        cursor.execute("DROP INDEX run_action_created_idx")
    assert "run_failed_idx" in plan(runs[:51])


@pytest.mark.postgres
def test_a_deep_keyset_page_starts_the_index_scan_at_the_cursor():
    run = make_run("test-noop", status="succeeded")
    runs = Run.objects.matching(RunFilterSet({}))
    after = Cursor(run.created_at - timedelta(seconds=1), run.pk)
    text = plan(runs.page_after(after)[:51])
    assert "run_created_idx" in text
    assert "Index Cond: (created_at <=" in text


@pytest.mark.postgres
def test_the_steps_of_one_workflow_read_an_index_on_parent():
    run, _ = make_dead_workflow()
    steps = Run.objects.matching(RunFilterSet({"parent": str(run.pk)}))
    text = plan(steps[:51])
    assert "Index Cond: (parent_id =" in text
    # The foreign key's own index serves it now; run_unique_step (parent, step_key), whose
    # condition the equality implies, would serve it without that one.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'actions_run' "
            "AND indexname LIKE 'actions_run_parent_id%%'"
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{name}"')  # rolled back with the test
    assert "run_unique_step" in plan(steps[:51])
