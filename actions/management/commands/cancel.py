from actions import operators
from actions.management.cli import OperatorCommand


class Command(OperatorCommand):
    help = (
        "Cancel runs that have not run for good yet; they never run (queued|retrying → cancelled)."
    )

    def operate(self, run, note):
        return operators.cancel(run, None, note)
