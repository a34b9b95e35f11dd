"""API clients authenticated with DRF tokens, one per persona of tests/conftest.py."""

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from tests.api.helpers import token_client
from tests.factories import make_user


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


@pytest.fixture
def as_operator(operator) -> APIClient:
    return token_client(operator)


@pytest.fixture
def as_viewer(viewer) -> APIClient:
    return token_client(viewer)


@pytest.fixture
def as_outsider(outsider) -> APIClient:
    return token_client(outsider)


@pytest.fixture
def as_submitter(db) -> APIClient:
    """A service account that may only submit runs (no reads)."""
    return token_client(make_user("sam-service", "actions.submit_run", staff=False))


@pytest.fixture
def client_with(db) -> Callable[..., APIClient]:
    """A token client for a fresh user holding exactly ``perms``."""

    def make(*perms: str) -> APIClient:
        return token_client(make_user(f"user-{len(perms)}-{'-'.join(perms)}"[:150], *perms))

    return make
