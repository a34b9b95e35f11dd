"""The one module that talks to django-q2: enqueue a run, start and stop a cluster.

django-q2 is only the delivery engine. Attempts, retries, timeouts and results are
doplatform's, so every task is tried once, acknowledged even when it fails and
never stored (see ``Q_CLUSTER`` in settings).
"""

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django_q.brokers import get_broker
from django_q.cluster import Cluster
from django_q.conf import Conf
from django_q.tasks import async_task

TASK = "actions.worker.execute_run"
Q_OPTIONS = {"save": False, "ack_failure": True}


def enqueue(run_id) -> None:
    """Hand a run to the workers.

    With the ORM broker the queue row is written in the caller's transaction, so
    it commits with the run or not at all; other brokers are called on commit.
    """
    if Conf.ORM:
        async_task(TASK, str(run_id), q_options=dict(Q_OPTIONS, task_name=str(run_id)))
    else:
        transaction.on_commit(
            lambda: async_task(TASK, str(run_id), q_options=dict(Q_OPTIONS, task_name=str(run_id)))
        )


def task_timeout() -> int:
    """django-q2's whole-task backstop, in seconds."""
    return int(Conf.TIMEOUT)


def check_timeouts(longest_lease: int) -> None:
    """Refuse a configuration where django-q2 could cut or redeliver a live attempt."""
    if longest_lease >= task_timeout():
        raise ImproperlyConfigured(
            f"the longest action timeout plus grace ({longest_lease} s) must be below "
            f"django-q2's task timeout ({task_timeout()} s; DOPLATFORM_TASK_TIMEOUT_MAX)"
        )
    if task_timeout() >= int(Conf.RETRY):
        raise ImproperlyConfigured(
            f"django-q2's retry ({Conf.RETRY} s; DOPLATFORM_TASK_RETRY) must exceed its task "
            f"timeout ({task_timeout()} s), or a running task would be delivered twice"
        )


def broker_name() -> str:
    return "orm" if Conf.ORM else "redis"


def queued_tasks() -> int:
    return get_broker().queue_size()


def start_cluster() -> Cluster:
    """Start django-q2's sentinel, pusher, monitor and worker processes."""
    cluster = Cluster(get_broker())
    cluster.start()
    return cluster


def stop_cluster(cluster: Cluster) -> None:
    """Stop pulling tasks, let workers finish what they hold, then exit."""
    cluster.stop()
