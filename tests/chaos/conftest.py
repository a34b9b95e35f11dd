import os

import pytest


@pytest.fixture
def chaos_size() -> int:
    """Runs per scenario: small in `make test`, 5,000 in `make chaos`."""
    return int(os.environ.get("CHAOS_RUNS", "300"))


@pytest.fixture
def chaos_seconds() -> float:
    """How long workers are killed and restarted before the final drain."""
    return float(os.environ.get("CHAOS_SECONDS", "20"))
