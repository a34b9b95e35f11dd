import json

from django.core.management.base import BaseCommand, CommandError

from actions.errors import DoplatformError
from actions.submission import submit


class Command(BaseCommand):
    help = "Submit a run of an action; prints the run as JSON."

    def add_arguments(self, parser):
        parser.add_argument("action")
        parser.add_argument("--inputs", default="{}", help="a JSON object")
        parser.add_argument("--key", default=None, help="idempotency key")

    def handle(self, *args, **options):
        try:
            inputs = json.loads(options["inputs"])
        except json.JSONDecodeError as error:
            raise CommandError(f"invalid_json: --inputs is not valid JSON: {error}") from None
        try:
            run = submit(options["action"], inputs, idempotency_key=options["key"])
        except DoplatformError as error:
            raise CommandError(f"{error.code}: {error.message}") from None
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
