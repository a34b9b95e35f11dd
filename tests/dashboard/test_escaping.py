"""Everything users supply (inputs, results, errors, notes, keys) is rendered inert."""

import pytest

from actions import operators
from actions.models import Attempt
from tests.dashboard.conftest import htmx
from tests.factories import make_dead_run, make_run

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
