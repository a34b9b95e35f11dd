"""Which runs to list: one definition of the query parameters, for every surface.

The dashboard's pages, the REST API's run list and the bulk jobs bind their parameters
to ``RunFilterSet`` and apply it with ``Run.objects.matching(filters)``. The parameters
have the same names everywhere. A value that is not valid is left out of
``cleaned_data``, so the dashboard shows what the valid ones select (as a search form
does), while the API refuses the request (``filters.is_valid()``). An empty text filter
(``action=``) is no filter; an empty typed one (``status=``, ``since=``, a date-time,
``cursor=``, ``limit=``) is not valid, as the API's schema says.

Beside the filters, the form carries the paging of a keyset list: ``cursor`` (accepted
as ``after`` too, the dashboard's name before) and ``limit``.
"""

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import cached_property

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.http import urlencode

from .models import FAILED, ActionKind, Run, RunStatus
from .paging import MAX_PAGE_SIZE, Cursor

RANGES = {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7)}
FAILED_STATUSES = list(FAILED)  # what the failed lists offer
ALIASES = {"after": "cursor"}  # older names, still understood


class Typed:
    """A typed parameter that is given must hold a value: empty is not valid."""

    def clean(self, value):
        if value == "":
            raise ValidationError("is empty", code="empty")
        return super().clean(value)


class CursorField(Typed, forms.CharField):
    default_error_messages = {"invalid": "is not a cursor this server gave out"}

    def to_python(self, value) -> Cursor | None:
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        cursor = Cursor.decode(value)
        if cursor is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return cursor


class LimitField(Typed, forms.CharField):
    default_error_messages = {"invalid": f"must be an integer from 1 to {MAX_PAGE_SIZE}"}

    def to_python(self, value) -> int | None:
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        if not (value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_PAGE_SIZE):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return int(value)


class PageForm(forms.Form):
    """The paging of a list, beside its filters."""

    cursor = CursorField(required=False, help_text="Where the page starts: the previous page's.")
    limit = LimitField(required=False, help_text=f"Rows per page, 1-{MAX_PAGE_SIZE}.")


DATETIME_ERRORS = {
    "invalid": "must be an ISO 8601 date-time, e.g. 2026-01-31T12:00:00Z "
    "(write + in an offset as %2B)"
}


class DateTimeField(Typed, django_filters.fields.IsoDateTimeField):
    def to_python(self, value) -> datetime | None:
        """In UTC: PostgreSQL refuses some offsets that ISO 8601 allows (e.g. -19:56)."""
        value = super().to_python(value)
        try:
            return value.astimezone(UTC) if value is not None else None
        except (OverflowError, ValueError):
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class DateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = DateTimeField

    def __init__(self, **kwargs):
        kwargs.setdefault("error_messages", DATETIME_ERRORS)
        super().__init__(field_name="created_at", **kwargs)


class TypedChoiceFilter(django_filters.ChoiceFilter):
    field_class = type("TypedChoiceField", (Typed, django_filters.fields.ChoiceField), {})


class RunIdField(Typed, forms.UUIDField):
    default_error_messages = {"invalid": "is not a run id (a UUID)"}


class RunIdFilter(django_filters.UUIDFilter):
    field_class = RunIdField


