"""The errors of doplatform's public API.

Each carries a stable ``code`` that the REST API returns as ``error`` and a
``details`` payload that says precisely what was wrong.
"""

from typing import Any


class DoplatformError(Exception):
    code = "error"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class UnknownAction(DoplatformError):
    code = "unknown_action"


class InvalidInputs(DoplatformError):
    """Inputs that are not a storable JSON object or fail the action's schema.

    ``code`` is ``invalid_inputs`` or ``payload_too_large``; ``details`` lists
    ``{"path": …, "message": …}`` for each failing place.
    """

    code = "invalid_inputs"


class InvalidJSON(DoplatformError):
    """JSON text that is not UTF-8, not JSON, or holds a key twice in one object."""

    code = "invalid_json"


class InvalidIdempotencyKey(DoplatformError):
    code = "invalid_idempotency_key"


class IdempotencyConflict(DoplatformError):
    """The key is bound to a run whose inputs differ; ``run_id`` names that run."""

    code = "idempotency_key_reused"

    def __init__(self, message: str, *, run_id):
        super().__init__(message, details={"run_id": str(run_id)})
        self.run_id = run_id


class IllegalTransition(DoplatformError):
    code = "illegal_transition"


class ActionError(Exception):
    """Raised by a handler to fail its attempt with a structured error.

    ``retryable`` failures wait (``retry_after`` seconds when given, else the
    action's backoff) and try again while the attempt budget lasts.
    """

    def __init__(
        self,
        code: str,
        message: str = "",
        *,
        retryable: bool = False,
        retry_after: float | None = None,
    ):
        super().__init__(message or code)
        self.code = code
        self.message = message or code
        self.retryable = retryable
        self.retry_after = retry_after
