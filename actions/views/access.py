"""Who may see the dashboard, and how a refusal or a redirect looks to them."""

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.request import RawPostDataException
from django.shortcuts import resolve_url
from django.template.response import TemplateResponse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget
from django_htmx.middleware import HtmxDetails

from .. import canonical, rules
from ..middleware import incomplete_body


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def dashboard_view(view: Callable) -> Callable:
    """Signed-in staff with ``actions.view_run`` only; htmx requests of an expired
    session are sent to the login page as a whole page, not swapped into a fragment."""

    @wraps(view)
    def wrapper(request: HtmxHttpRequest, *args, **kwargs) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            if request.htmx:
                back = request.htmx.current_url_abs_path or request.get_full_path()
                login = resolve_url(settings.LOGIN_URL)
                return HttpResponseClientRedirect(f"{login}?{urlencode({'next': back})}")
            return redirect_to_login(request.get_full_path())
        if not rules.may_use_dashboard(user):
            return refuse(
                request, 403, "The dashboard needs a staff account with the view_run permission."
            )
        if (problem := input_problem(request)) is not None:
            return refuse(request, 400, f"Nothing done: {problem}.")
        return view(request, *args, **kwargs)

    return vary_on_headers("HX-Request")(wrapper)


def input_problem(request: HttpRequest) -> str | None:
    """What makes a request's query parameters or form fields unusable, or None.

    The API's checks, for every parameter and field whatever the view reads: a body
    shorter than its Content-Length, and text that cannot be stored or searched (NUL).
    """
    if request.method == "POST":
        try:
            received = len(request.body)
        except RawPostDataException:  # a multipart body, already parsed (and so complete)
            received = None
        if received is not None and (problem := incomplete_body(received, request.META)):
            return problem
    for source in (request.GET, request.POST):
        for name, values in source.lists():
            for text in (name, *values):
                if (problem := canonical.text_problem(text)) is not None:
                    shown = name.encode("unicode_escape").decode("ascii")[:40]
                    return f"the parameter {shown} is refused: {problem}"
    return None


def for_htmx(*, if_target: str, partial: str) -> Callable:
    """Answer htmx's request to swap ``if_target`` with ``partial`` of the view's template.

    The view renders its whole page as usual; only the template's name changes (cciw's
    ``for_htmx``), so the page and its partial always share one context.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HtmxHttpRequest, *args, **kwargs) -> HttpResponse:
            response = view(request, *args, **kwargs)
            if request.htmx and request.htmx.target == if_target:
                response.template_name = f"{response.template_name}#{partial}"
            return response

        return wrapper

    return decorator


def refuse(request: HtmxHttpRequest, status: int, message: str) -> HttpResponse:
    """A 4xx the operator sees: in the message area for htmx, as a small page otherwise."""
    messages.error(request, message)
    if request.htmx:
        response = TemplateResponse(request, "actions/base.html#messages", status=status)
        return reswap(retarget(response, "#messages"), "outerHTML")
    return TemplateResponse(request, "actions/message.html", status=status)


def require(request: HtmxHttpRequest, verb: str, doing: str) -> HttpResponse | None:
    if rules.user_may(request.user, verb):
        return None
    return refuse(request, 403, f"You do not have permission to {doing}.")


def redirect_back(request: HttpRequest, default: str) -> HttpResponseRedirect:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = default
    return HttpResponseRedirect(target)
