"""Benchmark settings: the project's plus the bench app (a no-op action and a no-op task)."""

from doplatform.settings import *  # noqa: F403
from doplatform.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench"]
