"""Keyset pages (actions/paging.py): cursors, and pages that follow each other."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from actions.models import Run
from actions.paging import Cursor, keyset_page
from tests.factories import make_run

pytestmark = pytest.mark.django_db


def test_a_cursor_round_trips_to_the_microsecond():
    cursor = Cursor(datetime(2026, 11, 25, 13, 0, 1, 123456, tzinfo=UTC), uuid.uuid4())
    assert Cursor.decode(cursor.encode()) == cursor


@pytest.mark.parametrize("garbage", ["", "x", "1.2", "12.zz", "99999999999999999999999.00"])
def test_a_garbled_cursor_decodes_to_none(garbage):
    assert Cursor.decode(garbage) is None


def test_pages_follow_each_other_without_gaps_or_repeats_even_on_equal_timestamps():
    now = timezone.now()
    runs = [make_run(created_at=now - timedelta(seconds=i // 3)) for i in range(7)]
    ordered = Run.objects.order_by("-created_at", "-id")
    seen, after, pages = [], None, 0
    while True:
        page = keyset_page(ordered, after, size=3)
        seen += [run.pk for run in page.rows]
        pages += 1
        assert page.is_first is (after is None)
        if page.next_cursor is None:
            break
        after = page.next_cursor
    assert pages == 3
    assert seen == [
        run.pk for run in sorted(runs, key=lambda r: (r.created_at, r.pk), reverse=True)
    ]
