"""A workflow of sequential no-op steps against the same no-op runs submitted one by one.

(a) a workflow of 10 sequential no-op steps, submit to succeeded; (b) 10 standalone no-op
runs, each submitted when the previous one has succeeded, as a client that chains them
by hand would; (c) a workflow of 100 such steps. The client learns that a run has
finished by polling its row every ``--poll`` seconds (5 ms), for (a), (b) and (c) alike.
Also measured: the same workflows with every step through the queue (a replay from the
top after each step) instead of inline. Same PostgreSQL, one ``runworker`` with its two
worker processes; rounds alternate the order, and the figures are medians.

    DATABASE_URL=postgres://…/doplatform_bench python bench/workflow_bench.py [--rounds 5]
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

STEPS_SHORT, STEPS_LONG = 10, 100


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--poll", type=float, default=0.005, help="the client's poll interval")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    print(
        f"workflow bench: {connection.vendor}, ORM broker, one runworker with 2 workers, "
        f"client polls every {args.poll * 1000:.0f} ms, {args.rounds} rounds"
    )
    worker = start_worker()
    try:
        measures = {
            "standalone": lambda: standalone(STEPS_SHORT, args.poll),
            "workflow": lambda: workflow("bench-sequence", STEPS_SHORT, args.poll),
            "workflow-100": lambda: workflow("bench-sequence", STEPS_LONG, args.poll),
            "queued": lambda: workflow("bench-sequence-queued", STEPS_SHORT, args.poll),
            "queued-100": lambda: workflow("bench-sequence-queued", STEPS_LONG, args.poll),
        }
        for measure in measures.values():  # warm up: workers forked, connections open
            measure()
        times = {name: [] for name in measures}
        for round_no in range(1, args.rounds + 1):
            order = list(measures) if round_no % 2 else list(reversed(measures))
            for name in order:
                times[name].append(measures[name]())
            print(f"round {round_no}: " + "  ".join(f"{n} {times[n][-1]:.3f}s" for n in measures))
    finally:
        stop(worker)
    m = {name: statistics.median(values) for name, values in times.items()}
    print(
        f"median times: {STEPS_SHORT} standalone runs one after the other {m['standalone']:.3f}s; "
        f"workflow of {STEPS_SHORT} steps {m['workflow']:.3f}s, of {STEPS_LONG} steps "
        f"{m['workflow-100']:.3f}s; every step through the queue: {STEPS_SHORT} steps "
        f"{m['queued']:.3f}s, {STEPS_LONG} steps {m['queued-100']:.3f}s"
    )

    def ratio(a: str, b: str) -> float:
        """The median of the per-round ratios: each round saw the same machine."""
        return statistics.median(x / y for x, y in zip(times[a], times[b], strict=True))

    short, long = ratio("workflow", "standalone"), ratio("workflow-100", "workflow")
    print(
        f"median ratio workflow/standalone ({STEPS_SHORT} steps): {short:.2f} "
        f"({verdict(short, 1.5)}); {STEPS_LONG} steps/{STEPS_SHORT} steps: {long:.2f} "
        f"({verdict(long, 12)})"
    )
    print(
        f"every step through the queue: workflow/standalone ({STEPS_SHORT} steps) "
        f"{ratio('queued', 'standalone'):.2f}; {STEPS_LONG} steps/{STEPS_SHORT} steps "
        f"{ratio('queued-100', 'queued'):.2f}"
    )


def verdict(ratio: float, goal: float) -> str:
    return f"goal <= {goal:g}: {'met' if ratio <= goal else 'MISSED'}"


def start_worker() -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "runworker"],
        cwd=ROOT,
        env={**os.environ, "DOPLATFORM_WORKERS": "2"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def finish(run, poll: float, timeout: float = 300) -> None:
    """Poll the run's row as a waiting client would, until it has succeeded."""
    from actions.models import Run, RunStatus

    row = Run.objects.filter(pk=run.pk)
    deadline = time.monotonic() + timeout
    while (status := row.values_list("status", flat=True).get()) != RunStatus.SUCCEEDED:
        if status in (RunStatus.DEAD, RunStatus.CANCELLED) or time.monotonic() > deadline:
            raise RuntimeError(f"run {run.pk} ended {status}, not succeeded")
        time.sleep(poll)


def standalone(n: int, poll: float) -> float:
    from actions import submit

    began = time.perf_counter()
    for i in range(n):
        finish(submit("bench-noop", {"i": i}), poll)
    return time.perf_counter() - began


def workflow(name: str, n: int, poll: float) -> float:
    from actions import submit

    began = time.perf_counter()
    finish(submit(name, {"n": n}), poll)
    return time.perf_counter() - began


if __name__ == "__main__":
    main()
