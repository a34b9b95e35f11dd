"""Guards in front of the REST API: body size before parsing, and a lost database.

DRF reads the request stream itself, so Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE``
never protects it: the size is decided here from ``Content-Length``, before any
byte of the body is read.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .api.errors import API_PREFIX, DATABASE_DOWN, database_down, error_response
from .conf import app_settings

# Room for the envelope (``{"inputs": …}``) and for a body that is not yet canonical.
BODY_SLACK_BYTES = 64 * 1024


def max_body_bytes() -> int:
    return app_settings.MAX_INPUT_BYTES + BODY_SLACK_BYTES


def incomplete_body(received: int, meta: dict) -> str | None:
    """Why a body of ``received`` bytes is not the one announced, or None if it is.

    A client that half-closes its connection early leaves a body shorter than its
    ``Content-Length``; WSGI servers hand over what arrived, which may still parse.
    """
    try:
        announced = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if received >= announced:
        return None
    return (
        f"the request body ended after {received} of the {announced} bytes its "
        "Content-Length announced; nothing was done"
    )


class ApiGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(API_PREFIX):
            refused = self.refuse_large_body(request)
            if refused is not None:
                return refused
        return self.get_response(request)

    def refuse_large_body(self, request: HttpRequest) -> HttpResponse | None:
        # A missing or malformed Content-Length makes Django read no body at all.
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None
        limit = max_body_bytes()
        if length <= limit:
            return None
        # The body is left unread; the WSGI server decides what to do with the connection
        # (an application may not set hop-by-hop headers such as Connection).
        return error_response(
            "payload_too_large",
            f"the request body is {length} bytes; the limit is {limit}",
            {"size": length, "limit": limit},
        )

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A view that lost the database answers 503 with Retry-After, never a 500."""
        if isinstance(exception, DATABASE_DOWN):
            return database_down(request)
        return None
