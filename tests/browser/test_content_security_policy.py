"""Every page works under the Content-Security-Policy: no inline script or style, no eval.

The browser reports each blocked resource as a ``securitypolicyviolation`` event; the
pages are opened with a listener that records them, and none may be recorded.
"""

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page, expect

from actions.models import Job, Run
from tests.browser.test_dashboard import log_in, wait_for_htmx
from tests.factories import make_dead_run, make_dead_workflow, make_run

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sample}`);
});
"""


@pytest.fixture
def operator_page(page: Page, live_server) -> Page:
    User.objects.create_superuser("olivia-operator", password="pw")
    page.add_init_script(RECORD_VIOLATIONS)
    log_in(page, live_server, "olivia-operator")
    return page


def violations(page: Page) -> list[str]:
    return page.evaluate("window.__violations")


def test_every_page_loads_without_a_policy_violation(operator_page: Page, live_server):
    page = operator_page
    run = make_dead_run()
    workflow, (_, dead_step) = make_dead_workflow()
    job = Job.objects.create(kind="retried", filters={})
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    urls = [
        "/",
        "/runs/",
        "/runs/failed/",
        f"/runs/{run.pk}/",
        f"/runs/{workflow.pk}/",
        f"/runs/{dead_step.pk}/",
        f"/runs/?parent={workflow.pk}",
        "/actions/",
        f"/jobs/{job.pk}/",
        "/api/docs/",
        "/admin/",
        "/admin/actions/run/",
        f"/admin/actions/run/{run.pk}/change/",
        "/admin/actions/action/",
    ]
    for url in urls:
        response = page.goto(f"{live_server.url}{url}")
        assert response.status == 200, url
        assert "script-src 'self'" in response.headers["content-security-policy"], url
        page.wait_for_load_state("networkidle")
        assert violations(page) == [], url
    assert errors == []


def test_the_api_docs_render_the_operations_under_the_policy(operator_page: Page, live_server):
    page = operator_page
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    expect(page.get_by_text("/api/actions/{name}/runs/", exact=True)).to_be_visible()
    assert violations(page) == []


def test_the_run_list_refreshes_itself_under_the_policy(operator_page: Page, live_server):
    page = operator_page
    page.goto(f"{live_server.url}/runs/")
    wait_for_htmx(page)
    run = make_run("test-noop", status="succeeded")
    expect(page.locator(f"#run-{run.pk}")).to_have_count(1, timeout=15_000)
    assert violations(page) == []


def test_htmx_buttons_work_under_the_policy(operator_page: Page, live_server):
    page = operator_page
    run = make_dead_run()
    page.goto(f"{live_server.url}/runs/{run.pk}/")
    page.locator("#run-live").get_by_role("button", name="Retry now").click()
    expect(page.locator("#messages")).to_contain_text("Retried run")
    assert violations(page) == []


def test_a_running_runs_page_refreshes_itself_under_the_policy(operator_page: Page, live_server):
    page = operator_page
    run = make_run("test-noop")
    page.goto(f"{live_server.url}/runs/{run.pk}/")
    wait_for_htmx(page)
    Run.objects.filter(pk=run.pk).update(status="cancelled", finished_at=timezone.now())
    expect(page.get_by_test_id("run-status")).to_have_text("cancelled", timeout=15_000)
    assert violations(page) == []
