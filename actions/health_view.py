from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .health import health


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """No authentication and no secrets: counts and a lag, for load balancers and probes."""
    healthy, report = health()
    response = JsonResponse(report, status=200 if healthy else 503)
    if not healthy:
        response["Retry-After"] = "5"
    return response
