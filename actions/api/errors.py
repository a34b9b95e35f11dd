"""Every error under /api/ is ``{"error": code, "message": text, "details": …}``.

The one place that turns error codes into HTTP statuses. ``exception_handler`` is DRF's
hook (settings ``REST_FRAMEWORK["EXCEPTION_HANDLER"]``); ``bad_request``,
``page_not_found`` and ``server_error`` are Django's ``handler400``/``handler404``/
``handler500``, JSON under /api/ and Django's own pages elsewhere.
"""

import sys
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from ..errors import DoplatformError, InvalidJSON  # noqa: F401 - the API's codes in one place


class InvalidBody(DoplatformError):
    code = "invalid_body"


class InvalidQuery(DoplatformError):
    code = "invalid_query"


class NotFound(DoplatformError):
    code = "not_found"


API_PREFIX = "/api/"
RETRY_AFTER_SECONDS = 5

# The database is unreachable (or locked): the client should come back, not give up.
DATABASE_DOWN = (OperationalError, InterfaceError)

# Core codes that the API reports under one of its own (the body's shape was wrong).
API_CODES = {"note_required": "invalid_body"}

STATUS_BY_CODE = {
    "invalid_json": 400,
    "invalid_body": 400,
    "invalid_query": 400,
    "invalid_inputs": 400,
    "invalid_idempotency_key": 400,
    "bad_request": 400,
    "not_authenticated": 401,
    "permission_denied": 403,
    "unknown_action": 404,
    "not_found": 404,
    "method_not_allowed": 405,
    "not_acceptable": 406,
    "illegal_transition": 409,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "idempotency_key_reused": 422,
    "throttled": 429,
    "server_error": 500,
    "service_unavailable": 503,
}

DRF_CODES: list[tuple[type[exceptions.APIException], str]] = [
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.AuthenticationFailed, "not_authenticated"),
    (exceptions.PermissionDenied, "permission_denied"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.ParseError, "invalid_json"),
    (exceptions.ValidationError, "invalid_body"),
    (exceptions.Throttled, "throttled"),
]


def error_body(code: str, message: str, details: Any = None) -> dict:
    return {"error": code, "message": clean(message), "details": clean(details)}


def error_response(
    code: str, message: str, details: Any = None, *, headers: dict[str, str] | None = None
) -> JsonResponse:
    """A plain Django response, for middleware and Django's handlers (no DRF renderer)."""
    return JsonResponse(
        error_body(code, message, details), status=STATUS_BY_CODE.get(code, 400), headers=headers
    )


def database_down(request: HttpRequest) -> HttpResponse:
    """503 with ``Retry-After``: JSON under /api/, plain text for the dashboard."""
    if request.path.startswith(API_PREFIX):
        return error_response(
            "service_unavailable",
            "the database is unavailable; retry later",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    response = HttpResponse(
        "Service unavailable: the database cannot be reached; retry later.\n",
        status=503,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """Turn DoplatformError, DRF's exceptions and a lost database into the JSON error body."""
    if isinstance(exc, DoplatformError):
        set_rollback()
        code = API_CODES.get(exc.code, exc.code)
        return Response(
            error_body(code, exc.message, exc.details), status=STATUS_BY_CODE.get(code, 400)
        )
    if isinstance(exc, DATABASE_DOWN):
        set_rollback()
        return Response(
            error_body("service_unavailable", "the database is unavailable; retry later"),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: Django's handler500 answers (JSON under /api/)

    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    code = next((code for kind, code in DRF_CODES if isinstance(exc, kind)), "error")
    message, details = _describe(exc)
    set_rollback()
    return Response(error_body(code, message, details), status=exc.status_code, headers=headers)


def api_not_found(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """Any unknown URL under /api/: JSON, never a redirect or an HTML page."""
    hint = "" if request.path.endswith("/") else " (API URLs end with a slash)"
    return error_response("not_found", f"nothing at {request.path}{hint}")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """What Django refuses before any view (a Host it does not serve, too many fields)."""
    if not request.path.startswith(API_PREFIX):
        return defaults.bad_request(request, exception)
    return error_response("bad_request", "the request is malformed (e.g. an unknown Host)")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not request.path.startswith(API_PREFIX):
        return defaults.page_not_found(request, exception)
    return error_response("not_found", f"nothing at {request.path}")


def server_error(request: HttpRequest) -> HttpResponse:
    if isinstance(sys.exc_info()[1], DATABASE_DOWN):
        return database_down(request)
    if not request.path.startswith(API_PREFIX):
        return defaults.server_error(request)
    return error_response("server_error", "an unexpected error happened on the server")


def _describe(exc: exceptions.APIException) -> tuple[str, Any]:
    if isinstance(exc, exceptions.ValidationError):
        return "the request body is not valid", exc.detail
    return str(exc.detail), None


def clean(value: Any) -> Any:
    """Make every string encodable as UTF-8: a client's lone surrogate must not crash a 4xx."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {clean(str(key)): clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [clean(item) for item in value]
    return value
