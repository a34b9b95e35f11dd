"""/api/schema/ and /api/docs/, and Schemathesis fuzzing every operation of the schema."""

import json
import re
from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.django_db

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
]


def test_the_schema_is_openapi_3_with_every_operation(as_viewer):
    response = as_viewer.get("/api/schema/")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    operations = {
        (method.upper(), path) for path, item in schema["paths"].items() for method in item
    }
    assert operations == {
        ("GET", "/api/actions/"),
        ("GET", "/api/actions/{name}/"),
        ("POST", "/api/actions/{name}/runs/"),
        ("POST", "/api/actions/{name}/pause/"),
        ("POST", "/api/actions/{name}/resume/"),
        ("GET", "/api/runs/"),
        ("GET", "/api/runs/{run_id}/"),
        ("POST", "/api/runs/{run_id}/retry/"),
        ("POST", "/api/runs/{run_id}/resolve/"),
        ("POST", "/api/runs/{run_id}/cancel/"),
    }
    submit = schema["paths"]["/api/actions/{name}/runs/"]["post"]
    assert {"200", "202", "400", "401", "403", "404", "413", "415", "422", "503"} <= set(
        submit["responses"]
    )
    assert "Location" in submit["responses"]["202"]["headers"]
    assert "Idempotent-Replayed" in submit["responses"]["200"]["headers"]
    assert schema["components"]["schemas"]["Error"]["required"] == ["details", "error", "message"]


def test_the_schema_is_also_served_as_yaml(as_viewer):
    response = as_viewer.get("/api/schema/?format=yaml")
    assert response.status_code == 200
    assert response.content.startswith(b"openapi: 3.")


def test_the_docs_page_loads_its_assets_locally(as_viewer):
    response = as_viewer.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets, html
    assert all(url.startswith("/") and not url.startswith("//") for url in assets), assets
    assert not re.search(r"https?://", html)


def generated_schema() -> dict:
    """The schema /api/schema/ serves, built without a request (no database needed)."""
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated))


def test_the_served_schema_is_the_generated_one(as_viewer):
    assert as_viewer.get("/api/schema/").json() == generated_schema()


schema = schemathesis.openapi.from_dict(generated_schema())
schema.app = get_wsgi_application()


@pytest.fixture
def wsgi_requests_keep_the_connection(db) -> Iterator[None]:
    """Django closes connections after each WSGI request; the test client doesn't, nor may we.

    Closing it would end the test's transaction.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_request_makes_a_server_error_and_every_response_matches_the_schema(
    case, operator, wsgi_requests_keep_the_connection
):
    token, _ = Token.objects.get_or_create(user=operator)
    case.call_and_validate(headers={"Authorization": f"Token {token.key}"}, checks=CHECKS)
