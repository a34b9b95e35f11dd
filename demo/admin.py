"""The demo's fake outside world, read-only in the admin: the gateway's charges show one
per user however often a crashed or retried step asked (``requests``)."""

from django.contrib import admin

from .models import Charge, CrmContact, Customer, Email


class OutsideWorld(admin.ModelAdmin):
    """What the fake services recorded; only the actions write it."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Charge)
class ChargeAdmin(OutsideWorld):
    list_display = ["customer", "amount_cents", "requests", "idempotency_key", "created_at"]
    search_fields = ["customer", "idempotency_key"]


@admin.register(Customer)
class CustomerAdmin(OutsideWorld):
    list_display = ["email", "name", "created_at"]
    search_fields = ["email"]


@admin.register(Email)
class EmailAdmin(OutsideWorld):
    list_display = ["to", "subject", "message_id", "created_at"]
    search_fields = ["to"]


@admin.register(CrmContact)
class CrmContactAdmin(OutsideWorld):
    list_display = ["email", "updated_at"]
    search_fields = ["email"]
