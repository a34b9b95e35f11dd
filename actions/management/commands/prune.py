from django.core.management.base import BaseCommand

from actions.pruning import prune


class Command(BaseCommand):
    help = "Delete expired idempotency records and closed runs older than the retention."

    def handle(self, *args, **options):
        report = prune()
        self.stdout.write(f"pruned {report.records} idempotency records and {report.runs} runs")
