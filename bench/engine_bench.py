"""Runs/s of N no-op runs through doplatform against N bare django-q2 no-op tasks.

Same database, broker and worker count, in one process tree, alternating rounds so
both see the same machine. Prints each round and the median ratio.

    DATABASE_URL=postgres://…/doplatform_bench python bench/engine_bench.py [-n 2000] [--rounds 3]
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from django_q.conf import Conf

    print(
        f"engine bench: {connection.vendor}, {'ORM' if Conf.ORM else 'Redis'} broker, "
        f"{Conf.WORKERS} workers, N={args.n}"
    )
    ratios = []
    for round_no in range(1, args.rounds + 1):
        bare = measure_bare(args.n)
        ours = measure_doplatform(args.n)
        ratios.append(ours / bare)
        print(
            f"round {round_no}: bare django-q2 {bare:7.1f}/s   doplatform {ours:7.1f}/s   "
            f"ratio {ours / bare:.2f}"
        )
    print(f"median ratio doplatform/bare: {statistics.median(ratios):.2f}")


def start(command: list[str]) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), *command],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    time.sleep(3)  # let the cluster fork its workers before the clock starts
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def wait_until(condition, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the benchmark did not finish")
        time.sleep(0.02)


def measure_bare(n: int) -> float:
    from django_q.models import OrmQ
    from django_q.tasks import async_task

    OrmQ.objects.all().delete()
    proc = start(["qcluster"])
    try:
        began = time.perf_counter()
        for _ in range(n):
            async_task("bench.tasks.noop", q_options={"save": False})
        wait_until(lambda: not OrmQ.objects.exists())
        return n / (time.perf_counter() - began)
    finally:
        stop(proc)


def measure_doplatform(n: int) -> float:
    from django_q.models import OrmQ

    from actions import submit
    from actions.models import Run, RunStatus

    OrmQ.objects.all().delete()
    Run.objects.filter(action_id="bench-noop").delete()
    proc = start(["runworker"])
    try:
        began = time.perf_counter()
        for _ in range(n):
            submit("bench-noop", {})
        unfinished = Run.objects.filter(
            action_id="bench-noop",
            status__in=[RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.RETRYING],
        )
        wait_until(lambda: not unfinished.exists())
        return n / (time.perf_counter() - began)
    finally:
        stop(proc)


if __name__ == "__main__":
    main()
