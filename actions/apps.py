from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ActionsConfig(AppConfig):
    name = "actions"
    verbose_name = "Actions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import registry

        registry.autodiscover()
        post_migrate.connect(create_action_rows, sender=self)


def create_action_rows(**kwargs) -> None:
    """One ``Action`` row per action declared in code (never in ``ready()``: no queries there)."""
    from .models import Action
    from .registry import all_specs

    using = kwargs.get("using", "default")
    existing = set(Action.objects.using(using).values_list("name", flat=True))
    Action.objects.using(using).bulk_create(
        [Action(name=spec.name) for spec in all_specs() if spec.name not in existing],
        ignore_conflicts=True,
    )
