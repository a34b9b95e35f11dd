"""POST /api/actions/<name>/runs/; GET /api/runs/ and /api/runs/<id>/; POST
/api/runs/<id>/retry|resolve|cancel/."""

from django.db.models import Prefetch, QuerySet
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from .. import operators, rules
from ..models import OperatorEvent, Run
from ..paging import PAGE_SIZE, keyset_page
from ..registry import get_spec
from ..submission import submit
from .parsing import (
    StrictJSONParser,
    filters_from,
    idempotency_key_from,
    inputs_from,
    note_from,
    operation_from,
    run_or_404,
)
from .permissions import CanCancelRuns, CanResolveRuns, CanRetryRuns, CanSubmitRuns, CanViewRuns
from .schema import ACTION_NAME, RUN_ID, errors, filter_parameters, operator_schema
from .serializers import (
    ResolveSerializer,
    RetrySerializer,
    RunDetailSerializer,
    RunPageSerializer,
    RunSerializer,
    SubmitSerializer,
)

# A replay to a caller without ``view_run`` answers these as null: only the fields of the
# original 202 answer, never what the run produced since.
REPLAY_HIDDEN = ("result", "error", "resolution")


def run_detail_queryset() -> QuerySet:
    return Run.objects.select_related("action", "resolved_by").prefetch_related(
        "attempt_set", Prefetch("events", queryset=OperatorEvent.objects.select_related("user"))
    )


def run_detail_response(request: Request, run_id) -> Response:
    run = run_or_404(str(run_id), run_detail_queryset())
    return Response(RunDetailSerializer(run, context={"request": request}).data)


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
            "A paused action accepts the run, which waits (`action_paused`). A replay shows "
            "`result`, `error` and `resolution` only to callers who may view runs "
            "(`actions.view_run`); to others they are null."
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
        run = submit(name, inputs_from(request), idempotency_key=idempotency_key_from(request))
        body = RunSerializer(run).data
        if run.replayed:
            if not rules.user_may(request.user, "view"):
                # What happened since the run was accepted is for those who may read runs.
                body |= dict.fromkeys(REPLAY_HIDDEN)
            return Response(body, status=200, headers={"Idempotent-Replayed": "true"})
        location = reverse("api:run-detail", args=[run.pk])
        return Response(body, status=202, headers={"Location": location})


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
        filters = filters_from(request)
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


class RetryRun(APIView):
    permission_classes = [CanRetryRuns]
    parser_classes = [StrictJSONParser]

    @operator_schema(
        "Retry a retrying or dead run now, optionally with edited inputs",
        "only retrying and dead runs; edited inputs for a workflow that died of a step "
        "(edit that step instead)",
        request=RetrySerializer,
        description=(
            "A workflow that died of a dead step retries that step and waits for it; a dead "
            "step retried here takes its workflow back to waiting for it."
        ),
        invalid="`invalid_json`, `invalid_body`, or `invalid_inputs` (edited inputs that "
        "fail the action's schema; details list each failing `{path, message}`).",
        missing="`not_found`; or `unknown_action` for edited inputs of an action that has no "
        "handler here to check them.",
    )
    def post(self, request: Request, run_id: str) -> Response:
        note, inputs = operation_from(request, carrying="inputs")
        operators.retry(run_or_404(run_id), request.user, note, inputs=inputs)
        return run_detail_response(request, run_id)


class ResolveRun(APIView):
    permission_classes = [CanResolveRuns]
    parser_classes = [StrictJSONParser]

    @operator_schema(
        "Resolve a dead run (a note is required), optionally with its output",
        "only dead runs",
        request=ResolveSerializer,
        description=(
            "Resolving a dead step with a `result` resumes its workflow as if the step had "
            "succeeded with it; without one (or resolving the workflow), the workflow is "
            "resolved, with its dead steps."
        ),
        invalid="`invalid_json`, `invalid_body` (e.g. a blank note), or `invalid_inputs` "
        "(a `result` JSON cannot store: details name the path).",
    )
    def post(self, request: Request, run_id: str) -> Response:
        note, result = operation_from(request, carrying="result")
        operators.resolve(run_or_404(run_id), request.user, note, result=result)
        return run_detail_response(request, run_id)


class CancelRun(APIView):
    permission_classes = [CanCancelRuns]
    parser_classes = [StrictJSONParser]

    @operator_schema(
        "Cancel a queued, retrying or waiting run",
        "only queued, retrying and waiting runs",
        description="Cancelling a workflow cancels its steps that have not started.",
    )
    def post(self, request: Request, run_id: str) -> Response:
        note = note_from(request)
        operators.cancel(run_or_404(run_id), request.user, note)
        return run_detail_response(request, run_id)
