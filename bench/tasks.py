def noop() -> None:
    """The bare django-q2 baseline task."""
