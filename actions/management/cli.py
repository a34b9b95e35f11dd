"""What the run commands share: finding a run, and printing it as the REST API's JSON
body or as lines people read.

A shell on the server is an operator's, so tracebacks are shown.
"""

import json
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from actions.api.serializers import RunDetailSerializer, RunSerializer
from actions.errors import DoplatformError
from actions.models import Run


def get_run(run_id: str) -> Run:
    try:
        pk = uuid.UUID(run_id)
    except ValueError:
        pk = None
    run = Run.objects.select_related("action").filter(pk=pk).first() if pk else None
    if run is None:
        raise CommandError(f"not_found: no run {run_id!r}")
    return run


def run_body(run: Run, *, detail: bool = False) -> dict[str, Any]:
    """The run as ``GET /api/runs/<id>/`` shows it (``detail``) or as run lists do."""
    if detail:
        return RunDetailSerializer(run, context={"show_tracebacks": True}).data
    return RunSerializer(run).data


def dumps(data: Any) -> str:
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False)


def when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def run_table(runs: list[Run]) -> str:
    rows = [("ID", "ACTION", "STATUS", "ATTEMPTS", "CREATED", "FINISHED", "KEY")]
    rows += [
        (
            str(run.pk),
            run.action_id,
            run.status,
            str(run.attempts),
            when(run.created_at),
            when(run.finished_at),
            run.idempotency_key or "-",
        )
        for run in runs
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def run_sheet(body: dict[str, Any]) -> str:
    """A run's detail body as labelled lines, then its attempts and operator events."""
    error = body["error"]
    resolution = body["resolution"]
    fields = [
        ("run", body["id"]),
        ("action", body["action"] + (" (paused)" if body["action_paused"] else "")),
        ("status", body["status"]),
        ("key", body["idempotency_key"] or "-"),
        ("attempts", str(body["attempt_count"])),
        ("created", body["created_at"]),
        ("started", body["started_at"] or "-"),
        ("finished", body["finished_at"] or "-"),
        ("next attempt", body["next_attempt_at"] or "-"),
        ("waiting", body["waiting_reason"] or "-"),
        ("inputs", dumps(body["inputs"])),
        ("result", dumps(body["result"]) if body["result"] is not None else "-"),
        ("error", _error_line(error) if error else "-"),
    ]
    if resolution:
        by = resolution["by"] or "-"
        fields.append(("resolved", f"{resolution['at']} by {by}: {resolution['note']}"))
    lines = [f"{label:<13}{value}" for label, value in fields]
    lines.append("attempts:" if body["attempts"] else "attempts:    none finished")
    for attempt in body["attempts"]:
        failure = f"  {attempt['error_code']}: {attempt['error_message']}"
        lines.append(
            f"  #{attempt['number']} {attempt['outcome']:<10}{attempt['started_at']}  "
            f"{attempt['duration']:.3f} s  {attempt['worker']}"
            + (failure if attempt["error_code"] else "")
        )
        if attempt["traceback"]:
            lines += ["    " + line for line in attempt["traceback"].rstrip().splitlines()]
    for event in body["events"]:
        lines.append(f"event: {event['created_at']} {event['kind']} by {event['user'] or '-'}")
        if event["note"]:
            lines.append(f"  {event['note']}")
    return "\n".join(lines)


def _error_line(error: dict[str, Any]) -> str:
    retryable = "retryable" if error["retryable"] else "not retryable"
    return f"{error['code']}: {error['message']} ({retryable})"


class OperatorCommand(BaseCommand):
    """``<verb> RUN_ID … [--note N]``: one of ``actions.operators``' functions on each run.

    Prints each changed run as a JSON line (the API's run body); refusals go to stderr
    and make the exit status 1.
    """

    note_required = False

    def add_arguments(self, parser):
        parser.add_argument("run_ids", nargs="+", metavar="RUN_ID")
        parser.add_argument(
            "--note",
            default="",
            required=self.note_required,
            help="why, kept in the run's events" + (" (required)" if self.note_required else ""),
        )

    def operate(self, run: Run, note: str) -> Run:
        raise NotImplementedError

    def handle(self, *args, run_ids: list[str], note: str, **options):
        refused = 0
        for run_id in run_ids:
            try:
                run = self.operate(get_run(run_id), note)
            except DoplatformError as error:
                self.stderr.write(f"{run_id}: {error.code}: {error.message}")
                refused += 1
                continue
            except CommandError as error:
                self.stderr.write(f"{run_id}: {error}")
                refused += 1
                continue
            self.stdout.write(dumps(run_body(run)))
        if refused:
            raise CommandError(f"{refused} of {len(run_ids)} run(s) refused")
