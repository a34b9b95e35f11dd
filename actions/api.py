"""The REST API (DESIGN.md, "REST API"): one small view per endpoint.

Each view checks the request's shape and permission, then calls the same engine
function as the dashboard and the Python API (``submit``, ``retry``, ``resolve``,
``cancel``, ``pause``, ``resume``); errors become JSON in ``api_errors``.
"""

import json
import uuid
from dataclasses import asdict
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiYamlRenderer
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.parsers import BaseParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from . import operators
from .api_errors import error_response
from .api_permissions import (
    CanCancelRuns,
    CanPauseActions,
    CanResolveRuns,
    CanRetryRuns,
    CanSubmitRuns,
    CanViewRuns,
)
from .errors import DoplatformError, InvalidIdempotencyKey, InvalidInputs
from .filters import RANGES, RunFilterSet
from .idempotency import validate_idempotency_key
from .models import Action, OperatorEvent, Run, RunStatus
from .paging import MAX_PAGE_SIZE, PAGE_SIZE, keyset_page
from .policy import overridden_fields
from .queries import action_counts
from .registry import ActionSpec, all_specs, effective_policy, get_spec
from .serializers import (
    ActionSerializer,
    ErrorSerializer,
    NoteSerializer,
    RunDetailSerializer,
    RunPageSerializer,
    RunSerializer,
    SubmitSerializer,
)
from .submission import submit


class InvalidJSON(DoplatformError):
    code = "invalid_json"


class InvalidBody(DoplatformError):
    code = "invalid_body"


class InvalidQuery(DoplatformError):
    code = "invalid_query"


class NotFound(DoplatformError):
    code = "not_found"


# --- parsing -------------------------------------------------------------------------


class StrictJSONParser(BaseParser):
    """JSON bodies in UTF-8, refusing what JSON cannot represent.

    Python's ``json`` accepts ``NaN`` and ``Infinity`` and recurses on nesting; both
    are the client's inputs being wrong (``invalid_inputs``), not a crash.
    """

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        raw = stream.read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InvalidJSON(f"the request body is not valid UTF-8 (byte {error.start})") from None
        try:
            return json.loads(text, parse_constant=_refuse_constant)
        except json.JSONDecodeError as error:
            raise InvalidJSON(
                f"the request body is not valid JSON: {error.msg} "
                f"(line {error.lineno}, column {error.colno})"
            ) from None
        except RecursionError:
            raise _invalid_inputs("$", "nesting too deep") from None
        except ValueError as error:  # e.g. an integer past Python's digit limit
            raise _invalid_inputs("$", str(error)) from None


def _refuse_constant(name: str):
    raise _invalid_inputs("$", f"{name} is not allowed: JSON numbers must be finite")


