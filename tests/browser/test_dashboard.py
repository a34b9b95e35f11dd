"""The dashboard in headless Chromium against a live server (and a real worker where it matters).

Set ``DOPLATFORM_SCREENSHOTS=1`` to refresh docs/screenshots/ (they are committed).
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from actions import operators, submit
from actions.models import Run
from tests.conftest import wait_for
from tests.factories import make_dead_run, make_run, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
LIVE = 20_000  # ms: long enough for a worker to pick a run up and finish it


def wait_for_htmx(page: Page) -> None:
    """Wait until htmx has no request in flight and nothing left to settle (as in airlock)."""
    page.wait_for_function(
        "() => window.htmx && !document.querySelector("
        "'.htmx-request, .htmx-settling, .htmx-swapping, .htmx-added')"
    )


def log_in(page: Page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/")


def screenshot(page: Page, name: str, tmp_path: Path) -> None:
    folder = ROOT / "docs" / "screenshots" if os.getenv("DOPLATFORM_SCREENSHOTS") else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / name), full_page=True)
    assert (folder / name).stat().st_size > 10_000


def finished(run_id):
    return lambda: Run.objects.filter(pk=run_id, status__in=["succeeded", "dead"]).first()


@pytest.fixture
def operator_user():
    return make_user("olivia-operator", *OPERATOR_PERMS)


OPERATOR_PERMS = (
    "actions.view_run",
    "actions.retry_run",
    "actions.resolve_run",
    "actions.cancel_run",
    "actions.pause_action",
)


def test_operator_retries_a_dead_run_and_watches_it_succeed(
    page: Page, live_server, start_worker, operator_user, tmp_path
):
    start_worker()
    for i in range(4):
        submit("update-user-crm", {"email": f"ok{i}@example.com"})
    run = submit(
        "update-user-crm",
        {"email": "ada@example.com", "fail_with": 400, "fail_first": 1},
        idempotency_key="signup-ada-1",
    )
    assert wait_for(finished(run.pk), what="the CRM run to be dead-lettered").status == "dead"
    wait_for(lambda: Run.objects.filter(status="succeeded").count() == 4, what="the others")

    log_in(page, live_server, "olivia-operator")
    expect(page.locator(".tile.dead .n")).to_have_text("1")
    screenshot(page, "overview.png", tmp_path)

    page.get_by_role("link", name="Failed", exact=True).click()
    row = page.locator(f"#run-{run.pk}")
    expect(row).to_contain_text("crm_rejected")
    expect(row).to_contain_text("not retryable")
    screenshot(page, "failed.png", tmp_path)

    row.get_by_role("link", name=str(run.pk)[:8]).click()
    expect(page).to_have_url(f"{live_server.url}/runs/{run.pk}/")
    live = page.locator("#run-live")
    expect(live.get_by_test_id("run-status")).to_have_text("dead")
    expect(live.locator(".timeline .attempt")).to_have_count(1)
    expect(live.locator(".timeline")).to_contain_text("the CRM answered 400")
    screenshot(page, "detail.png", tmp_path)

    page.evaluate("window.notReloaded = true")
    live.get_by_role("button", name="Retry now").click()
    expect(page.locator("#messages")).to_contain_text("Retried run")
    expect(live.get_by_test_id("run-status")).to_have_text("succeeded", timeout=LIVE)
    expect(live.locator(".timeline .attempt")).to_have_count(2)
    expect(live.locator(".timeline")).to_contain_text("Retried")
    expect(live.locator(".timeline")).to_contain_text("by olivia-operator")
    assert page.evaluate("window.notReloaded") is True
    wait_for_htmx(page)
    expect(live.locator(".live")).to_have_count(0)  # polling stopped with the run


def test_operator_resolves_a_run_with_a_note(page: Page, live_server, operator_user):
    run = make_dead_run(inputs={"email": "grace@example.com"})
    log_in(page, live_server, "olivia-operator")
    page.goto(f"{live_server.url}/runs/{run.pk}/")
    live = page.locator("#run-live")
    live.locator("summary", has_text="Resolve…").click()
    live.get_by_label("Resolution note").fill("Added to the CRM by hand, ticket OPS-12")
    live.get_by_role("button", name="Resolve", exact=True).click()
    expect(live.get_by_test_id("run-status")).to_have_text("resolved")
    expect(live.locator(".timeline .note")).to_have_text("Added to the CRM by hand, ticket OPS-12")
    expect(page.locator("#messages")).to_contain_text("Resolved run")
    run.refresh_from_db()
    assert run.resolution_note == "Added to the CRM by hand, ticket OPS-12"


def test_operator_bulk_retries_three_runs(page: Page, live_server, operator_user):
    runs = [make_dead_run() for _ in range(3)]
    left_alone = make_dead_run()
    log_in(page, live_server, "olivia-operator")
    page.goto(f"{live_server.url}/runs/failed/")
    for run in runs:
        page.locator(f"#run-{run.pk} input[name=ids]").check()
    page.get_by_role("button", name="Retry selected").click()
    panel = page.locator("#bulk-panel")
    expect(panel).to_contain_text("Retry 3 runs?")
    panel.get_by_role("button", name="Retry 3 runs").click()
    expect(page.locator("#messages")).to_contain_text("Retried 3 runs.")
    for run in runs:  # the table refreshed itself: they are not failed any more
        expect(page.locator(f"#run-{run.pk}")).to_have_count(0)
    expect(page.locator(f"#run-{left_alone.pk}")).to_have_count(1)
    assert set(
        Run.objects.filter(pk__in=[r.pk for r in runs]).values_list("status", flat=True)
    ) == {"queued"}


def test_a_raced_action_shows_a_message_instead_of_nothing(page: Page, live_server, operator_user):
    run = make_dead_run()
    log_in(page, live_server, "olivia-operator")
    page.goto(f"{live_server.url}/runs/failed/")
    operators.resolve(run, None, "someone else was faster")
    page.locator(f"#run-{run.pk}").get_by_role("button", name="Retry now").click()
    expect(page.locator("#messages")).to_contain_text("Nothing done: cannot retry run")
    expect(page.locator("#messages")).to_contain_text("it is resolved")


def test_a_viewer_sees_no_buttons(page: Page, live_server):
    make_user("victor-viewer", "actions.view_run")
    run = make_dead_run()
    make_run("test-flaky", status="retrying", attempts=1)
    log_in(page, live_server, "victor-viewer")
    for path in ("/runs/failed/", f"/runs/{run.pk}/", "/actions/"):
        page.goto(f"{live_server.url}{path}")
        expect(page.locator("main h1")).to_be_visible()
        expect(page.locator("main form[method=post]")).to_have_count(0)
        for label in ("Retry now", "Cancel", "Resolve…", "Retry selected", "Pause"):
            expect(page.get_by_text(label, exact=True)).to_have_count(0)


def test_an_expired_session_sends_a_polling_page_to_login(page: Page, live_server, operator_user):
    run = make_run("test-noop", status="queued")  # in flight: its page polls
    log_in(page, live_server, "olivia-operator")
    page.goto(f"{live_server.url}/runs/{run.pk}/")
    page.context.clear_cookies()
    login = f"{live_server.url}/login/?next=%2Fruns%2F{run.pk}%2F"
    expect(page).to_have_url(login, timeout=LIVE)
    expect(page.get_by_role("button", name="Log in")).to_be_visible()


def test_script_payloads_stay_inert(page: Page, live_server, operator_user):
    payload = "<script>window.pwned = 1</script><img src=x onerror='window.pwned = 1'>"
    run = make_dead_run(
        inputs={"email": payload},
        error={"code": "x", "message": payload, "retryable": False},
        idempotency_key="k<script>window.pwned=1</script>",
    )
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog), dialog.dismiss()))
    log_in(page, live_server, "olivia-operator")
    for path in ("/runs/failed/", f"/runs/{run.pk}/"):
        page.goto(f"{live_server.url}{path}")
        expect(page.locator("main")).to_contain_text("window.pwned = 1")  # shown as text
        assert page.evaluate("window.pwned") is None
    assert dialogs == []
