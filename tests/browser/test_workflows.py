"""A workflow in headless Chromium, run by a real worker: repaired from its own page, live.

Set ``DOPLATFORM_SCREENSHOTS=1`` to refresh docs/screenshots/workflow.png.
"""

import pytest
from playwright.sync_api import Page, expect

from actions import submit
from actions.models import Run
from tests.browser.test_dashboard import LIVE, OPERATOR_PERMS, log_in, screenshot, wait_for_htmx
from tests.conftest import wait_for
from tests.factories import make_dead_workflow, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIGNUP = {
    "email": "ada@example.com",
    "name": "Ada Lovelace",
    # The CRM refuses the first attempt for good (400): the step is dead, so is the workflow.
    "crm": {"fail_with": 400, "fail_first": 1},
}


def test_operator_retries_a_dead_step_from_the_workflows_page_and_watches_it_complete(
    page: Page, live_server, start_worker, tmp_path
):
    make_user("olivia-operator", *OPERATOR_PERMS)
    start_worker()
    run = submit("test-wf-signup", SIGNUP, idempotency_key="signup-ada-1")
    dead = wait_for(
        lambda: Run.objects.filter(pk=run.pk, status__in=["dead", "succeeded"]).first(),
        what="the workflow to die of its CRM step",
    )
    assert (dead.status, dead.error["code"]) == ("dead", "step_dead")

    log_in(page, live_server, "olivia-operator")
    page.goto(f"{live_server.url}/runs/{run.pk}/")
    live = page.locator("#run-live")
    steps = live.get_by_test_id("step")
    expect(live.get_by_test_id("run-status")).to_have_text("dead")
    expect(steps).to_have_count(2)
    expect(steps.nth(0)).to_contain_text("create-user")
    expect(steps.nth(0).locator(".badge")).to_have_text("succeeded")
    expect(steps.nth(1)).to_contain_text("update-user-crm")
    expect(steps.nth(1).locator(".badge")).to_have_text("dead")
    expect(live.get_by_test_id("failed-step")).to_be_visible()

    page.evaluate("window.notReloaded = true")
    live.get_by_role("button", name="Retry dead step").click()
    expect(page.locator("#messages")).to_contain_text("Retried step 2 of workflow run")
    expect(live.get_by_test_id("run-status")).to_have_text("succeeded", timeout=LIVE)
    expect(steps).to_have_count(4)
    expect(live.locator(".steps .badge.succeeded")).to_have_count(4)
    parallel = live.locator(".step-group.parallel [data-testid=step]")
    expect(parallel).to_have_count(2)  # the email and the charge, side by side
    expect(parallel.nth(0)).to_contain_text("send-welcome-email")
    expect(parallel.nth(1)).to_contain_text("charge-subscription")
    boxes = [parallel.nth(i).bounding_box() for i in range(2)]
    assert boxes[0]["y"] == boxes[1]["y"] and boxes[0]["x"] < boxes[1]["x"]
    expect(live.locator(".timeline")).to_contain_text("went to step 2")
    expect(live.locator(".timeline .outcome-suspended").first).to_contain_text("suspended:")
    assert page.evaluate("window.notReloaded") is True
    wait_for_htmx(page)
    expect(live.locator(".live")).to_have_count(0)  # polling stopped with the workflow
    screenshot(page, "workflow.png", tmp_path)
    assert Run.objects.get(pk=run.pk).result["crm_id"]


def test_operator_edits_a_dead_steps_inputs_and_gives_another_its_output(page: Page, live_server):
    make_user("olivia-operator", *OPERATOR_PERMS)
    run, (_, middle) = make_dead_workflow()
    log_in(page, live_server, "olivia-operator")
    page.goto(f"{live_server.url}/runs/{middle.pk}/")
    expect(page.get_by_test_id("step-of")).to_contain_text("Step 2 of workflow test-wf-repair")
    live = page.locator("#run-live")
    live.locator("summary", has_text="Retry with edited inputs…").click()
    inputs = live.get_by_label("Edited inputs")
    expect(inputs).to_have_value('{\n  "fail_first": 1\n}')

    inputs.fill('{"fail_first": ')  # not JSON: refused, nothing written
    live.get_by_role("button", name="Retry with these inputs").click()
    expect(page.locator("#messages")).to_contain_text("Nothing done: the edited inputs: not valid")
    assert Run.objects.get(pk=middle.pk).status == "dead"

    inputs.fill('{"fail_first": 0}')
    live.get_by_role("button", name="Retry with these inputs").click()
    expect(page.locator("#messages")).to_contain_text("with the edited inputs")
    expect(live.get_by_test_id("run-status")).to_have_text("queued")
    diff = live.get_by_test_id("edited-inputs")
    expect(diff.locator("pre").nth(0)).to_have_text('{\n  "fail_first": 1\n}')
    expect(diff.locator("pre").nth(1)).to_have_text('{\n  "fail_first": 0\n}')

    other, (_, dead) = make_dead_workflow()
    page.goto(f"{live_server.url}/runs/{dead.pk}/")
    live.locator("summary", has_text="Resolve…").click()
    live.get_by_label("Resolution note").fill("Let through by hand in the console")
    live.get_by_label("Output").fill('{"attempt": "by hand"}')
    live.get_by_role("button", name="Resolve", exact=True).click()
    expect(page.locator("#messages")).to_contain_text("its workflow resumes with it")
    expect(live.get_by_test_id("run-status")).to_have_text("resolved")
    expect(live.get_by_test_id("given-output").locator("pre")).to_have_text(
        '{\n  "attempt": "by hand"\n}'
    )
    assert Run.objects.get(pk=other.pk).status == "queued"
