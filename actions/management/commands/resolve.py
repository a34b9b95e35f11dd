from actions import operators
from actions.management.cli import OperatorCommand


class Command(OperatorCommand):
    help = "Resolve dead runs settled by other means; the note says how (dead → resolved)."
    note_required = True

    def operate(self, run, note):
        return operators.resolve(run, None, note)
