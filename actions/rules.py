"""The rules people meet: what a user may do and see, why a run waits, and what a
workflow died of.

One function per rule, asked alike by the dashboard's views and templates, the REST
API's permissions and serializers, and the admin (as in airlock's permissions module).
The operators enforce the state rules themselves; ``operators.allows`` reads them.
"""

from .models import Run, RunStatus

# The permission behind each verb of the dashboard, the API and the admin.
PERMISSIONS = {
    "view": "actions.view_run",
    "submit": "actions.submit_run",
    "retry": "actions.retry_run",
    "resolve": "actions.resolve_run",
    "cancel": "actions.cancel_run",
    "pause": "actions.pause_action",
    "resume": "actions.pause_action",
}

PAUSED = "the action is paused; the run waits until it is resumed"


def user_may(user, verb: str) -> bool:
    """Whether ``user`` holds the permission to ``verb`` (see ``PERMISSIONS``)."""
    return bool(user and user.is_authenticated and user.has_perm(PERMISSIONS[verb]))


def may_use_dashboard(user) -> bool:
    """The dashboard is for staff who may view runs; staff status alone is not enough."""
    return bool(user.is_authenticated and user.is_staff and user_may(user, "view"))


def may_see_tracebacks(user) -> bool:
    """Tracebacks can hold secrets: only for those who may retry runs (the operators)."""
    return user_may(user, "retry")


def waiting_reason(run: Run) -> str | None:
    """Why a run that could start has not: its action is paused, or what a worker said
    (e.g. it has no handler for the action); for a waiting workflow, the step or timer it
    waits for. None for any other run."""
    if run.status == RunStatus.WAITING:
        return run.waiting_reason or "waiting for its steps"
    if run.status not in (RunStatus.QUEUED, RunStatus.RETRYING):
        return None
    if run.action.paused:
        return PAUSED
    return run.waiting_reason or None


# A workflow's errors that name the step it ended with: ``details`` has ``step`` and ``run_id``.
STEP_ERRORS = ("step_dead", "step_cancelled", "step_resolved")


def failed_step(run: Run) -> dict | None:
    """``{"step": key, "run_id": id}`` of the step whose end made a workflow's run dead
    (dead, cancelled, or resolved without an output), from its error; None otherwise."""
    error = run.error or {}
    details = error.get("details")
    if error.get("code") not in STEP_ERRORS or not isinstance(details, dict):
        return None
    if not details.get("run_id"):
        return None
    return {"step": str(details.get("step", "")), "run_id": str(details["run_id"])}


def died_of_step(run: Run) -> bool:
    """A dead workflow whose retry goes to its dead step (``operators.retry``), and whose
    inputs are edited through that step."""
    error = run.error or {}
    return (
        run.status == RunStatus.DEAD
        and error.get("code") == "step_dead"
        and failed_step(run) is not None
    )
