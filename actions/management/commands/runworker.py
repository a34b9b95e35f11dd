import contextlib
import logging
import os
import signal
import threading
import time
from datetime import timedelta

from django import db
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from actions import dispatcher, jobs, pruning, queue
from actions.conf import app_settings
from actions.health import longest_lease
from actions.watchdog import Watchdog
from actions.worker import worker_name

log = logging.getLogger("actions.runworker")

# Seconds a wedged cluster's sentinel has to stop by itself before its processes are killed.
RESTART_GRACE = 5


class Command(BaseCommand):
    help = (
        "Run a django-q2 cluster and the dispatcher (due retries, expired leases, lost enqueues)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-cluster",
            action="store_true",
            help="run only the dispatcher (another process runs the django-q2 cluster)",
        )
        parser.add_argument(
            "--workers",
            type=int,
            metavar="N",
            help="worker processes in the cluster (default: Q_CLUSTER's, DOPLATFORM_WORKERS)",
        )

    def handle(self, *args, **options):
        if options["workers"] is not None and options["workers"] < 1:
            raise CommandError("--workers must be at least 1")
        queue.check_timeouts(longest_lease())
        name = worker_name()
        started_at = timezone.now()
        stop = threading.Event()

        def request_stop(signum, frame):
            log.info("runworker %s: signal %s, stopping", name, signum)
            stop.set()

        # Our own process group, so that a dead cluster's orphans can be found and stopped.
        with contextlib.suppress(OSError):
            os.setpgid(0, 0)
        db.connections.close_all()  # never share a connection with forked processes
        # Ours from the start: django-q2 installs its own handlers when the cluster is made.
        cluster = None
        if not options["no_cluster"]:
            cluster = queue.start_cluster(on_signal=request_stop, workers=options["workers"])
        watchdog = Watchdog(app_settings.WATCHDOG_SECONDS, queue.worker_count())
        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        engine = f"{queue.broker_name()} broker"
        if cluster is not None:
            engine += f", {queue.worker_count()} workers"
        self.stdout.write(f"runworker {name} started ({engine})")
        self.stdout.flush()

        next_beat = next_prune = 0.0
        try:
            while not stop.is_set():
                if cluster is not None and not queue.cluster_alive(cluster):
                    self.abandon_orphans(name)
                    raise CommandError("the django-q2 cluster died; exiting to be restarted")
                now = time.monotonic()
                try:
                    if cluster is not None and (why := watchdog.wedged()):
                        log.error("runworker %s: restarting its django-q2 cluster: %s", name, why)
                        cluster = self.restart_cluster(cluster, request_stop, options["workers"])
                        log.warning("runworker %s: django-q2 cluster restarted", name)
                    if now >= next_beat:
                        dispatcher.beat(name, started_at)
                        next_beat = now + app_settings.HEARTBEAT_INTERVAL
                    dispatcher.dispatch_once()
                    jobs.run_pending_jobs()
                    if now >= next_prune:
                        pruning.prune()
                        next_prune = now + app_settings.PRUNE_INTERVAL
                except Exception:  # a database or broker outage must not stop the worker
                    log.exception("runworker %s: dispatcher error; retrying", name)
                    db.connections.close_all()
                    stop.wait(1)
                stop.wait(app_settings.DISPATCH_INTERVAL)
        finally:
            if cluster is not None:
                queue.stop_cluster(cluster)
            with contextlib.suppress(db.Error):
                dispatcher.forget_worker(name)
            self.stdout.write(f"runworker {name} stopped")

    def restart_cluster(self, cluster, on_signal, workers: int | None):
        """Replace a wedged cluster, and hand its runs to the queue again."""
        queue.kill_cluster(cluster, grace=RESTART_GRACE)
        db.connections.close_all()
        cluster = queue.start_cluster(on_signal=on_signal, workers=workers)
        # Whatever the old cluster had taken off the queue died with it.
        since = timezone.now() - timedelta(seconds=app_settings.WATCHDOG_SECONDS)
        dispatcher.reenqueue_waiting(since)
        return cluster

    def abandon_orphans(self, name: str) -> None:
        """Stop what a dead sentinel left behind: a pusher with no workers would eat tasks.

        Their attempts become ``lost`` when their leases expire and are retried elsewhere.
        """
        log.critical("runworker %s: the django-q2 sentinel died; stopping its processes", name)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.killpg(os.getpgrp(), signal.SIGTERM)
