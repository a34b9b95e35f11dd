import argparse
import json
import time

from django.core.management.base import BaseCommand, CommandError, DjangoHelpFormatter

from actions import canonical
from actions.errors import DoplatformError
from actions.management.cli import dumps, run_body
from actions.models import FINISHED, Run, RunStatus
from actions.registry import all_specs
from actions.submission import submit

POLL_SECONDS = 0.2


class HelpFormatter(DjangoHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Keeps the list of actions one per line."""


def actions_epilog() -> str:
    specs = all_specs()
    if not specs:
        return "No actions are registered: declare them in an app's actions.py."
    width = max(len(spec.name) for spec in specs)
    lines = [
        f"  {spec.name:<{width}}  {(spec.description.splitlines() or [''])[0]}".rstrip()
        for spec in specs
    ]
    return "actions:\n" + "\n".join(lines)


class Command(BaseCommand):
    help = (
        "Submit a run of an action; prints the run as JSON. With --wait, waits until the "
        "run is finished (a worker must be running) and prints it with its attempts."
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        kwargs.setdefault("epilog", actions_epilog())
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("action", help="one of the actions listed below")
        parser.add_argument("--inputs", default="{}", help="a JSON object")
        parser.add_argument("--key", default=None, help="idempotency key")
        parser.add_argument(
            "--wait",
            action="store_true",
            help="wait until the run is finished; exit 1 if it ended dead or cancelled",
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=60,
            metavar="SECONDS",
            help="with --wait: give up after this long, exit 2 (default 60)",
        )

    def handle(self, *args, **options):
        try:
            inputs = canonical.loads(options["inputs"], what="--inputs")
            run = submit(options["action"], inputs, idempotency_key=options["key"])
        except DoplatformError as error:
            raise CommandError(f"{error.code}: {error.message}") from None
        if not options["wait"]:
            self.stdout.write(
                json.dumps(
                    {
                        "id": str(run.pk),
                        "action": run.action_id,
                        "status": run.status,
                        "replayed": run.replayed,
                    }
                )
            )
            return
        self.wait(run, timeout=options["timeout"])

    def wait(self, run: Run, *, timeout: float) -> None:
        """Poll the run's status until it is finished; print the run, exit by its outcome."""
        deadline = time.monotonic() + timeout
        status = run.status
        while status not in FINISHED and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            status = Run.objects.filter(pk=run.pk).values_list("status", flat=True).get()
        run = Run.objects.select_related("action").get(pk=run.pk)
        self.stdout.write(dumps(run_body(run, detail=True)))
        if run.status not in FINISHED:
            raise CommandError(
                f"run {run.pk} is still {run.status} after {timeout:g} s "
                "(is a worker running? python manage.py runworker)",
                returncode=2,
            )
        if run.status in (RunStatus.DEAD, RunStatus.CANCELLED):
            error = run.error or {}
            reason = f": {error.get('code')}: {error.get('message')}" if error else ""
            raise CommandError(f"run {run.pk} ended {run.status}{reason}")
