"""Stand-ins for the outside world the demo actions talk to."""

from django.db import models


class Customer(models.Model):
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.email


class Charge(models.Model):
    """A charge at the fake payment gateway; one per idempotency key, like Stripe's."""

    idempotency_key = models.CharField(max_length=255, unique=True)
    customer = models.CharField(max_length=254)
    amount_cents = models.PositiveIntegerField()
    requests = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.customer} {self.amount_cents}"


class Email(models.Model):
    """The fake mail server's outbox."""

    message_id = models.CharField(max_length=255, unique=True)
    to = models.EmailField()
    subject = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.to}: {self.subject}"


class CrmContact(models.Model):
    email = models.EmailField(unique=True)
    fields = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.email


class DemoLogin(models.Model):
    """The demo superuser's password, kept so that ``make run`` prints the same one each time.

    Only for the demo's own account on a developer's machine (the password is printed
    anyway); a real account's password is never stored.
    """

    username = models.CharField(max_length=150, unique=True)
    password = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.username
