"""Bulk operator jobs ("retry all matching"), run in chunks by ``runworker``."""


def run_pending_jobs() -> int:
    """Advance unfinished bulk jobs by one chunk each; returns how many runs were touched."""
    return 0
