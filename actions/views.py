"""The operator dashboard: function views returning ``TemplateResponse``.

A full page for a normal request, the partial htmx asked for otherwise (hence
``Vary: HX-Request``). Every view checks permissions itself, whatever the template
shows; every state change goes through ``actions.operators`` (or ``actions.jobs``).
"""

import uuid
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, resolve_url
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import (
    HttpResponseClientRedirect,
    HttpResponseStopPolling,
    reswap,
    retarget,
    trigger_client_event,
)
from django_htmx.middleware import HtmxDetails

from . import jobs, operators, queries, rules
from .errors import IllegalTransition
from .filters import FAILED_STATUSES, RANGES, RunFilterSet
from .models import Action, EventKind, IdempotencyRecord, Job, Run, RunStatus
from .paging import PAGE_SIZE, keyset_page
from .policy import overridden_fields
from .registry import all_specs, effective_policy, find_spec


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


MAX_SELECTED = 100
LIVE_TARGET = "run-live"  # the detail page's live section; row actions answer it there


# --- access ---------------------------------------------------------------------------


def dashboard_view(view: Callable) -> Callable:
    """Signed-in staff with ``actions.view_run`` only; htmx requests of an expired
    session are sent to the login page as a whole page, not swapped into a fragment."""

    @wraps(view)
    def wrapper(request: HtmxHttpRequest, *args, **kwargs) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            if request.htmx:
                back = request.htmx.current_url_abs_path or request.get_full_path()
                login = resolve_url(settings.LOGIN_URL)
                return HttpResponseClientRedirect(f"{login}?{urlencode({'next': back})}")
            return redirect_to_login(request.get_full_path())
        if not rules.may_use_dashboard(user):
            return refuse(
                request, 403, "The dashboard needs a staff account with the view_run permission."
            )
        return view(request, *args, **kwargs)

    return vary_on_headers("HX-Request")(wrapper)


def refuse(request: HtmxHttpRequest, status: int, message: str) -> HttpResponse:
    """A 4xx the operator sees: in the message area for htmx, as a small page otherwise."""
    messages.error(request, message)
    if request.htmx:
        response = TemplateResponse(request, "actions/base.html#messages", status=status)
        return reswap(retarget(response, "#messages"), "outerHTML")
    return TemplateResponse(request, "actions/message.html", status=status)


def require(request: HtmxHttpRequest, verb: str, doing: str) -> HttpResponse | None:
    if rules.user_may(request.user, verb):
        return None
    return refuse(request, 403, f"You do not have permission to {doing}.")


def redirect_back(request: HttpRequest, default: str) -> HttpResponseRedirect:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = default
    return HttpResponseRedirect(target)


# --- pages ----------------------------------------------------------------------------


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


def bar_chart(activity: queries.Activity, width: int = 600, height: int = 90) -> dict:
    """Bar geometry for a small server-rendered SVG: all runs, failed runs in front."""
    n = len(activity.buckets) or 1
    step = width / n
    peak = activity.peak or 1
    bars = []
    for i, bucket in enumerate(activity.buckets):
        total_h = round(height * bucket.total / peak, 1)
        failed_h = round(height * bucket.failed / peak, 1)
        bars.append(
            {
                "x": round(i * step, 1),
                "w": round(max(step - 1, 1), 1),
                "total_y": round(height - total_h, 1),
                "total_h": total_h,
                "failed_y": round(height - failed_h, 1),
                "failed_h": failed_h,
                "bucket": bucket,
            }
        )
    return {"width": width, "height": height, "bars": bars, "peak": activity.peak}


@require_GET
@dashboard_view
def run_list(request: HtmxHttpRequest) -> TemplateResponse:
    return _runs_page(request, failed=False)


@require_GET
@dashboard_view
def run_failed(request: HtmxHttpRequest) -> TemplateResponse:
    return _runs_page(request, failed=True)


def _runs_page(request: HtmxHttpRequest, *, failed: bool) -> TemplateResponse:
    filters = RunFilterSet(request.GET, failed=failed)  # invalid values are left out
    runs = (Run.objects.failed() if failed else Run.objects.all()).matching(filters)
    listed = runs.select_related("action").defer("inputs", "result", "resolution_note")
    context = {
        "failed_page": failed,
        "filters": filters,
        "page": keyset_page(listed, filters.cursor, filters.limit or PAGE_SIZE),
        "count": queries.capped_count(runs),
        "groups": queries.failure_groups(filters) if failed else [],
        "statuses": FAILED_STATUSES if failed else RunStatus.values,
        "ranges": list(RANGES),
        "action_names": [spec.name for spec in all_specs()],
        "list_url": request.path,
    }
    template = "actions/runs.html"
    if request.htmx and request.htmx.target == "run-table":
        template += "#run-table"
    return TemplateResponse(request, template, context)


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
    context = {**detail_context(run, request.user), **idempotency_context(run)}
    return TemplateResponse(request, "actions/run_detail.html", context)


def detail_context(run: Run, user) -> dict:
    timeline = [(a.started_at, "attempt", a) for a in run.attempt_set.all()]
    timeline += [(e.created_at, "event", e) for e in run.events.select_related("user")]
    timeline.sort(key=lambda item: item[0])
    return {"run": run, "timeline": timeline, "show_tracebacks": rules.may_see_tracebacks(user)}


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


# --- operator actions -----------------------------------------------------------------


@require_POST
@dashboard_view
def run_retry(request: HtmxHttpRequest, run_id: uuid.UUID) -> HttpResponse:
    return _operate(
        request,
        run_id,
        "retry",
        done="Retried run {id}: it is queued again with a fresh attempt budget.",
    )