def _invalid_inputs(path: str, message: str) -> InvalidInputs:
    return InvalidInputs(
        f"inputs at {path}: {message}", details=[{"path": path, "message": message}]
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


def note_from(request: Request) -> str:
    note = body_object(request, allowed={"note"}).get("note", "")
    if not isinstance(note, str):
        raise InvalidBody("note must be a string", details={"field": "note"})
    if "\x00" in note or not _encodable(note):
        raise InvalidBody(
            "note holds a NUL character or invalid unicode", details={"field": "note"}
        )
    return note


def idempotency_key_from(request: Request) -> str | None:
    """The ``Idempotency-Key`` header, unquoted (the IETF draft's sf-string form).

    A repeated header arrives comma-joined; ``,`` is outside the key alphabet, so it
    is refused like any other invalid key.
    """
    key = request.headers.get("Idempotency-Key")
    if key is None:
        if settings.DOPLATFORM_REQUIRE_IDEMPOTENCY_KEY:
            raise InvalidIdempotencyKey("this server requires an Idempotency-Key header")
        return None
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    return validate_idempotency_key(key)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# --- shared bits ---------------------------------------------------------------------


def run_or_404(run_id: str, queryset: QuerySet | None = None) -> Run:
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


def run_detail_queryset() -> QuerySet:
    return Run.objects.select_related("action", "resolved_by").prefetch_related(
        "attempt_set", Prefetch("events", queryset=OperatorEvent.objects.select_related("user"))
    )


def run_detail_response(request: Request, run_id) -> Response:
    run = run_or_404(str(run_id), run_detail_queryset())
    return Response(RunDetailSerializer(run, context={"request": request}).data)


def describe_action(spec: ActionSpec, row: Action | None, counts: dict) -> dict:
    return {
        "name": spec.name,
        "description": spec.description,
        "inputs_schema": spec.inputs_schema,
        "policy": asdict(effective_policy(spec.name, row)),
        "overridden": overridden_fields(row),
        "paused": bool(row is not None and row.paused),
        "counts": {status: int(counts.get(status, 0)) for status in RunStatus.values},
    }


def action_response(name: str) -> Response:
    spec = get_spec(name)
    row = Action.objects.filter(pk=name).first()
    counts = action_counts().get(name, {})
    return Response(ActionSerializer(describe_action(spec, row, counts)).data)


# --- schema fragments ----------------------------------------------------------------


ERROR_TEXTS = {
    400: "The request is malformed (see `error`).",
    401: "No or invalid credentials: `not_authenticated` (with `WWW-Authenticate`).",
    403: "`permission_denied`: signed in without the needed permission (or no CSRF token).",
    404: "`not_found`.",
    406: "`not_acceptable`: only JSON is served.",
    409: "`illegal_transition`.",
    413: "`payload_too_large`: `Content-Length` over the limit, refused before parsing.",
    415: "`unsupported_media_type`: send `application/json`.",
    422: "`idempotency_key_reused`.",
    503: "`service_unavailable`: the database is down; see `Retry-After`.",
}


def errors(*statuses: int, **texts: str) -> dict[int, OpenApiResponse]:
    """Error responses in the schema, all with the JSON error body; ``_404="…"`` overrides."""
    overrides = {int(key.lstrip("_")): text for key, text in texts.items()}
    return {
        status: OpenApiResponse(
            ErrorSerializer, description=overrides.get(status, ERROR_TEXTS[status])
        )
        for status in sorted({401, 403, 406, 503, *statuses})
    }


def filter_parameters() -> list[OpenApiParameter]:
    """``RunFilterSet``'s parameters for the schema, with their help texts."""
    types = {"created_after": OpenApiTypes.DATETIME, "created_before": OpenApiTypes.DATETIME}
    enums = {"status": RunStatus.values, "since": list(RANGES)}
    parameters = [
        OpenApiParameter(
            name,
            types.get(name, str),
            enum=enums.get(name),
            many=name == "status" or None,
            description=str(filter_.extra.get("help_text", "")),
        )
        for name, filter_ in RunFilterSet.base_filters.items()
    ]
    return [
        *parameters,
        OpenApiParameter("cursor", str, description="From the previous page's `next`."),
        OpenApiParameter("limit", int, description=f"1-{MAX_PAGE_SIZE}, default {PAGE_SIZE}."),
    ]


RUN_ID = OpenApiParameter("run_id", OpenApiTypes.UUID, OpenApiParameter.PATH)
ACTION_NAME = OpenApiParameter(
    "name",
    str,
    OpenApiParameter.PATH,
    enum=[spec.name for spec in all_specs()],  # registered at start-up, before URLs load
    description="Action name, as registered in code.",
)


# --- actions -------------------------------------------------------------------------


class ActionList(APIView):
    permission_classes = [CanViewRuns]

    @extend_schema(
        operation_id="actions_list",
        summary="List actions with policy, input schema and run counts",
        responses={200: ActionSerializer(many=True), **errors()},
    )
    def get(self, request: Request) -> Response:
        rows = Action.objects.in_bulk()
        counts = action_counts()
        actions = [
            describe_action(spec, rows.get(spec.name), counts.get(spec.name, {}))
            for spec in all_specs()
        ]
        return Response(ActionSerializer(actions, many=True).data)


class ActionDetail(APIView):
    permission_classes = [CanViewRuns]

    @extend_schema(
        operation_id="actions_retrieve",
        summary="One action",
        parameters=[ACTION_NAME],
        responses={200: ActionSerializer, **errors(404, _404="`unknown_action`.")},
    )
    def get(self, request: Request, name: str) -> Response:
        return action_response(name)


class PauseAction(APIView):
    permission_classes = [CanPauseActions]
    parser_classes = [StrictJSONParser]

    @extend_schema(
        operation_id="actions_pause",
        summary="Pause an action: its runs are accepted but wait",
        parameters=[ACTION_NAME],
        request=NoteSerializer,
        responses={200: ActionSerializer, **errors(400, 404, 413, 415)},
    )
    def post(self, request: Request, name: str) -> Response:
        get_spec(name)
        operators.pause(name, request.user, note_from(request))
        return action_response(name)


class ResumeAction(APIView):
    permission_classes = [CanPauseActions]
    parser_classes = [StrictJSONParser]

    @extend_schema(
        operation_id="actions_resume",
        summary="Resume an action: its waiting runs are enqueued",
        parameters=[ACTION_NAME],
        request=NoteSerializer,
        responses={200: ActionSerializer, **errors(400, 404, 413, 415)},
    )
    def post(self, request: Request, name: str) -> Response:
        get_spec(name)
        operators.resume(name, request.user, note_from(request))
        return action_response(name)


# --- submit --------------------------------------------------------------------------


class SubmitRun(APIView):
    permission_classes = [CanSubmitRuns]
    parser_classes = [StrictJSONParser]

    @extend_schema(
        operation_id="runs_create",
        summary="Submit a run of an action",
        description=(
            "A new run answers 202 with a `Location`. The same `Idempotency-Key` with the "
            "same inputs answers 200 with the original run (whatever its status) and "
            "`Idempotent-Replayed: true`; with other inputs, 422 `idempotency_key_reused`. "
            "A paused action accepts the run, which waits (`action_paused`)."
        ),
        parameters=[
            ACTION_NAME,
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description=(
                    '1-255 visible ASCII characters except `,` `"` `\\`; may be sent as '
                    "one quoted string. Scoped to the action."
                ),
            ),
            OpenApiParameter(
                "Location",
                str,
                OpenApiParameter.HEADER,
                response=[202],
                description="The new run's URL.",
            ),
            OpenApiParameter(
                "Idempotent-Replayed",
                str,
                OpenApiParameter.HEADER,
                enum=["true"],
                response=[200],
                description="The key was already bound to this run; nothing new was started.",
            ),
        ],
        request=SubmitSerializer,
        responses={
            202: OpenApiResponse(RunSerializer, description="A new run."),
            200: OpenApiResponse(RunSerializer, description="A replay: the original run."),
            **errors(
                400,
                404,
                413,
                415,
                422,
                _400="`invalid_json`, `invalid_body`, `invalid_inputs` (details list each "
                "failing path) or `invalid_idempotency_key`.",
                _404="`unknown_action`.",
                _413="`payload_too_large`: body or canonical inputs over the limit.",
                _422="`idempotency_key_reused`: details name the original run.",
            ),
        },
    )
    def post(self, request: Request, name: str) -> Response:
        get_spec(name)
        inputs = body_object(request, allowed={"inputs"}, required={"inputs"})["inputs"]
        if not isinstance(inputs, dict):
            raise InvalidBody("inputs must be a JSON object", details={"field": "inputs"})
        run = submit(name, inputs, idempotency_key=idempotency_key_from(request))
        body = RunSerializer(run).data
        if run.replayed:
            return Response(body, status=200, headers={"Idempotent-Replayed": "true"})
        location = reverse("api:run-detail", args=[run.pk])
        return Response(body, status=202, headers={"Location": location})


