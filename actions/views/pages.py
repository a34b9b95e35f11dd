"""The dashboard's pages: overview, runs, failed runs, a run, actions, a job's progress.

Function views returning ``TemplateResponse``: a full page for a normal request, the
partial htmx asked for otherwise (hence ``Vary: HX-Request``, set by ``dashboard_view``).
"""

import uuid

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET
from django_htmx.http import HttpResponseStopPolling

from .. import queries, rules
from ..filters import FAILED_STATUSES, RANGES, RunFilterSet
from ..models import Action, ActionKind, IdempotencyRecord, Job, Run, RunStatus
from ..paging import PAGE_SIZE, keyset_page
from ..policy import overridden_fields
from ..registry import all_specs, effective_policy, find_spec
from .access import HtmxHttpRequest, dashboard_view, for_htmx
from .charts import bar_chart

LIVE_TARGET = "run-live"  # the detail page's live section; row actions answer it there


@require_GET
@dashboard_view
def overview(request: HtmxHttpRequest) -> TemplateResponse:
    activity = queries.activity()
    health = queries.action_health()
    names = sorted({spec.name for spec in all_specs()} | set(health))
    context = {
        "counts": queries.status_counts(),
        "activity": activity,
        "charts": {key: bar_chart(value) for key, value in activity.items()},
        "health": [health.get(name) or queries.ActionHealth(name) for name in names],
    }
    return TemplateResponse(request, "actions/overview.html", context)


@require_GET
@dashboard_view
@for_htmx(if_target="run-table", partial="run-table")
def run_list(request: HtmxHttpRequest) -> TemplateResponse:
    return _runs_page(request, failed=False)


@require_GET
@dashboard_view
@for_htmx(if_target="run-table", partial="run-table")
def run_failed(request: HtmxHttpRequest) -> TemplateResponse:
    return _runs_page(request, failed=True)


def _runs_page(request: HtmxHttpRequest, *, failed: bool) -> TemplateResponse:
    filters = RunFilterSet(request.GET, failed=failed)  # invalid values are left out
    runs = (Run.objects.failed() if failed else Run.objects.all()).matching(filters)
    # A step's row names its workflow by the parent's id alone: no read per row.
    listed = runs.select_related("action").defer("inputs", "result", "resolution_note", "memo")
    context = {
        "failed_page": failed,
        "filters": filters,
        "page": keyset_page(listed, filters.cursor, filters.limit or PAGE_SIZE),
        "count": queries.capped_count(runs),
        "groups": queries.failure_groups(filters) if failed else [],
        "statuses": FAILED_STATUSES if failed else RunStatus.values,
        "kinds": ActionKind.values,
        "workflow": workflow_of(filters.params.get("parent")),
        "ranges": list(RANGES),
        "action_names": [spec.name for spec in all_specs()],
        "list_url": request.path,
    }
    return TemplateResponse(request, "actions/runs.html", context)


@require_GET
@dashboard_view
def run_detail(request: HtmxHttpRequest, run_id: uuid.UUID) -> HttpResponse:
    run = get_object_or_404(Run.objects.select_related("action", "resolved_by"), pk=run_id)
    if request.htmx and request.htmx.target == LIVE_TARGET:
        response = TemplateResponse(
            request, "actions/run_detail.html#run-live", detail_context(run, request.user)
        )
        if run.is_finished:
            # Status 286 stops htmx polling; the final state is still swapped in.
            response.status_code = HttpResponseStopPolling.status_code
        return response
    context = {
        **detail_context(run, request.user),
        **idempotency_context(run),
        "workflow": workflow_of(run.parent_id),
    }
    return TemplateResponse(request, "actions/run_detail.html", context)


def workflow_of(run_id: uuid.UUID | str | None) -> Run | None:
    """The workflow run a step belongs to (or a list of steps names), read lightly."""
    if run_id is None:
        return None
    return Run.objects.filter(pk=run_id).only("id", "action_id", "status").first()


def detail_context(run: Run, user) -> dict:
    timeline = [(a.started_at, "attempt", a) for a in run.attempt_set.all()]
    timeline += [(e.created_at, "event", e) for e in run.events.select_related("user")]
    timeline.sort(key=lambda item: item[0])
    return {
        "run": run,
        "timeline": timeline,
        "show_tracebacks": rules.may_see_tracebacks(user),
        "step_groups": step_groups(run) if run.action.kind == ActionKind.WORKFLOW else None,
        "failed_step": rules.failed_step(run),
    }


STEP_FIELDS = [
    "id",
    "action_id",
    "status",
    "attempts",
    "step_key",
    "step_position",
    "step_group",
    "started_at",
    "finished_at",
    "worker",
]


def step_groups(workflow: Run) -> list[list[Run]]:
    """A workflow's steps in order, those started together (one ``step_group``) side by
    side: each group in the place of its first step."""
    groups: dict[int | None, list[Run]] = {}
    for step in Run.objects.steps_of(workflow.pk).only(*STEP_FIELDS):  # run_unique_step
        groups.setdefault(step.step_group, []).append(step)
    return list(groups.values())


def idempotency_context(run: Run) -> dict:
    if not run.idempotency_key:
        return {"binding": None, "same_key": []}
    binding = IdempotencyRecord.objects.filter(
        action_id=run.action_id, key=run.idempotency_key
    ).first()
    same_key = list(
        Run.objects.filter(idempotency_key=run.idempotency_key)
        .exclude(pk=run.pk)
        .only("id", "action_id", "status", "created_at")[:10]
    )
    return {"binding": binding, "same_key": same_key}


@require_GET
@dashboard_view
def action_list(request: HtmxHttpRequest) -> TemplateResponse:
    rows = Action.objects.in_bulk()
    health = queries.action_health()
    names = sorted({spec.name for spec in all_specs()} | set(rows))
    items = [action_item(name, rows.get(name), health.get(name)) for name in names]
    return TemplateResponse(request, "actions/action_list.html", {"items": items})


def action_item(name: str, row: Action | None, health: queries.ActionHealth | None) -> dict:
    spec = find_spec(name)
    try:
        admin_url = reverse("admin:actions_action_change", args=[name]) if row else None
    except NoReverseMatch:
        admin_url = None
    return {
        "name": name,
        "kind": spec.kind if spec is not None else getattr(row, "kind", ActionKind.ACTION),
        "spec": spec,
        "row": row,
        # No handler here: its runs wait, and no policy in code to show.
        "policy": effective_policy(name, row) if spec is not None else None,
        "overridden": overridden_fields(row),
        "health": health or queries.ActionHealth(name),
        "admin_url": admin_url,
    }


@require_GET
@dashboard_view
def job_detail(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    job = get_object_or_404(Job, pk=job_id)
    response = TemplateResponse(request, "actions/runs.html#job-progress", {"job": job})
    if request.htmx and job.finished_at is not None:
        response.status_code = HttpResponseStopPolling.status_code
    return response
