"""Admin: live action configuration, and a read-only view of runs with operator actions."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from . import operators, queue, registry, rules
from .conf import app_settings
from .models import Action, ActionKind, Attempt, OperatorEvent, Run
from .policy import POLICY_FIELDS


class ActionForm(ModelForm):
    class Meta:
        model = Action
        fields = list(POLICY_FIELDS)

    def clean(self):
        data = super().clean()
        if registry.find_spec(self.instance.name) is None:
            return data
        try:
            policy = registry.effective_policy(self.instance.name, data)
        except ValueError as error:
            raise ValidationError(str(error)) from None
        # django-q2 must never cut or redeliver a live attempt (DESIGN.md, guarantee 3).
        problem = queue.lease_problem(policy.lease_seconds)
        if problem is not None:
            raise ValidationError({"timeout": problem})
        return data


@admin.register(Action)
class ActionAdmin(admin.ModelAdmin):
    form = ActionForm
    list_display = ["name", "kind", "paused", "policy", "updated_at"]
    list_filter = ["kind", "paused"]
    readonly_fields = ["name", "kind", "paused", "code_policy", "description", "inputs_schema"]
    fields = [
        "name",
        "kind",
        "description",
        "paused",
        "code_policy",
        *POLICY_FIELDS,
        "inputs_schema",
    ]
    actions = ["pause_actions", "resume_actions"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # actions are declared in code

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="effective policy")
    def policy(self, obj: Action) -> str:
        if registry.find_spec(obj.name) is None:
            return "no handler in this deployment"
        return str(registry.effective_policy(obj.name, obj))

    @admin.display(description="policy in code")
    def code_policy(self, obj: Action) -> str:
        spec = registry.find_spec(obj.name)
        return str(spec.policy) if spec else "no handler in this deployment"

    def description(self, obj: Action) -> str:
        spec = registry.find_spec(obj.name)
        return spec.description if spec else ""

    def inputs_schema(self, obj: Action):
        spec = registry.find_spec(obj.name)
        return spec.inputs_schema if spec else None

    @admin.action(description="Pause selected actions", permissions=["pause"])
    def pause_actions(self, request: HttpRequest, queryset: QuerySet[Action]) -> None:
        for action in queryset:
            operators.pause(action, request.user)
        self.message_user(request, f"Paused {len(queryset)} action(s).")

    @admin.action(description="Resume selected actions", permissions=["pause"])
    def resume_actions(self, request: HttpRequest, queryset: QuerySet[Action]) -> None:
        for action in queryset:
            operators.resume(action, request.user)
        self.message_user(request, f"Resumed {len(queryset)} action(s).")

    def has_pause_permission(self, request: HttpRequest) -> bool:
        return rules.user_may(request.user, "pause")


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    can_delete = False
    fields = [
        "number",
        "outcome",
        "started_at",
        "finished_at",
        "error_code",
        "error_message",
        "retryable",
        "worker",
    ]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class EventInline(admin.TabularInline):
    model = OperatorEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "kind", "user", "note", "details"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class StepInline(admin.TabularInline):
    """A workflow run's steps, in order, each a link to its own run."""

    model = Run
    fk_name = "parent"
    verbose_name = "step"
    verbose_name_plural = "steps"
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ["step_position", "step_key", "action", "status", "attempts", "finished_at"]
    readonly_fields = fields
    ordering = ["step_position", "created_at"]

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Run]:
        return super().get_queryset(request).select_related("action")


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "action",
        "kind",
        "step_of",
        "status",
        "attempts",
        "idempotency_key",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", ("action__kind", admin.ChoicesFieldListFilter), "action"]
    search_fields = ["=id", "=idempotency_key"]
    list_select_related = ["action"]
    show_full_result_count = False  # no COUNT(*) over millions of runs
    date_hierarchy = None
    inlines = [StepInline, AttemptInline, EventInline]
    actions = ["retry_runs", "resolve_runs"]

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return [f.name for f in Run._meta.fields]

    def get_inlines(self, request: HttpRequest, obj=None) -> list:
        if obj is None or obj.action.kind != ActionKind.WORKFLOW:
            return [AttemptInline, EventInline]
        return self.inlines

    @admin.display(description="kind", ordering="action__kind")
    def kind(self, obj: Run) -> str:
        return obj.action.kind

    @admin.display(description="step of")
    def step_of(self, obj: Run) -> str:
        """A step names its workflow's run by id alone: no read per row."""
        if obj.parent_id is None:
            return "—"
        url = reverse("admin:actions_run_change", args=[obj.parent_id])
        return format_html(
            'step {} of <a href="{}">{}</a>', obj.step_position, url, str(obj.parent_id)[:8]
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.action(description="Retry selected runs (retrying or dead)", permissions=["retry"])
    def retry_runs(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        self._apply(request, "retry", queryset, "from the admin", "Retried")

    @admin.action(description="Resolve selected dead runs", permissions=["resolve"])
    def resolve_runs(self, request: HttpRequest, queryset: QuerySet[Run]):
        """Asks for the note first: resolving says how the runs were settled."""
        try:
            self._apply(request, "resolve", queryset, request.POST.get("note", ""), "Resolved")
        except operators.MissingNote:
            context = {
                **self.admin_site.each_context(request),
                "title": "Resolve dead runs",
                "runs": queryset,
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                "missing": "note" in request.POST,
            }
            return TemplateResponse(request, "admin/actions/run/resolve.html", context)
        return None

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return rules.user_may(request.user, "retry")

    def has_resolve_permission(self, request: HttpRequest) -> bool:
        return rules.user_may(request.user, "resolve")

    def _apply(self, request, verb: str, queryset, note: str, done_verb: str) -> None:
        applied = operators.apply(verb, queryset.select_related("action"), request.user, note)
        self.message_user(request, f"{done_verb} {applied.done} run(s).")
        for refusal in applied.skipped[:10]:
            self.message_user(request, refusal.message, level=messages.WARNING)


if not app_settings.SHOW_ENGINE_ADMIN:
    queue.hide_engine_admin(admin.site)