# --- runs ----------------------------------------------------------------------------


class RunList(APIView):
    permission_classes = [CanViewRuns]

    @extend_schema(
        operation_id="runs_list",
        summary="Runs, newest first, in keyset pages",
        parameters=filter_parameters(),
        responses={
            200: RunPageSerializer,
            **errors(400, _400="`invalid_query`: a filter, cursor or limit is malformed."),
        },
    )
    def get(self, request: Request) -> Response:
        filters = valid_filters(request.query_params)
        runs = Run.objects.select_related("action", "resolved_by").matching(filters)
        page = keyset_page(runs, filters.cursor, filters.limit or PAGE_SIZE)
        next_url = None
        if page.next_cursor is not None:
            url = remove_query_param(request.build_absolute_uri(), "after")  # the older name
            next_url = replace_query_param(url, "cursor", page.next_cursor.encode())
        return Response({"results": RunSerializer(page.rows, many=True).data, "next": next_url})


class RunDetail(APIView):
    permission_classes = [CanViewRuns]

    @extend_schema(
        operation_id="runs_retrieve",
        summary="A run with its attempts and operator events",
        parameters=[RUN_ID],
        responses={200: RunDetailSerializer, **errors(404, _404="`not_found`.")},
    )
    def get(self, request: Request, run_id: str) -> Response:
        return run_detail_response(request, run_id)


