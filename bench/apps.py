from django.apps import AppConfig


class BenchConfig(AppConfig):
    name = "bench"
    label = "bench"

    def ready(self) -> None:
        # Bare django-q2 (qcluster) forks too: give it the fork safety runworker has, so
        # that no pooled PostgreSQL connection is shared across its processes.
        from actions.queue import close_connections_before_every_fork

        close_connections_before_every_fork()
