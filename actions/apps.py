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
    """One ``Action`` row per action declared in code, of the kind the code declares
    (never in ``ready()``: no queries there)."""
    from .models import Action
    from .registry import all_specs

    actions = Action.objects.using(kwargs.get("using", "default"))
    existing = dict(actions.values_list("name", "kind"))
    specs = all_specs()
    actions.bulk_create(
        [Action(name=spec.name, kind=spec.kind) for spec in specs if spec.name not in existing],
        ignore_conflicts=True,
    )
    for spec in specs:
        if existing.get(spec.name, spec.kind) != spec.kind:
            actions.filter(name=spec.name).update(kind=spec.kind)