def operator_schema(summary: str, codes: str) -> Any:
    return extend_schema(
        summary=summary,
        parameters=[RUN_ID],
        request=NoteSerializer,
        responses={
            200: RunDetailSerializer,
            **errors(
                400,
                404,
                409,
                413,
                415,
                _400="`invalid_json` or `invalid_body`.",
                _404="`not_found`.",
                _409=f"`illegal_transition`: {codes}.",
            ),
        },
    )


class RetryRun(APIView):
    permission_classes = [CanRetryRuns]
    parser_classes = [StrictJSONParser]

    @operator_schema("Retry a retrying or dead run now", "only retrying and dead runs")
    def post(self, request: Request, run_id: str) -> Response:
        note = note_from(request)
        operators.retry(run_or_404(run_id), request.user, note)
        return run_detail_response(request, run_id)


class ResolveRun(APIView):
    permission_classes = [CanResolveRuns]
    parser_classes = [StrictJSONParser]

    @operator_schema("Resolve a dead run (a note is required)", "only dead runs")
    def post(self, request: Request, run_id: str) -> Response:
        note = note_from(request)
        operators.resolve(run_or_404(run_id), request.user, note)
        return run_detail_response(request, run_id)


class CancelRun(APIView):
    permission_classes = [CanCancelRuns]
    parser_classes = [StrictJSONParser]

    @operator_schema("Cancel a queued or retrying run", "only queued and retrying runs")
    def post(self, request: Request, run_id: str) -> Response:
        note = note_from(request)
        operators.cancel(run_or_404(run_id), request.user, note)
        return run_detail_response(request, run_id)


# --- query parameters ----------------------------------------------------------------


def valid_filters(params) -> RunFilterSet:
    """The run filters of a query string, or ``invalid_query`` naming what is wrong."""
    filters = RunFilterSet(params)
    if filters.is_valid():
        return filters
    errors = filters.form.errors
    message = "; ".join(f"{name} {' '.join(problems)}" for name, problems in errors.items())
    raise InvalidQuery(message, details={name: filters.raw(name) for name in errors})


# --- schema, docs and unknown URLs ---------------------------------------------------


class JSONErrorsMixin:
    """Render errors as JSON even where the page itself is YAML or HTML."""

    def handle_exception(self, exc):
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)


class SchemaView(JSONErrorsMixin, SpectacularAPIView):
    renderer_classes = [OpenApiJsonRenderer, OpenApiYamlRenderer]


class DocsView(JSONErrorsMixin, SpectacularSwaggerView):
    pass


def api_not_found(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """Any unknown URL under /api/: JSON, never a redirect or an HTML page."""
    hint = "" if request.path.endswith("/") else " (API URLs end with a slash)"
    return error_response("not_found", f"nothing at {request.path}{hint}")
