from django.db import models


class Execution(models.Model):
    """One call of a test handler, committed on its own so crashes and rollbacks can't hide it."""

    run_id = models.UUIDField(db_index=True)
    attempt = models.PositiveIntegerField()
    pid = models.PositiveIntegerField()
    at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.run_id}#{self.attempt}"
