from django.core.management.base import BaseCommand, CommandError

from actions.management.cli import dumps, get_run, run_body, run_sheet, run_table
from actions.models import Run, RunStatus


class Command(BaseCommand):
    help = (
        "List runs, newest first ('runs [list] --status dead --action NAME'), "
        "or show one with its attempts and events ('runs show RUN_ID')."
    )

    def add_arguments(self, parser):
        parser.add_argument("what", nargs="?", choices=["list", "show"], default="list")
        parser.add_argument("run_id", nargs="?", metavar="RUN_ID", help="the run to show")
        parser.add_argument(
            "--status",
            action="append",
            choices=RunStatus.values,
            default=[],
            help="only runs in this status (repeatable)",
        )
        parser.add_argument("--action", help="only runs of this action")
        parser.add_argument("--key", help="only runs with this idempotency key")
        parser.add_argument("--limit", type=int, default=20, help="at most this many (default 20)")
        parser.add_argument("--json", action="store_true", help="the REST API's JSON bodies")

    def handle(self, *args, what: str, run_id: str | None, **options):
        if what == "show":
            if run_id is None:
                raise CommandError("runs show needs a RUN_ID")
            body = run_body(get_run(run_id), detail=True)
            self.stdout.write(dumps(body) if options["json"] else run_sheet(body))
            return
        if run_id is not None:
            raise CommandError(f"unexpected {run_id!r}: did you mean 'runs show {run_id}'?")
        if options["limit"] < 1:
            raise CommandError("--limit must be at least 1")
        runs = Run.objects.select_related("action", "resolved_by")
        if options["status"]:
            runs = runs.filter(status__in=options["status"])
        if options["action"]:
            runs = runs.filter(action_id=options["action"])
        if options["key"]:
            runs = runs.filter(idempotency_key=options["key"])
        runs = list(runs[: options["limit"]])
        if options["json"]:
            self.stdout.write(dumps([run_body(run) for run in runs]))
        elif runs:
            self.stdout.write(run_table(runs))
        else:
            self.stderr.write("no runs match")
