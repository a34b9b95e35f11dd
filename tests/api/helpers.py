"""Small helpers shared by the API tests."""

import json

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def error_of(response) -> str:
    """The ``error`` code of a JSON error body, after checking the body's shape."""
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = json.loads(response.content)
    assert set(body) == {"error", "message", "details"}, body
    assert isinstance(body["message"], str) and body["message"]
    return body["error"]


def post_raw(client: APIClient, url: str, raw: bytes | str, **extra):
    """POST ``raw`` as an application/json body, byte for byte."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    return client.generic("POST", url, data, content_type="application/json", **extra)
