"""The one module that talks to django-q2: enqueue a run, start and stop a cluster.

django-q2 is only the delivery engine. Attempts, retries, timeouts and results are
doplatform's, so every task is tried once, acknowledged even when it fails and
never stored (see ``Q_CLUSTER`` in settings).
"""

import contextlib
import multiprocessing
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

from django import db
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Min
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.cluster import Cluster
from django_q.conf import Conf
from django_q.models import Failure, OrmQ, Schedule, Success
from django_q.signals import pre_execute
from django_q.tasks import async_task

if TYPE_CHECKING:
    from django.contrib.admin import AdminSite

TASK = "actions.worker.execute_run"
Q_OPTIONS = {"save": False, "ack_failure": True}


# django-q2's guard kills a worker this long after the task's own timeout at the latest.
GUARD_SLACK = 5


def enqueue(run_id, *, backstop: int) -> None:
    """Hand a run to the workers; django-q2 kills the worker ``backstop`` seconds in.

    With the ORM broker the queue row is written in the caller's transaction, so
    it commits with the run or not at all; other brokers are called on commit, and
    a failed call is left to the dispatcher's re-enqueue (the run is already stored).
    """
    options = dict(Q_OPTIONS, task_name=str(run_id), timeout=backstop)
    if Conf.ORM:
        async_task(TASK, str(run_id), q_options=options)
    else:
        transaction.on_commit(lambda: async_task(TASK, str(run_id), q_options=options), robust=True)


def redelivery_limit() -> int:
    """The longest lease that django-q2 never redelivers while it is live, in seconds."""
    return int(Conf.RETRY) - GUARD_SLACK


def lease_problem(lease_seconds: int) -> str | None:
    """Why a lease this long could see django-q2 deliver a live attempt twice; None if it fits.

    The one limit check: ``runworker`` applies it to the longest lease before it starts,
    the admin to an edited timeout before it is saved.
    """
    limit = redelivery_limit()
    if lease_seconds < limit:
        return None
    return (
        f"timeout plus grace ({lease_seconds} s) must stay below {limit} s, or the queue "
        f"could deliver a live attempt twice (raise DOPLATFORM_TASK_RETRY, now {Conf.RETRY} s)"
    )


def check_timeouts(longest_lease: int) -> None:
    """Refuse a configuration where django-q2 could redeliver a live attempt."""
    problem = lease_problem(longest_lease)
    if problem is not None:
        raise ImproperlyConfigured(f"the longest action's {problem}")


def oldest_waiting_enqueue():
    """When the oldest task still waiting in the ORM broker was enqueued (None: unknown or none)."""
    if not Conf.ORM:
        return None
    return (
        OrmQ.objects.using(Conf.ORM)
        .filter(key=get_broker().list_key, lock__lte=timezone.now())
        .aggregate(oldest=Min("lock"))["oldest"]
    )


def size() -> int:
    """How many tasks wait in the queue (delivered ones no longer count)."""
    return get_broker().queue_size()


def purge() -> None:
    """Drop every task still waiting in the queue; the dispatcher re-enqueues what matters."""
    get_broker().purge_queue()


def broker_name() -> str:
    return "orm" if Conf.ORM else "redis"


def worker_count() -> int:
    return int(Conf.WORKERS)


def close_connections_for_fork() -> None:
    """Close this process's database connections and connection pools.

    A forked process must never use a connection (a socket) that its parent also uses,
    and a pool inherited through a fork would hand out the parent's. django-q2 forks
    its sentinel from ``runworker`` and, later, its workers from the sentinel (at start,
    after a crash, on recycling): this runs before each fork, so every process opens its
    own connections, from a pool of its own, when it first needs one.
    """
    db.connections.close_all()
    for connection in db.connections.all(initialized_only=True):
        if hasattr(connection, "close_pool"):
            connection.close_pool()


_fork_hook_installed = False


def close_connections_before_every_fork() -> None:
    """From now on, run ``close_connections_for_fork`` before every fork of this process."""
    global _fork_hook_installed
    if not _fork_hook_installed:
        os.register_at_fork(before=close_connections_for_fork)
        _fork_hook_installed = True


# When a worker of this process's cluster last began a task (time.monotonic(), which all
# processes of a machine share), in memory the forked workers share with runworker. No
# lock: a worker killed while holding one would wedge the others.
_last_task_started = None


def _note_task_started(**kwargs) -> None:
    if _last_task_started is not None:
        _last_task_started.value = time.monotonic()


def seconds_since_last_task() -> float:
    """How long since a worker of this process's cluster began a task (or the cluster started)."""
    if _last_task_started is None:
        return 0.0
    return time.monotonic() - _last_task_started.value


def start_cluster(*, on_signal, workers: int | None = None) -> Cluster:
    """Start django-q2's sentinel, pusher, monitor and worker processes.

    ``on_signal`` handles SIGTERM and SIGINT in this process from before the start on
    (django-q2's own handlers would stop the cluster behind the caller's back).
    ``workers`` overrides ``Q_CLUSTER["workers"]`` for this cluster.
    """
    if workers is not None:
        # Read by the sentinel, which is forked from this process.
        Conf.WORKERS = workers
        if "queue_limit" not in Conf.conf:
            Conf.QUEUE_LIMIT = workers**2
    global _last_task_started
    close_connections_before_every_fork()
    _last_task_started = multiprocessing.RawValue("d", time.monotonic())
    pre_execute.connect(_note_task_started, dispatch_uid="doplatform-last-task-started")
    cluster = Cluster(get_broker())
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    cluster.start()
    return cluster


def cluster_alive(cluster: Cluster) -> bool:
    return cluster.sentinel is not None and cluster.sentinel.is_alive()


def stop_cluster(cluster: Cluster) -> None:
    """Stop pulling tasks, let workers finish what they hold, then exit."""
    cluster.stop()


def kill_cluster(cluster: Cluster, *, grace: float) -> None:
    """Stop a cluster that may be wedged: ask its sentinel to stop, give it ``grace``
    seconds, then SIGKILL what is left of it (every other process of this process group,
    which ``runworker`` owns). A worker still busy then loses its attempt, which the
    dispatcher records as ``lost`` and retries.
    """
    if cluster.stop_event is not None:
        cluster.stop_event.set()
    cluster.sentinel.join(grace)
    for pid in group_pids():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    cluster.sentinel.join(5)


def group_pids() -> list[int]:
    """The other processes of this process group: the cluster's, under ``runworker``."""
    me, group = os.getpid(), os.getpgrp()
    if Path("/proc/self/stat").exists():
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == group and fields[0] != "Z":
                    pids.append(int(stat.parent.name))
    else:  # macOS and other systems without /proc
        found = subprocess.run(["pgrep", "-g", str(group)], capture_output=True, text=True)
        pids = [int(pid) for pid in found.stdout.split()]
    return sorted(pid for pid in pids if pid != me)


def hide_engine_admin(site: "AdminSite") -> None:
    """Take django-q2's own pages (tasks, failed tasks, schedules, queue) out of ``site``.

    doplatform never uses them: its "Failed tasks" beside our runs misleads operators.
    """
    import django_q.admin  # noqa: F401 - registers them first, whatever the app order

    for model in (Success, Failure, Schedule, OrmQ):
        if site.is_registered(model):
            site.unregister(model)