class RunFilterSet(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=RunStatus.choices,
        method="with_status",
        help_text="One status or several (repeat the parameter).",
    )
    action = django_filters.CharFilter(field_name="action_id", help_text="An action's name.")
    since = TypedChoiceFilter(
        choices=[(key, key) for key in RANGES],
        method="created_within",
        help_text="Created within the last hour, day or week.",
    )
    q = django_filters.CharFilter(method="search", help_text="A run id or an idempotency key.")
    code = django_filters.CharFilter(
        field_name="error__code", help_text="The error code of the run's last failure."
    )
    idempotency_key = django_filters.CharFilter(help_text="The run's idempotency key.")
    kind = TypedChoiceFilter(
        field_name="action__kind",
        choices=ActionKind.choices,
        help_text="Runs of workflows (`workflow`) or of plain actions (`action`; steps are).",
    )
    # The steps of one workflow read an index on parent: the foreign key's own, or
    # run_unique_step (parent, step_key), whose condition the equality implies.
    parent = RunIdFilter(
        field_name="parent_id", help_text="A workflow run's id: its steps (child runs)."
    )
    created_after = DateTimeFilter(lookup_expr="gte", help_text="Created at or after, ISO 8601.")
    created_before = DateTimeFilter(lookup_expr="lt", help_text="Created before, ISO 8601.")

    class Meta:
        model = Run
        fields: list[str] = []  # only the filters declared above
        form = PageForm

    def __init__(self, data=None, *, failed: bool = False, now: datetime | None = None):
        """``failed``: the failed page's, where only retrying and dead runs are listed.
        ``now``: the moment ``since`` counts back from (a job's start, for a job)."""
        super().__init__(present(data or {}))  # always bound: no parameters, no filters
        self.now = now
        if failed:
            self.filters["status"].extra["choices"] = [
                (status, status) for status in FAILED_STATUSES
            ]

    # --- how each filter that is not a plain lookup applies ----------------------------

    def with_status(self, queryset: QuerySet, name: str, value: list[str]) -> QuerySet:
        return queryset.filter(status__in=value)

    def created_within(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(created_at__gte=(self.now or timezone.now()) - RANGES[value])

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """A run id finds that run; anything else is an idempotency key (``run_key_idx``)."""
        try:
            return queryset.filter(Q(pk=uuid.UUID(value)) | Q(idempotency_key=value))
        except ValueError:
            return queryset.filter(idempotency_key=value)

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        """Apply the valid filters (``cursor`` and ``limit`` page; they do not filter)."""
        self.errors  # noqa: B018 - validates, leaving invalid values out of cleaned_data
        for name, value in self.form.cleaned_data.items():
            if name in self.filters:
                queryset = self.filters[name].filter(queryset, value)
        return queryset

    # --- what the surfaces read back ---------------------------------------------------

    @cached_property
    def params(self) -> dict[str, str | list[str]]:
        """The valid filters as URL parameters (``status`` a list), in a stable order."""
        self.errors  # noqa: B018 - validates
        cleaned = self.form.cleaned_data
        params: dict[str, str | list[str]] = {}
        for name in self.filters:
            value = cleaned.get(name)
            if value in (None, "", []):
                continue
            if isinstance(value, datetime):
                value = self.data[name]  # as given: it was valid
            elif isinstance(value, uuid.UUID):
                value = str(value)  # a job stores these as JSON
            params[name] = list(value) if name == "status" else value
        return params

    @property
    def active(self) -> bool:
        return bool(self.params)

    @property
    def cursor(self) -> Cursor | None:
        self.errors  # noqa: B018 - validates
        return self.form.cleaned_data.get("cursor")

    @property
    def limit(self) -> int | None:
        self.errors  # noqa: B018 - validates
        return self.form.cleaned_data.get("limit")

    def as_query(self, **changes: str) -> str:
        """The query string of these filters (and limit), with ``changes``; empties dropped."""
        values: dict = dict(self.params)
        if self.limit is not None:
            values["limit"] = str(self.limit)
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v}, doseq=True)

    def hidden_inputs(self) -> list[tuple[str, str]]:
        """(name, value) pairs that carry these filters through a form."""
        pairs = []
        for name, value in self.params.items():
            pairs += [(name, item) for item in (value if isinstance(value, list) else [value])]
        return pairs

    def raw(self, name: str) -> str | list[str]:
        """What the request gave for ``name``: a list when several values came."""
        values = self.data.getlist(name)
        return values if len(values) > 1 or name == "status" else values[0]


def present(data: Mapping) -> QueryDict:
    """``data`` as a ``QueryDict``, older names under their current ones.

    ``data`` is a ``QueryDict`` (a request's) or a plain mapping of names to a value or a
    list (a job's stored filters).
    """
    query = QueryDict(mutable=True)
    for name in data:
        if hasattr(data, "getlist"):
            values = data.getlist(name)
        else:
            value = data[name]
            values = list(value) if isinstance(value, list | tuple) else [value]
        values = [str(v) for v in values if v is not None]
        current = ALIASES.get(name, name)
        if values and (current == name or current not in data):
            query.setlist(current, values)
    return query
