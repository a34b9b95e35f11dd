"""What operators do from the dashboard: retry, resolve, cancel (one run or many), pause
and resume. Each view checks its permission itself, whatever the template shows; every
change goes through ``actions.operators`` (or ``actions.jobs``)."""

import json
import uuid

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from .. import jobs, operators, queries, rules
from ..errors import DoplatformError, IllegalTransition, InvalidInputs
from ..filters import RunFilterSet
from ..models import Action, Run
from ..registry import find_spec
from .access import HtmxHttpRequest, dashboard_view, redirect_back, refuse, require
from .pages import LIVE_TARGET, action_item, detail_context

MAX_SELECTED = 100


@require_POST
@dashboard_view
def run_retry(request: HtmxHttpRequest, run_id: uuid.UUID) -> HttpResponse:
    """Retry now; with ``inputs`` (the edit form's JSON), retry with those inputs instead."""
    return _operate(request, run_id, "retry", carrying="inputs")


@require_POST
@dashboard_view
def run_resolve(request: HtmxHttpRequest, run_id: uuid.UUID) -> HttpResponse:
    """Resolve with a note; with ``result`` (a JSON object), that is the run's output."""
    return _operate(request, run_id, "resolve", carrying="result")


@require_POST
@dashboard_view
def run_cancel(request: HtmxHttpRequest, run_id: uuid.UUID) -> HttpResponse:
    return _operate(request, run_id, "cancel")


# What an operation may carry besides its note, by the name of its form field.
CARRIED = {"inputs": "the edited inputs", "result": "the output"}


def _operate(request, run_id, verb: str, *, carrying: str | None = None) -> HttpResponse:
    if denied := require(request, verb, f"{verb} runs"):
        return denied
    run = get_object_or_404(Run.objects.select_related("action"), pk=run_id)
    extra = {}
    if carrying is not None:
        try:
            carried = _json_object(request.POST.get(carrying, ""), CARRIED[carrying])
        except ValueError as error:
            return refuse(request, 400, f"Nothing done: {error}.")
        if carried is not None:
            extra[carrying] = carried
    dead_step = rules.failed_step(run) if verb == "retry" and rules.died_of_step(run) else None
    try:
        operators.operate(verb, run, request.user, request.POST.get("note", ""), **extra)
    except IllegalTransition as error:
        return refuse(request, 409, f"Nothing done: {error.message}.")
    except operators.MissingNote as error:
        return refuse(request, 400, f"Nothing done: {error.message}.")
    except InvalidInputs as error:
        what = CARRIED.get(carrying or "", "the request")
        return refuse(request, 400, f"Nothing done: {_problems(error, what)}.")
    except DoplatformError as error:  # e.g. no handler here to check edited inputs against
        return refuse(request, 400, f"Nothing done: {error.message}.")
    messages.success(request, _done(verb, run, extra, dead_step))
    if not request.htmx:
        return redirect_back(request, reverse("actions:run-detail", args=[run.pk]))
    run = Run.objects.select_related("action", "resolved_by").get(pk=run.pk)
    if request.htmx.target == LIVE_TARGET:
        return TemplateResponse(
            request, "actions/run_detail.html#run-live-answer", detail_context(run, request.user)
        )
    return TemplateResponse(request, "actions/runs.html#row-answer", {"run": run})


JSON_TYPES = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "true or false",
    type(None): "null",
}


def _json_object(text: str, what: str) -> dict | None:
    """The JSON object typed into a form's textarea; None when left empty."""
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{what}: not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        ) from None
    except (ValueError, RecursionError) as error:
        raise ValueError(f"{what}: not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{what}: must be a JSON object {{…}}, not {JSON_TYPES[type(value)]}")
    return value


def _problems(error: InvalidInputs, what: str) -> str:
    """The core's refusal of inputs or an output, with each failing path."""
    details = error.details if isinstance(error.details, list) else []
    found = "; ".join(
        f"{item.get('path', '$')}: {item.get('message', '')}"
        for item in details
        if isinstance(item, dict)
    )
    return f"{what} refused: {found or error.message}"


def _done(verb: str, run: Run, extra: dict, dead_step: dict | None) -> str:
    short = str(run.pk)[:8]
    if verb == "retry" and dead_step is not None:
        return (
            f"Retried step {dead_step['step']} of workflow run {short}: the workflow waits for it."
        )
    if verb == "retry":
        edited = " with the edited inputs" if "inputs" in extra else ""
        waits = "; its workflow waits for it" if run.parent_id else ""
        return (
            f"Retried run {short}{edited}: it is queued again with a fresh attempt budget{waits}."
        )
    if verb == "resolve":
        given = " and the output you gave" if "result" in extra else ""
        resumes = "; its workflow resumes with it" if run.parent_id and given else ""
        return f"Resolved run {short} with your note{given}{resumes}."
    return f"Cancelled run {short}: it will not run again."


DONE = {"retry": "Retried", "resolve": "Resolved"}


@require_POST
@dashboard_view
def run_bulk(request: HtmxHttpRequest) -> HttpResponse:
    """Retry or resolve the selected runs, or all matching the filter (as a job).

    The first POST answers with a confirmation saying how many runs; the
    confirmation posts again with ``confirmed=1``.
    """
    op = request.POST.get("op", "")
    if op not in jobs.KINDS:
        return refuse(request, 400, "Choose whether to retry or resolve.")
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
        job = jobs.start_job(jobs.KINDS[op], filters=filters, user=request.user, note=note)
        messages.success(
            request, f"Job #{job.pk} started: {op} {job.total:,} runs in the background."
        )
    else:
        selected = Run.objects.select_related("action").filter(pk__in=ids)
        done = operators.apply(op, selected, request.user, note).done
        skipped = len(ids) - done  # changed status meanwhile, or matched no run at all
        also = f"; skipped {skipped} that had changed status meanwhile" if skipped else ""
        messages.success(request, f"{DONE[op]} {done} run{'s' if done != 1 else ''}{also}.")
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
