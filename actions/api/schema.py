"""The OpenAPI schema's shared pieces, and the views that serve the schema and its docs."""

from typing import Any

from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiYamlRenderer
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.renderers import JSONRenderer
from rest_framework.serializers import Serializer

from ..filters import RANGES, RunFilterSet
from ..models import ActionKind, RunStatus
from ..paging import MAX_PAGE_SIZE, PAGE_SIZE
from ..registry import all_specs
from .serializers import ErrorSerializer, NoteSerializer, RunDetailSerializer

ERROR_TEXTS = {
    400: "The request is malformed (see `error`).",
    401: "No or invalid credentials: `not_authenticated` (with `WWW-Authenticate`).",
    403: "`permission_denied`: signed in without the needed permission (or no CSRF token).",
    404: "`not_found`.",
    406: "`not_acceptable`: only JSON is served.",
    409: "`illegal_transition`.",
    413: "`payload_too_large`: `Content-Length` over the limit, refused before parsing.",
    415: "`unsupported_media_type`: send `application/json`, in UTF-8.",
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
    """``RunFilterSet``'s query parameters, with their help texts, then the paging."""
    types = {
        "created_after": OpenApiTypes.DATETIME,
        "created_before": OpenApiTypes.DATETIME,
        "parent": OpenApiTypes.UUID,
    }
    enums = {"status": RunStatus.values, "since": list(RANGES), "kind": ActionKind.values}
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


def operator_schema(
    summary: str,
    codes: str,
    *,
    request: type[Serializer] = NoteSerializer,
    description: str | None = None,
    invalid: str = "`invalid_json` or `invalid_body`.",
    missing: str = "`not_found`.",
) -> Any:
    """The schema of a run's retry, resolve or cancel."""
    return extend_schema(
        summary=summary,
        description=description,
        parameters=[RUN_ID],
        request=request,
        responses={
            200: RunDetailSerializer,
            **errors(
                400,
                404,
                409,
                413,
                415,
                _400=invalid,
                _404=missing,
                _409=f"`illegal_transition`: {codes}.",
            ),
        },
    )


class JSONErrorsMixin:
    """Render errors as JSON even where the page itself is YAML or HTML."""

    def handle_exception(self, exc):
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)


class SchemaView(JSONErrorsMixin, SpectacularAPIView):
    renderer_classes = [OpenApiJsonRenderer, OpenApiYamlRenderer]


class DocsView(JSONErrorsMixin, SpectacularSwaggerSplitView):
    """Swagger UI with its start-up script at ``?script=`` and no inline style: the page
    works under a Content-Security-Policy that allows only the site's own files."""

    template_name = "actions/api_docs.html"
