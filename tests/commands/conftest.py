import io
from dataclasses import dataclass

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


@dataclass
class Output:
    stdout: str
    stderr: str
    returncode: int


@pytest.fixture
def manage():
    """``manage("runs", "show", run_id)``: a command's output and exit status, as a shell sees them."""

    def run(*args: str) -> Output:
        stdout, stderr = io.StringIO(), io.StringIO()
        try:
            call_command(*args, stdout=stdout, stderr=stderr)
        except CommandError as error:
            stderr.write(f"CommandError: {error}\n")
            return Output(stdout.getvalue(), stderr.getvalue(), error.returncode)
        return Output(stdout.getvalue(), stderr.getvalue(), 0)

    return run