@require_POST
@dashboard_view
def run_resolve(request: HtmxHttpRequest, run_id: uuid.UUID) -> HttpResponse:
    return _operate(request, run_id, "resolve", done="Resolved run {id} with your note.")


@require_POST
@dashboard_view
def run_cancel(request: HtmxHttpRequest, run_id: uuid.UUID) -> HttpResponse:
    return _operate(request, run_id, "cancel", done="Cancelled run {id}: it will not run again.")


OPERATIONS = {"retry": operators.retry, "resolve": operators.resolve, "cancel": operators.cancel}


def _operate(request, run_id, verb: str, *, done: str) -> HttpResponse:
    if denied := require(request, verb, f"{verb} runs"):
        return denied
    run = get_object_or_404(Run.objects.select_related("action"), pk=run_id)
    try:
        OPERATIONS[verb](run, request.user, request.POST.get("note", ""))
    except IllegalTransition as error:
        return refuse(request, 409, f"Nothing done: {error.message}.")
    except operators.MissingNote as error:
        return refuse(request, 400, f"Nothing done: {error.message}.")
    messages.success(request, done.format(id=str(run.pk)[:8]))
    if not request.htmx:
        return redirect_back(request, reverse("actions:run-detail", args=[run.pk]))
    run = Run.objects.select_related("action", "resolved_by").get(pk=run.pk)
    if request.htmx.target == LIVE_TARGET:
        return TemplateResponse(
            request, "actions/run_detail.html#run-live-answer", detail_context(run, request.user)
        )
    return TemplateResponse(request, "actions/runs.html#row-answer", {"run": run})


BULK = {"retry": (EventKind.RETRIED, "Retried"), "resolve": (EventKind.RESOLVED, "Resolved")}


@require_POST
@dashboard_view
def run_bulk(request: HtmxHttpRequest) -> HttpResponse:
    """Retry or resolve the selected runs, or all matching the filter (as a job).

    The first POST answers with a confirmation saying how many runs; the
    confirmation posts again with ``confirmed=1``.
    """
    op = request.POST.get("op", "")
    if op not in BULK:
        return refuse(request, 400, "Choose whether to retry or resolve.")
    kind, done_verb = BULK[op]
    if denied := require(request, op, f"{op} runs"):
        return denied
    try:
        note = operators.require_note(op, request.POST.get("note", ""))
    except operators.MissingNote as error:
        return refuse(request, 400, f"Nothing done: {error.message}.")
    filters = RunFilterSet(request.POST, failed=True)
    all_matching = request.POST.get("all_matching") == "1"
    ids = _uuids(request.POST.getlist("ids"))[:MAX_SELECTED]
    if not all_matching and not ids:
        return refuse(request, 400, "Select at least one run, or all runs matching the filter.")
    failed_url = reverse("actions:run-failed")
    if filters.active:
        failed_url += f"?{filters.as_query()}"

    if request.POST.get("confirmed") != "1":
        matching = operators.eligible(op, Run.objects.failed().matching(filters))
        context = {
            "op": op,
            "note": note,
            "filters": filters,
            "all_matching": all_matching,
            "ids": ids,
            "how_many": matching.count() if all_matching else len(ids),
            "failed_url": failed_url,
        }
        template = "actions/runs.html#bulk-confirm" if request.htmx else "actions/bulk_confirm.html"
        return TemplateResponse(request, template, context)

    job = None
    if all_matching:
        job = jobs.start_job(kind, filters=filters, user=request.user, note=note)
        messages.success(
            request, f"Job #{job.pk} started: {op} {job.total:,} runs in the background."
        )
    else:
        selected = Run.objects.select_related("action").filter(pk__in=ids)
        done = operators.apply(op, selected, request.user, note).done
        skipped = len(ids) - done  # changed status meanwhile, or matched no run at all
        also = f"; skipped {skipped} that had changed status meanwhile" if skipped else ""
        messages.success(request, f"{done_verb} {done} run{'s' if done != 1 else ''}{also}.")
    if not request.htmx:
        return HttpResponseRedirect(failed_url)
    response = TemplateResponse(request, "actions/runs.html#bulk-done", {"job": job})
    return trigger_client_event(response, "runs-changed")


def _uuids(values: list[str]) -> list[uuid.UUID]:
    found = []
    for value in values:
        try:
            found.append(uuid.UUID(value))
        except ValueError:
            continue
    return list(dict.fromkeys(found))


@require_POST
@dashboard_view
def action_pause(request: HtmxHttpRequest, name: str) -> HttpResponse:
    return _toggle(request, name, operators.pause, "Paused {name}: its runs wait until resumed.")


@require_POST
@dashboard_view
def action_resume(request: HtmxHttpRequest, name: str) -> HttpResponse:
    return _toggle(request, name, operators.resume, "Resumed {name}: its waiting runs start now.")


def _toggle(request: HtmxHttpRequest, name: str, operation, done: str) -> HttpResponse:
    if denied := require(request, "pause", "pause or resume actions"):
        return denied
    if find_spec(name) is None and not Action.objects.filter(pk=name).exists():
        return refuse(request, 404, f"There is no action named {name}.")
    row = operation(name, request.user, request.POST.get("note", ""))
    messages.success(request, done.format(name=name))
    if not request.htmx:
        return redirect_back(request, reverse("actions:action-list"))
    health = queries.action_health().get(name)
    context = {"item": action_item(name, row, health)}
    return TemplateResponse(request, "actions/action_list.html#action-answer", context)
