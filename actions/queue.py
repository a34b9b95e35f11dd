"""The one module that talks to django-q2: enqueue a run, start and stop a cluster.

django-q2 is only the delivery engine. Attempts, retries, timeouts and results are
doplatform's, so every task is tried once, acknowledged even when it fails and
never stored (see ``Q_CLUSTER`` in settings).
"""

import os
import signal
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


def _close_connections_before_every_fork() -> None:
    global _fork_hook_installed
    if not _fork_hook_installed:
        os.register_at_fork(before=close_connections_for_fork)
        _fork_hook_installed = True


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
    _close_connections_before_every_fork()
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


def hide_engine_admin(site: "AdminSite") -> None:
    """Take django-q2's own pages (tasks, failed tasks, schedules, queue) out of ``site``.

    doplatform never uses them: its "Failed tasks" beside our runs misleads operators.
    """
    import django_q.admin  # noqa: F401 - registers them first, whatever the app order

    for model in (Success, Failure, Schedule, OrmQ):
        if site.is_registered(model):
            site.unregister(model)
