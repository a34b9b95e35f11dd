"""Benchmark settings: the project's plus the bench app (a no-op action and a no-op task)."""

import os

os.environ.setdefault("DOPLATFORM_DEV", "1")  # before the project's settings read it

from doplatform.settings import *  # noqa: E402, F403
from doplatform.settings import INSTALLED_APPS  # noqa: E402

INSTALLED_APPS = [*INSTALLED_APPS, "bench"]
