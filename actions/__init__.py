"""doplatform's Python API: ``from actions import action, submit, ActionError, …``.

Names are imported lazily so that importing ``actions`` (for ``@action`` in an
app's ``actions.py``) never touches models before Django's app registry is ready.
"""

from importlib import import_module

_EXPORTS = {
    "action": "registry",
    "workflow": "registry",
    "submit": "submission",
    "retry": "operators",
    "resolve": "operators",
    "cancel": "operators",
    "pause": "operators",
    "resume": "operators",
    "ActionError": "errors",
    "IdempotencyConflict": "errors",
    "InvalidInputs": "errors",
    "InvalidIdempotencyKey": "errors",
    "UnknownAction": "errors",
    "IllegalTransition": "errors",
    "run_finished": "signals",
    "run_dead_lettered": "signals",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'actions' has no attribute {name!r}")
    return getattr(import_module(f"actions.{module}"), name)
