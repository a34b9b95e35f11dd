"""What the API reads from a request: a strict JSON body, a note, the idempotency key,
the run filters, a run id. Each refuses what is malformed with the API's error codes."""

import uuid
from typing import Any

from django.db.models import QuerySet
from django.utils.http import parse_header_parameters
from rest_framework import exceptions
from rest_framework.parsers import BaseParser
from rest_framework.request import Request

from .. import canonical
from ..conf import app_settings
from ..errors import InvalidIdempotencyKey
from ..filters import RunFilterSet
from ..idempotency import validate_idempotency_key
from ..middleware import incomplete_body
from ..models import Run
from .errors import InvalidBody, InvalidQuery, NotFound


class StrictJSONParser(BaseParser):
    """JSON bodies in UTF-8, read strictly (``canonical.loads``): no NaN, no key twice.

    A body shorter than its ``Content-Length`` (the client half-closed the connection)
    is refused rather than executed, and so is a charset other than UTF-8 (415).
    """

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        _require_utf8(media_type or "")
        raw = stream.read() if stream is not None else b""
        request = (parser_context or {}).get("request")
        if request is not None and (problem := incomplete_body(len(raw), request.META)):
            raise InvalidBody(problem)
        return canonical.loads(raw)


def _require_utf8(media_type: str) -> None:
    charset = parse_header_parameters(media_type)[1].get("charset")
    if charset is not None and charset.lower() not in ("utf-8", "utf8"):
        raise exceptions.UnsupportedMediaType(
            media_type, detail=f"charset {charset} is not supported: send JSON in UTF-8"
        )


def body_object(request: Request, *, allowed: set[str], required: set[str] = frozenset()) -> dict:
    """The JSON body as an object holding only ``allowed`` keys and every ``required`` one."""
    data = request.data
    if not isinstance(data, dict):
        raise InvalidBody("the request body must be a JSON object")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise InvalidBody(
            f"unknown field(s) in the request body; allowed: {', '.join(sorted(allowed))}",
            details={"unknown": unknown},
        )
    missing = sorted(required - set(data))
    if missing:
        raise InvalidBody(
            f"the request body lacks {', '.join(missing)}", details={"missing": missing}
        )
    return data


def inputs_from(request: Request) -> dict:
    """The ``inputs`` object of a submission's body."""
    inputs = body_object(request, allowed={"inputs"}, required={"inputs"})["inputs"]
    if not isinstance(inputs, dict):
        raise InvalidBody("inputs must be a JSON object", details={"field": "inputs"})
    return inputs


def note_from(request: Request) -> str:
    return operation_from(request)[0]


def operation_from(request: Request, *, carrying: str | None = None) -> tuple[str, dict | None]:
    """The note of an operator's request, and the object it may carry (``carrying``: a
    retry's ``inputs``, a resolve's ``result``), None when not given."""
    allowed = {"note"} if carrying is None else {"note", carrying}
    data = body_object(request, allowed=allowed)
    carried = None
    if carrying is not None and carrying in data:
        carried = data[carrying]
        if not isinstance(carried, dict):
            raise InvalidBody(f"{carrying} must be a JSON object", details={"field": carrying})
    return _checked_note(data.get("note", "")), carried


def _checked_note(note: Any) -> str:
    if not isinstance(note, str):
        raise InvalidBody("note must be a string", details={"field": "note"})
    if (problem := canonical.text_problem(note)) is not None:
        raise InvalidBody(f"note: {problem}", details={"field": "note"})
    return note


def idempotency_key_from(request: Request) -> str | None:
    """The ``Idempotency-Key`` header, unquoted (the IETF draft's sf-string form).

    A repeated header arrives comma-joined; ``,`` is outside the key alphabet, so it
    is refused like any other invalid key.
    """
    key = request.headers.get("Idempotency-Key")
    if key is None:
        if app_settings.REQUIRE_IDEMPOTENCY_KEY:
            raise InvalidIdempotencyKey("this server requires an Idempotency-Key header")
        return None
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    return validate_idempotency_key(key)


def filters_from(request: Request) -> RunFilterSet:
    """The run filters of the query string, or ``invalid_query`` naming what is wrong."""
    filters = RunFilterSet(request.query_params)
    if filters.is_valid():
        return filters
    errors = filters.form.errors
    message = "; ".join(f"{name} {' '.join(problems)}" for name, problems in errors.items())
    raise InvalidQuery(message, details={name: filters.raw(name) for name in errors})


def run_or_404(run_id: str, queryset: QuerySet | None = None) -> Run:
    """The run named in the URL; ``not_found`` for a malformed id too."""
    try:
        pk = uuid.UUID(run_id)
    except ValueError:
        raise NotFound(f"no run with id {run_id!r}", details={"run_id": run_id}) from None
    run = (
        (queryset if queryset is not None else Run.objects.select_related("action"))
        .filter(pk=pk)
        .first()
    )
    if run is None:
        raise NotFound(f"no run with id {pk}", details={"run_id": str(pk)})
    return run
