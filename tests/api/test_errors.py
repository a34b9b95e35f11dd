"""Every error under /api/ is JSON; nothing a client sends is a 500; a lost database is 503."""

import http.client
import json
from unittest import mock
from urllib.parse import urlsplit

import pytest
from django.db import InterfaceError, OperationalError
from django.db.models import QuerySet
from django.http import HttpResponse
from django.test import RequestFactory

from actions.api.errors import server_error
from actions.middleware import ApiGuardMiddleware
from tests.api.helpers import error_of, post_raw

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path",
    ["/api/nothing/", "/api/runs", "/api/actions/test-noop/runs/extra/", "/api/", "/api/%00/"],
)
def test_an_unknown_url_under_api_is_a_json_404(as_viewer, anonymous, path):
    for client in (as_viewer, anonymous):
        response = client.get(path)
        assert response.status_code == 404
        assert error_of(response) == "not_found"


def test_a_url_without_its_slash_is_told_so(as_viewer):
    assert "end with a slash" in as_viewer.post("/api/runs").json()["message"]


def test_a_host_the_server_does_not_serve_is_a_json_400_under_api(client):
    response = client.get("/api/runs/", headers={"Host": "evil.example"})
    assert response.status_code == 400
    assert error_of(response) == "bad_request"
    elsewhere = client.get("/runs/", headers={"Host": "evil.example"})
    assert elsewhere.status_code == 400
    assert elsewhere["Content-Type"].startswith("text/html")


def test_an_unknown_url_elsewhere_keeps_djangos_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/actions/test-noop/runs/"),
        ("delete", "/api/runs/"),
        ("put", "/api/actions/test-noop/"),
        ("get", "/api/actions/test-noop/pause/"),
    ],
)
def test_a_wrong_method_is_a_json_405_with_allow(as_operator, method, path):
    response = getattr(as_operator, method)(path)
    assert response.status_code == 405
    assert error_of(response) == "method_not_allowed"
    assert response["Allow"]


def test_an_unservable_accept_is_a_json_406(as_viewer):
    response = as_viewer.get("/api/runs/", headers={"Accept": "application/xml"})
    assert response.status_code == 406
    assert error_of(response) == "not_acceptable"


def test_a_client_string_that_is_not_unicode_never_breaks_the_error_body(as_operator):
    response = post_raw(as_operator, "/api/actions/test-noop/runs/", '{"\\udfff": {}}')
    assert response.status_code == 400
    assert response.json()["details"] == {"unknown": ["\\udfff"]}


def test_a_bug_is_a_json_500_under_api(as_viewer):
    as_viewer.raise_request_exception = False
    with mock.patch("actions.api.actions.all_specs", side_effect=RuntimeError("bug")):
        response = as_viewer.get("/api/actions/")
    assert response.status_code == 500
    assert error_of(response) == "server_error"
    assert "bug" not in response.json()["message"]  # no internals leak


@pytest.mark.parametrize("error", [OperationalError("down"), InterfaceError("closed")])
def test_the_database_down_in_a_view_is_503_with_retry_after(as_viewer, error):
    with mock.patch("actions.api.actions.action_counts", side_effect=error):
        response = as_viewer.get("/api/actions/")
    assert response.status_code == 503
    assert error_of(response) == "service_unavailable"
    assert response["Retry-After"] == "5"


def test_the_database_down_during_authentication_is_503(as_viewer):
    with mock.patch.object(QuerySet, "get", side_effect=OperationalError("down")):
        response = as_viewer.get("/api/runs/")
    assert response.status_code == 503
    assert error_of(response) == "service_unavailable"
    assert response["Retry-After"]


def test_the_database_down_while_submitting_is_503(as_operator):
    with mock.patch("actions.api.runs.submit", side_effect=OperationalError("down")):
        response = as_operator.post("/api/actions/test-noop/runs/", {"inputs": {}}, format="json")
    assert response.status_code == 503
    assert error_of(response) == "service_unavailable"


@pytest.mark.parametrize("path", ["/api/runs/", "/runs/"])
def test_a_plain_django_view_that_loses_the_database_is_503(path):
    """Outside DRF (the dashboard, Django's handlers) the middleware answers."""
    middleware = ApiGuardMiddleware(lambda request: HttpResponse())
    response = middleware.process_exception(RequestFactory().get(path), OperationalError("down"))
    assert response.status_code == 503
    assert response["Retry-After"]
    if path.startswith("/api/"):
        assert error_of(response) == "service_unavailable"
    else:
        assert response["Content-Type"].startswith("text/plain")


def test_handler500_turns_a_lost_database_into_503():
    request = RequestFactory().get("/some/page/")
    try:
        raise OperationalError("down")
    except OperationalError:
        response = server_error(request)
    assert response.status_code == 503
    assert response["Retry-After"]


def test_other_exceptions_are_left_to_django():
    middleware = ApiGuardMiddleware(lambda request: HttpResponse())
    assert middleware.process_exception(RequestFactory().get("/api/"), ValueError()) is None


def test_an_oversized_body_is_refused_over_real_http(live_server, settings):
    """Through a real WSGI server, which forbids hop-by-hop headers from the application."""
    size = settings.DOPLATFORM_MAX_INPUT_BYTES + 64 * 1024 + 1
    url = urlsplit(live_server.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.request(
        "POST",
        "/api/actions/test-noop/runs/",
        body=b" " * size,
        headers={"Content-Type": "application/json"},
    )
    response = conn.getresponse()
    body = json.loads(response.read())
    conn.close()
    assert response.status == 413
    assert body["error"] == "payload_too_large"
