from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "demo"
    verbose_name = "Demo: user registration"
    default_auto_field = "django.db.models.BigAutoField"
