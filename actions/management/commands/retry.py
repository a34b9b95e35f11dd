from actions import operators
from actions.management.cli import OperatorCommand


class Command(OperatorCommand):
    help = "Retry retrying or dead runs now, with a fresh attempt budget (retrying|dead → queued)."

    def operate(self, run, note):
        return operators.retry(run, None, note)
