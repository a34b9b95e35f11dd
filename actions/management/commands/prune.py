from django.core.management.base import BaseCommand

from actions.pruning import prune


class Command(BaseCommand):
    help = "Delete expired idempotency records and closed runs older than the retention."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would be deleted; delete nothing"
        )

    def handle(self, *args, dry_run: bool, **options):
        report = prune(dry_run=dry_run)
        verb = "would prune" if dry_run else "pruned"
        self.stdout.write(f"{verb} {report.records} idempotency records and {report.runs} runs")
