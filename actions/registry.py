"""Actions declared in code with ``@action`` or ``@workflow``, found in each app's ``actions.py``."""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.module_loading import autodiscover_modules
from jsonschema import Draft202012Validator

from .errors import UnknownAction
from .policy import DEFAULT_POLICY, POLICY_FIELDS, RetryPolicy

# One execution of a workflow runs its sequential steps inline while they fit in this.
WORKFLOW_TIMEOUT = 300

NAME_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

Handler = Callable[[dict, Any], dict | None]


@dataclass(frozen=True)
class ActionSpec:
    name: str
    handler: Handler
    description: str = ""
    inputs_schema: dict | None = None
    policy: RetryPolicy = DEFAULT_POLICY
    kind: str = "action"  # or "workflow": ``handler(wf, inputs)`` replayed by actions.workflows

    @property
    def validator(self) -> Draft202012Validator | None:
        return _validators.get(self.name)


_registry: dict[str, ActionSpec] = {}
_validators: dict[str, Draft202012Validator] = {}


def action(
    name: str,
    *,
    description: str = "",
    inputs_schema: dict | None = None,
    max_attempts: int = DEFAULT_POLICY.max_attempts,
    backoff_base: int = DEFAULT_POLICY.backoff_base,
    backoff_max: int = DEFAULT_POLICY.backoff_max,
    timeout: int = DEFAULT_POLICY.timeout,
) -> Callable[[Handler], Handler]:
    """Register ``def handler(inputs: dict, ctx) -> dict`` as the action ``name``."""
    return _declare(
        name,
        kind="action",
        description=description,
        inputs_schema=inputs_schema,
        max_attempts=max_attempts,
        backoff_base=backoff_base,
        backoff_max=backoff_max,
        timeout=timeout,
    )


def workflow(
    name: str,
    *,
    description: str = "",
    inputs_schema: dict | None = None,
    max_attempts: int = DEFAULT_POLICY.max_attempts,
    backoff_base: int = DEFAULT_POLICY.backoff_base,
    backoff_max: int = DEFAULT_POLICY.backoff_max,
    timeout: int = WORKFLOW_TIMEOUT,
) -> Callable[[Handler], Handler]:
    """Register ``def workflow(wf, inputs: dict) -> dict`` as the workflow ``name``.

    The policy applies to the workflow function itself (an exception in it, not in a
    step); ``timeout`` bounds one execution, the steps it runs inline included. Each
    step runs under its own action's policy (``actions.workflows``).
    """
    return _declare(
        name,
        kind="workflow",
        description=description,
        inputs_schema=inputs_schema,
        max_attempts=max_attempts,
        backoff_base=backoff_base,
        backoff_max=backoff_max,
        timeout=timeout,
    )


def _declare(
    name: str, *, kind: str, description: str, inputs_schema: dict | None, **policy_fields: int
) -> Callable[[Handler], Handler]:
    if not NAME_RE.match(name) or len(name) > 100:
        raise ValueError(f"action name {name!r} must be a lowercase slug (a-z, 0-9, '-')")
    policy = RetryPolicy(**policy_fields)
    validator = None
    if inputs_schema is not None:
        Draft202012Validator.check_schema(inputs_schema)
        validator = Draft202012Validator(inputs_schema)

    def register(handler: Handler) -> Handler:
        existing = _registry.get(name)
        if existing is not None and _qualname(existing.handler) != _qualname(handler):
            raise ValueError(
                f"action {name!r} is registered twice: {_qualname(existing.handler)} "
                f"and {_qualname(handler)}"
            )
        _registry[name] = ActionSpec(
            name=name,
            handler=handler,
            description=description or (handler.__doc__ or "").strip(),
            inputs_schema=inputs_schema,
            policy=policy,
            kind=kind,
        )
        if validator is not None:
            _validators[name] = validator
        else:
            _validators.pop(name, None)
        return handler

    return register


def get_spec(name: str) -> ActionSpec:
    try:
        return _registry[name]
    except KeyError:
        raise UnknownAction(
            f"no action named {name!r} is registered", details={"action": name}
        ) from None


def find_spec(name: str) -> ActionSpec | None:
    return _registry.get(name)


def effective_policy(name: str, overrides: Any = None) -> RetryPolicy:
    """The policy in force for the action ``name``: the code's, with an operator's overrides.

    ``overrides`` is the action's row (an ``Action``), or a mapping of policy fields (a form
    being checked); fields left None keep the code's value. An action this process has no
    handler for has no policy in code: the defaults stand in for it, so a dispatcher that
    lacks the handler still expires leases and retries by the operator's overrides.
    May raise ``ValueError`` for overrides that make no sense together.
    """
    spec = _registry.get(name)
    policy = spec.policy if spec is not None else DEFAULT_POLICY
    if overrides is None:
        return policy
    if not isinstance(overrides, Mapping):
        overrides = {field: getattr(overrides, field) for field in POLICY_FIELDS}
    return policy.with_overrides(**{field: overrides.get(field) for field in POLICY_FIELDS})


def all_specs() -> list[ActionSpec]:
    return sorted(_registry.values(), key=lambda spec: spec.name)


def unregister(name: str) -> None:
    """Forget an action (tests use it to simulate a worker that lacks a handler)."""
    _registry.pop(name, None)
    _validators.pop(name, None)


def autodiscover() -> None:
    autodiscover_modules("actions")


def _qualname(handler: Handler) -> str:
    return f"{handler.__module__}.{handler.__qualname__}"
