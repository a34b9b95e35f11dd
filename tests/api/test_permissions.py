"""The permission matrix of DESIGN.md, endpoint by endpoint, persona by persona."""

from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from tests.api.helpers import error_of, token_client
from tests.factories import make_dead_run, make_run, make_user

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # {run} is replaced by a run in the state the endpoint needs
    perm: str
    success: int
    body: dict | None = None
    run_state: str = "dead"

    def call(self, client: APIClient):
        run = make_dead_run() if self.run_state == "dead" else make_run()
        url = self.path.format(run=run.pk)
        if self.method == "get":
            return client.get(url)
        return client.post(url, self.body or {}, format="json")

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"


ENDPOINTS = [
    Endpoint("get", "/api/actions/", "actions.view_run", 200),
    Endpoint("get", "/api/actions/test-noop/", "actions.view_run", 200),
    Endpoint("get", "/api/runs/", "actions.view_run", 200),
    Endpoint("get", "/api/runs/{run}/", "actions.view_run", 200),
    Endpoint("post", "/api/actions/test-noop/runs/", "actions.submit_run", 202, {"inputs": {}}),
    Endpoint("post", "/api/runs/{run}/retry/", "actions.retry_run", 200),
    Endpoint("post", "/api/runs/{run}/resolve/", "actions.resolve_run", 200, {"note": "n"}),
    Endpoint("post", "/api/runs/{run}/cancel/", "actions.cancel_run", 200, run_state="queued"),
    Endpoint("post", "/api/actions/test-noop/pause/", "actions.pause_action", 200),
    Endpoint("post", "/api/actions/test-noop/resume/", "actions.pause_action", 200),
]
PERMS = sorted({endpoint.perm for endpoint in ENDPOINTS})


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_anonymous_calls_are_401_with_www_authenticate(anonymous, endpoint):
    response = endpoint.call(anonymous)
    assert response.status_code == 401
    assert error_of(response) == "not_authenticated"
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_an_unknown_token_is_401(anonymous, endpoint):
    anonymous.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")
    response = endpoint.call(anonymous)
    assert response.status_code == 401
    assert error_of(response) == "not_authenticated"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_signed_in_without_permission_is_403(as_outsider, endpoint):
    response = endpoint.call(as_outsider)
    assert response.status_code == 403
    assert error_of(response) == "permission_denied"


@pytest.mark.parametrize("perm", PERMS)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_each_permission_opens_exactly_its_endpoints(client_with, perm, endpoint):
    response = endpoint.call(client_with(perm))
    if perm == endpoint.perm:
        assert response.status_code == endpoint.success, response.content
    else:
        assert response.status_code == 403
        assert error_of(response) == "permission_denied"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_the_operator_may_do_everything(as_operator, endpoint):
    assert endpoint.call(as_operator).status_code == endpoint.success


def test_an_inactive_users_token_is_refused(db):
    user = make_user("gone", "actions.view_run")
    client = token_client(user)
    user.is_active = False
    user.save()
    response = client.get("/api/runs/")
    assert response.status_code == 401
    assert error_of(response) == "not_authenticated"


def session_client(**kwargs) -> APIClient:
    make_user("sue-session", "actions.view_run", "actions.submit_run")
    client = APIClient(**kwargs)
    assert client.login(username="sue-session", password="pw")
    return client


def test_a_session_may_read(db):
    assert session_client(enforce_csrf_checks=True).get("/api/runs/").status_code == 200


def test_a_session_post_without_a_csrf_token_is_403(db):
    client = session_client(enforce_csrf_checks=True)
    response = client.post("/api/actions/test-noop/runs/", {"inputs": {}}, format="json")
    assert response.status_code == 403
    assert error_of(response) == "permission_denied"
    assert "CSRF" in response.json()["message"]


def test_a_session_post_with_its_csrf_token_is_accepted(db):
    client = session_client(enforce_csrf_checks=True)
    secret = "a" * 32
    client.cookies["csrftoken"] = secret
    response = client.post(
        "/api/actions/test-noop/runs/",
        {"inputs": {}},
        format="json",
        headers={"X-CSRFToken": secret},
    )
    assert response.status_code == 202


@pytest.mark.parametrize("url", ["/api/schema/", "/api/docs/"])
def test_the_schema_and_docs_need_authentication(anonymous, url):
    response = anonymous.get(url)
    assert response.status_code == 401
    assert error_of(response) == "not_authenticated"


def test_a_browser_session_gets_json_not_the_browsable_api(db):
    client = session_client()
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = client.get("/api/runs/", headers={"Accept": browser})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "results" in response.json()


@pytest.mark.parametrize(
    ("url", "status", "code"),
    [
        ("/api/runs/", 406, "not_acceptable"),
        ("/api/runs/not-a-run/", 406, "not_acceptable"),
        ("/api/actions/no-such/", 406, "not_acceptable"),
        ("/api/runs/?format=api", 404, "not_found"),
        ("/api/nothing/", 404, "not_found"),
    ],
)
def test_under_api_html_is_never_served_errors_included(db, url, status, code):
    response = session_client().get(url, headers={"Accept": "text/html"})
    assert response.status_code == status
    assert error_of(response) == code
