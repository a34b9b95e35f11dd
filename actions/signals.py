"""Signals for projects to hook alerts on; each fires once per transition, after commit."""

from django.dispatch import Signal

# sender=Run, run=<Run>, status=<RunStatus>: the run reached a finished status.
run_finished = Signal()
# sender=Run, run=<Run>: the run became dead (its attempts are spent, or the error is final).
run_dead_lettered = Signal()
