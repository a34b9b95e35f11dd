"""Fixtures for the dashboard's tests: signed-in clients and htmx headers."""

import pytest
from django.test import Client


def signed_in(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


@pytest.fixture
def operator_client(operator) -> Client:
    return signed_in(operator)


@pytest.fixture
def viewer_client(viewer) -> Client:
    return signed_in(viewer)


@pytest.fixture
def outsider_client(outsider) -> Client:
    return signed_in(outsider)


HTMX = {"HTTP_HX_REQUEST": "true"}


def htmx(target: str | None = None, current_url: str | None = None) -> dict[str, str]:
    """Headers htmx sends: HX-Request, and the id of the element it will swap."""
    headers = dict(HTMX)
    if target:
        headers["HTTP_HX_TARGET"] = target
    if current_url:
        headers["HTTP_HX_CURRENT_URL"] = current_url
    return headers
