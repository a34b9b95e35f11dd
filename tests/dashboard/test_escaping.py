"""Everything users supply (inputs, results, errors, notes, keys) is rendered inert."""

import pytest
from django.utils import timezone

from actions import operators
from actions.models import Attempt, OperatorEvent, Run
from tests.dashboard.conftest import htmx
from tests.factories import make_dead_run, make_dead_workflow, make_run

pytestmark = pytest.mark.django_db

PAYLOAD = "<script>alert('xss')</script>"
ESCAPED = "&lt;script&gt;alert(&#x27;xss&#x27;)&lt;/script&gt;"


@pytest.fixture
def hostile_run(operator):
    run = make_dead_run(
        inputs={"email": PAYLOAD, PAYLOAD: [PAYLOAD]},
        error={"code": PAYLOAD, "message": PAYLOAD, "retryable": False},
        idempotency_key="key-<script>alert(1)</script>",
    )
    Attempt.objects.filter(run=run).update(traceback=PAYLOAD)
    operators.retry(run, operator, note=PAYLOAD)
    run.status = "dead"
    run.save(update_fields=["status"])
    return run


def assert_inert(html: str) -> None:
    assert "<script>alert" not in html
    assert ESCAPED in html


def test_the_run_page_escapes_inputs_errors_notes_tracebacks_and_keys(operator_client, hostile_run):
    html = operator_client.get(f"/runs/{hostile_run.pk}/").content.decode()
    assert_inert(html)
    assert "key-&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert f"&quot;{ESCAPED}&quot;" in html  # inside the pretty-printed JSON too


def test_the_lists_escape_error_codes_and_messages(operator_client, hostile_run):
    for url in ("/runs/", "/runs/failed/", f"/runs/?q={hostile_run.idempotency_key}"):
        assert_inert(operator_client.get(url).content.decode())


def test_partials_escape_too(operator_client, hostile_run):
    assert_inert(operator_client.get("/runs/failed/", **htmx("run-table")).content.decode())
    response = operator_client.post(
        f"/runs/{hostile_run.pk}/resolve/", {"note": PAYLOAD}, **htmx("run-live")
    )
    assert_inert(response.content.decode())


def test_a_resolution_note_is_escaped(operator_client, operator):
    run = make_dead_run()
    operators.resolve(run, operator, PAYLOAD)
    assert_inert(operator_client.get(f"/runs/{run.pk}/").content.decode())


def test_search_text_is_escaped(operator_client):
    make_run("test-noop")
    html = operator_client.get("/runs/", {"q": '"><script>alert(1)</script>'}).content.decode()
    assert "<script>alert(1)" not in html
    assert "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.fixture
def hostile_workflow(operator):
    """A workflow dead of a step whose key, inputs, error, events and attempts hold payloads."""
    run, (_, middle) = make_dead_workflow()
    Run.objects.filter(pk=middle.pk).update(
        step_key=PAYLOAD,
        inputs={PAYLOAD: PAYLOAD},
        error={"code": PAYLOAD, "message": PAYLOAD, "retryable": False},
    )
    details = {"step": PAYLOAD, "run_id": str(middle.pk)}
    Run.objects.filter(pk=run.pk).update(
        error={**run.error, "message": PAYLOAD, "details": details}
    )
    edited = {"inputs": {"before": {"e": PAYLOAD}, "after": {PAYLOAD: 1}}}
    for target, event_details in ((middle, edited), (middle, {"result": {"e": PAYLOAD}})):
        OperatorEvent.objects.create(
            kind="retried", run=target, user=operator, note=PAYLOAD, details=event_details
        )
    OperatorEvent.objects.create(kind="retried", run=run, user=operator, details=details)
    now = timezone.now()
    Attempt.objects.create(
        run=run,
        number=2,
        outcome="suspended",
        started_at=now,
        finished_at=now,
        error_message=PAYLOAD,
    )
    return run, middle


def test_workflow_and_step_pages_escape_keys_reasons_details_and_outputs(
    operator_client, hostile_workflow
):
    run, middle = hostile_workflow
    workflow_page = operator_client.get(f"/runs/{run.pk}/").content.decode()
    assert_inert(workflow_page)
    assert f"Step 2 <code>{ESCAPED}</code>" in workflow_page  # the step card's key
    assert f"went to step {ESCAPED}" in workflow_page
    assert f"suspended: {ESCAPED}" in workflow_page
    step_page = operator_client.get(f"/runs/{middle.pk}/").content.decode()
    assert_inert(step_page)
    assert f"(<code>{ESCAPED}</code>)" in step_page  # "Step 2 (key) of workflow"
    assert step_page.count(f"&quot;{ESCAPED}&quot;") >= 3  # inputs, edited inputs, output
    Run.objects.filter(pk=run.pk).update(status="waiting", waiting_reason=PAYLOAD)
    live = operator_client.get(f"/runs/{run.pk}/", **htmx("run-live")).content.decode()
    assert_inert(live)
    assert f'data-testid="waiting-reason">{ESCAPED}</p>' in live


def test_the_steps_list_escapes_too(operator_client, hostile_workflow):
    run, _ = hostile_workflow
    for url in (f"/runs/?parent={run.pk}", "/runs/?kind=workflow"):
        assert_inert(operator_client.get(url).content.decode())
