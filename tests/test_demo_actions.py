"""The demo's ``user-registration`` workflow, in process: the story the seed tells."""

import pytest

from actions import operators, submit
from actions.models import Run, RunStatus
from demo.models import Charge, CrmContact, Customer, Email
from tests.factories import drive

pytestmark = pytest.mark.django_db

STEPS = [
    ("1", "create-user"),
    ("2", "charge-subscription"),
    ("4", "send-welcome-email"),  # position 3 is the cool-off
    ("5", "update-user-crm"),
]


def register(name: str, **trouble) -> Run:
    inputs = {"email": f"{name}@example.com", "name": name.title(), "cool_off_seconds": 0}
    return submit("user-registration", inputs | trouble, idempotency_key=f"signup-{name}")


def reload(run: Run) -> Run:
    return Run.objects.select_related("action").get(pk=run.pk)


def steps(run: Run) -> dict[str, Run]:
    return {step.step_key: step for step in Run.objects.steps_of(run.pk)}


def test_a_registration_creates_charges_welcomes_and_syncs_the_user_once():
    run = register("ada")
    drive()
    run = reload(run)
    customer = Customer.objects.get(email="ada@example.com")
    charge = Charge.objects.get()
    assert run.status == RunStatus.SUCCEEDED
    assert run.result == {"user_id": customer.pk, "charge_id": charge.pk}
    assert [(key, step.action_id) for key, step in steps(run).items()] == STEPS
    assert (charge.customer, charge.amount_cents, charge.requests) == ("ada@example.com", 1900, 1)
    assert charge.idempotency_key == str(steps(run)["2"].pk)  # the step's run id
    assert Email.objects.get().to == "ada@example.com"
    assert CrmContact.objects.get().fields == {"plan": "pro", "customer_id": customer.pk}


def test_the_cool_off_is_a_durable_sleep_between_the_charge_and_the_welcome():
    run = submit("user-registration", {"email": "ada@example.com", "cool_off_seconds": 60})
    drive()
    run = reload(run)
    assert run.status == RunStatus.WAITING
    assert "(cool-off)" in run.waiting_reason
    assert list(steps(run)) == ["1", "2"]
    assert not Email.objects.exists()


def test_a_busy_mail_server_fails_the_welcome_once_and_it_retries_alone():
    run = register("grace", email_fail_first=1)
    drive()
    run = reload(run)
    welcome = steps(run)["4"]
    assert run.status == RunStatus.SUCCEEDED
    assert list(welcome.attempt_set.values_list("outcome", "error_code")) == [
        ("failed", "smtp_unavailable"),
        ("succeeded", ""),
    ]
    assert {step.attempts for key, step in steps(run).items() if key != "4"} == {1}
    assert Charge.objects.get().requests == 1


def test_a_refused_crm_step_kills_the_workflow_until_an_operator_retries_it():
    run = register("linus", crm_fail_with=400, crm_fail_first=1)
    drive()
    run = reload(run)
    crm = steps(run)["5"]
    assert (crm.status, crm.error["code"]) == (RunStatus.DEAD, "crm_rejected")
    assert (run.status, run.error["code"]) == (RunStatus.DEAD, "step_dead")
    assert run.error["details"] == {"step": "5", "run_id": str(crm.pk)}

    operators.retry(run, None, "the CRM accepts the contact now")
    drive()
    run = reload(run)
    assert run.status == RunStatus.SUCCEEDED
    assert reload(crm).attempts == 2
    assert Charge.objects.get().requests == 1  # the steps before it never ran again


def test_the_same_signup_submitted_again_is_the_same_workflow():
    first = register("ada")
    again = register("ada")
    assert again.replayed and again.pk == first.pk
    drive()
    assert Run.objects.filter(action_id="user-registration").count() == 1
    assert Charge.objects.count() == 1


def test_the_admin_lists_the_gateways_charges_read_only(admin_client):
    register("ada")
    drive()
    page = admin_client.get("/admin/demo/charge/")
    assert page.status_code == 200
    assert b"ada@example.com" in page.content
    assert admin_client.get("/admin/demo/charge/add/").status_code == 403
