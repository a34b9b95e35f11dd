"""GET /api/actions/ and /api/actions/<name>/; POST /api/actions/<name>/pause|resume/."""

from dataclasses import asdict

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import operators
from ..models import Action, RunStatus
from ..policy import overridden_fields
from ..queries import action_counts
from ..registry import ActionSpec, all_specs, effective_policy, get_spec
from .parsing import StrictJSONParser, note_from
from .permissions import CanPauseActions, CanViewRuns
from .schema import ACTION_NAME, errors
from .serializers import ActionSerializer, NoteSerializer


def describe_action(spec: ActionSpec, row: Action | None, counts: dict) -> dict:
    return {
        "name": spec.name,
        "kind": spec.kind,
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
