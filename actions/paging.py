"""Keyset pages of runs, newest first: a cursor names the last row of a page.

Never OFFSET: page 1,000 costs what page 1 does (see ``RunQuerySet.page_after``).
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import QuerySet

from .models import Run

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Cursor:
    """The last row of a page: the next page starts strictly after it."""

    created_at: datetime
    id: uuid.UUID

    def encode(self) -> str:
        micros = (self.created_at - EPOCH) // timedelta(microseconds=1)
        return f"{micros}.{self.id.hex}"

    @classmethod
    def decode(cls, value: str) -> "Cursor | None":
        try:
            micros, hex_id = value.split(".", 1)
            return cls(EPOCH + timedelta(microseconds=int(micros)), uuid.UUID(hex=hex_id))
        except (ValueError, OverflowError):
            return None


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[Run]
    next_cursor: Cursor | None
    is_first: bool


def keyset_page(runs: QuerySet, after: Cursor | None = None, size: int = PAGE_SIZE) -> Page:
    """One page of ``runs`` (ordered newest first) starting after ``after``."""
    if after is not None:
        runs = runs.page_after(after)
    rows = list(runs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = Cursor(rows[-1].created_at, rows[-1].id) if more else None
    return Page(rows=rows, next_cursor=next_cursor, is_first=after is None)
