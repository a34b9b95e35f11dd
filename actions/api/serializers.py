"""The shapes of the REST API's bodies: what a run, an action and an error look like.

Serializers here only shape data (and document it in the OpenAPI schema); the
views decide what happens and the engine's functions do it.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .. import rules
from ..models import ActionKind, AttemptOutcome, EventKind, Run, RunStatus
from ..policy import POLICY_FIELDS

# What a workflow's detail reads of each step.
STEP_FIELDS = (
    "id",
    "step_position",
    "step_key",
    "step_group",
    "action_id",
    "status",
    "attempts",
    "started_at",
    "finished_at",
)


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="A stable code, e.g. `invalid_inputs`.")
    message = serializers.CharField(help_text="What went wrong, for people.")
    details = serializers.JSONField(
        allow_null=True,
        help_text="Precisely what was wrong: for `invalid_inputs` a list of "
        "`{path, message}`; for `idempotency_key_reused` `{run_id}`; otherwise often null.",
    )


# --- requests ------------------------------------------------------------------------


class SubmitSerializer(serializers.Serializer):
    inputs = serializers.DictField(
        help_text="The action's inputs: a JSON object matching its `inputs_schema`."
    )


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Why: kept in the run's events. Required (non-blank) for `resolve`.",
    )


class RetrySerializer(NoteSerializer):
    inputs = serializers.DictField(
        required=False,
        help_text="Edited inputs to retry with, validated against the action's schema in code "
        "now; the event keeps the inputs before and after. A workflow that died of a step "
        "is edited through that step (409 otherwise).",
    )


class ResolveSerializer(NoteSerializer):
    result = serializers.DictField(
        required=False,
        help_text="The output the run should have had (checked like a handler's result). A "
        "dead step resolved with one resumes its workflow as if it had succeeded with it; "
        "without one, its workflow is resolved too.",
    )


# --- runs ----------------------------------------------------------------------------


class RunErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    retryable = serializers.BooleanField()
    details = serializers.JSONField(
        allow_null=True,
        help_text="What the code names, or null: for a workflow's `step_dead`, "
        "`step_cancelled` and `step_resolved`, `{step, run_id}` (the step's key and run).",
    )


class StepSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="Its position, or the key given for steps in loops.")
    position = serializers.IntegerField(help_text="Its place in the workflow's replay (1, 2, …).")
    group = serializers.IntegerField(
        help_text="The position of the first step of the parallel batch it was started with "
        "(its own position for a sequential step)."
    )


class ResolutionSerializer(serializers.Serializer):
    by = serializers.CharField(allow_null=True, help_text="Username of the operator.")
    at = serializers.DateTimeField()
    note = serializers.CharField()


class RunSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    action = serializers.CharField(source="action_id")
    kind = serializers.ChoiceField(
        source="action.kind",
        choices=ActionKind.choices,
        help_text="Of its action: `workflow` for a workflow's run, `action` otherwise.",
    )
    parent = serializers.UUIDField(
        source="parent_id",
        allow_null=True,
        help_text="For a workflow's step: the workflow's run; null otherwise.",
    )
    step = serializers.SerializerMethodField(
        help_text="For a workflow's step: where it stands in its workflow; null otherwise."
    )
    status = serializers.ChoiceField(choices=RunStatus.choices)
    action_paused = serializers.SerializerMethodField(
        help_text="The action is paused: a queued or retrying run waits until it is resumed."
    )
    inputs = serializers.DictField()
    result = serializers.SerializerMethodField(help_text="The handler's result once succeeded.")
    error = serializers.SerializerMethodField(help_text="The last failure, if any.")
    attempt_count = serializers.IntegerField(
        source="attempts", help_text="Attempts started over the run's whole life (never reset)."
    )
    idempotency_key = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(
        allow_null=True, help_text="Start of the latest attempt."
    )
    finished_at = serializers.DateTimeField(allow_null=True)
    next_attempt_at = serializers.DateTimeField(
        allow_null=True, help_text="When a retrying run is due again."
    )
    waiting_reason = serializers.SerializerMethodField(
        help_text="Why a run that could start has not, e.g. its action is paused."
    )
    resolution = serializers.SerializerMethodField(
        help_text="Who resolved a dead run by hand, when and how."
    )

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_action_paused(self, run: Run) -> bool:
        return run.action.paused

    @extend_schema_field(StepSerializer(allow_null=True))
    def get_step(self, run: Run) -> dict | None:
        if run.parent_id is None:
            return None
        return {"key": run.step_key, "position": run.step_position, "group": run.step_group}

    @extend_schema_field({"type": "object", "nullable": True, "additionalProperties": True})
    def get_result(self, run: Run):
        return run.result

    @extend_schema_field(RunErrorSerializer(allow_null=True))
    def get_error(self, run: Run) -> dict | None:
        if not run.error:
            return None
        return {
            "code": str(run.error.get("code", "")),
            "message": str(run.error.get("message", "")),
            "retryable": bool(run.error.get("retryable", False)),
            "details": run.error.get("details"),
        }

    @extend_schema_field({"type": "string", "nullable": True})
    def get_waiting_reason(self, run: Run) -> str | None:
        return rules.waiting_reason(run)

    @extend_schema_field(ResolutionSerializer(allow_null=True))
    def get_resolution(self, run: Run) -> dict | None:
        if run.resolved_at is None:
            return None
        user = run.resolved_by if run.resolved_by_id is not None else None
        return {
            "by": user.get_username() if user is not None else None,
            "at": serializers.DateTimeField().to_representation(run.resolved_at),
            "note": run.resolution_note,
        }


class AttemptSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    outcome = serializers.ChoiceField(choices=AttemptOutcome.choices)
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField()
    duration = serializers.FloatField(help_text="Seconds.")
    error_code = serializers.SerializerMethodField()
    error_message = serializers.SerializerMethodField()
    retryable = serializers.BooleanField(allow_null=True)
    worker = serializers.CharField(help_text="host:pid of the worker that ran it.")
    traceback = serializers.SerializerMethodField(
        help_text="Shown to users who may retry runs (`actions.retry_run`); null otherwise."
    )

    @extend_schema_field({"type": "string", "nullable": True})
    def get_error_code(self, attempt) -> str | None:
        return attempt.error_code or None

    @extend_schema_field({"type": "string", "nullable": True})
    def get_error_message(self, attempt) -> str | None:
        return attempt.error_message or None

    @extend_schema_field({"type": "string", "nullable": True})
    def get_traceback(self, attempt) -> str | None:
        request = self.context.get("request")
        if request is None or not rules.may_see_tracebacks(request.user):
            return None
        return attempt.traceback or None


class EventSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=EventKind.choices)
    user = serializers.SerializerMethodField(help_text="Username; null once the user is deleted.")
    note = serializers.CharField(allow_blank=True)
    details = serializers.JSONField(
        allow_null=True,
        help_text="What the change carried, or null: `{inputs: {before, after}}` for a retry "
        "with edited inputs; `{result}` for a resolve with an output; `{step, run_id}` for "
        "a workflow's retry that went to its dead step.",
    )
    created_at = serializers.DateTimeField()

    @extend_schema_field({"type": "string", "nullable": True})
    def get_user(self, event) -> str | None:
        return event.user.get_username() if event.user_id is not None else None


class WorkflowStepSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="The step's run.")
    position = serializers.IntegerField(source="step_position")
    key = serializers.CharField(source="step_key")
    group = serializers.IntegerField(
        source="step_group", help_text="Steps of one parallel batch share it."
    )
    action = serializers.CharField(source="action_id")
    status = serializers.ChoiceField(choices=RunStatus.choices)
    attempt_count = serializers.IntegerField(source="attempts")
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    duration = serializers.SerializerMethodField(
        help_text="Seconds from the start of its latest attempt to its end; null until it ends."
    )

    @extend_schema_field({"type": "number", "format": "double", "nullable": True})
    def get_duration(self, step: Run) -> float | None:
        return step_duration(step)


def step_duration(run: Run) -> float | None:
    if run.started_at is None or run.finished_at is None:
        return None
    return max((run.finished_at - run.started_at).total_seconds(), 0.0)


class RunDetailSerializer(RunSerializer):
    worker = serializers.SerializerMethodField(help_text="host:pid of the latest attempt.")
    attempts = AttemptSerializer(
        source="attempt_set", many=True, help_text="Finished attempts, oldest first."
    )
    events = EventSerializer(many=True, help_text="What operators did, oldest first.")
    steps = serializers.SerializerMethodField(
        help_text="A workflow's steps in order (parallel ones share a `group`); null for the "
        "run of an action."
    )

    @extend_schema_field({"type": "string", "nullable": True})
    def get_worker(self, run: Run) -> str | None:
        return run.worker or None

    @extend_schema_field(WorkflowStepSerializer(many=True, allow_null=True))
    def get_steps(self, run: Run) -> list[dict] | None:
        if run.action.kind != ActionKind.WORKFLOW:
            return None
        steps = Run.objects.steps_of(run.pk).only(*STEP_FIELDS)
        return WorkflowStepSerializer(steps, many=True).data


class RunPageSerializer(serializers.Serializer):
    results = RunSerializer(many=True)
    next = serializers.CharField(
        allow_null=True, help_text="URL of the next (older) page; null on the last page."
    )


# --- actions -------------------------------------------------------------------------


class PolicySerializer(serializers.Serializer):
    # Every field of POLICY_FIELDS, all whole numbers (a docstring would show in the schema).
    def get_fields(self) -> dict:
        return {
            name: serializers.IntegerField(help_text="" if name == "max_attempts" else "Seconds.")
            for name in POLICY_FIELDS
        }


class StatusCountsSerializer(serializers.Serializer):
    queued = serializers.IntegerField()
    running = serializers.IntegerField()
    retrying = serializers.IntegerField()
    waiting = serializers.IntegerField()
    succeeded = serializers.IntegerField()
    dead = serializers.IntegerField()
    resolved = serializers.IntegerField()
    cancelled = serializers.IntegerField()


class ActionSerializer(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.ChoiceField(
        choices=ActionKind.choices, help_text="`workflow` for a `@workflow`, `action` otherwise."
    )
    description = serializers.CharField(allow_blank=True)
    inputs_schema = serializers.JSONField(
        allow_null=True, help_text="JSON Schema the inputs must match; null accepts any object."
    )
    policy = PolicySerializer(help_text="The effective policy: code's, with overrides applied.")
    overridden = serializers.ListField(
        child=serializers.ChoiceField(choices=list(POLICY_FIELDS)),
        help_text="Policy fields an operator overrode (the rest come from code).",
    )
    paused = serializers.BooleanField()
    counts = StatusCountsSerializer(
        help_text="Runs by status, each counted up to 10,000; refreshed every 15 seconds."
    )
