"""Fixtures for the dashboard's tests: signed-in clients, a clean cache, headless Chromium."""

import os

import pytest
from django.core.cache import cache
from django.test import Client

# Playwright's sync API runs an event loop in the test thread; the live server's
# database access from there is safe, but Django cannot know that.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(autouse=True)
def clear_cache():
    """The dashboard caches aggregates for a few seconds; tests start without them."""
    cache.clear()
    yield
    cache.clear()


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


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium: Playwright cannot download its own browser here."""
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": CHROMIUM_ARGS,
    }
