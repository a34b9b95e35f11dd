"""Every query parameter and form field of the dashboard gets the API's checks: text
that cannot be stored or searched (NUL) is a 400 with a clear message, and nothing is
written. Fuzzed like the API (tests/api/test_schema.py)."""

from urllib.parse import quote_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actions.models import Action, Job, OperatorEvent, Run, RunStatus
from tests.dashboard.conftest import htmx
from tests.factories import make_dead_run

pytestmark = pytest.mark.django_db

FILTERS = [
    "status",
    "action",
    "since",
    "q",
    "code",
    "idempotency_key",
    "created_after",
    "created_before",
    "cursor",
    "after",
    "limit",
]


def untouched() -> tuple:
    return (
        OperatorEvent.objects.count(),
        Job.objects.count(),
        list(Run.objects.order_by("pk").values_list("status", flat=True)),
        list(Action.objects.filter(paused=True).values_list("pk", flat=True)),
    )


@pytest.mark.parametrize(
    "url",
    [
        "/runs/?q=%00",
        "/runs/failed/?code=a%00b",
        "/runs/?action=%00",
        "/runs/?status=dead&status=%00",
        "/?since=%00",
        "/actions/?x=%00",
        "/runs/?%00=1",
    ],
)
def test_a_nul_in_any_query_parameter_is_a_400_saying_so(operator_client, url):
    response = operator_client.get(url)
    assert response.status_code == 400
    assert "NUL characters are not allowed" in response.content.decode()


def test_an_htmx_request_gets_the_refusal_in_the_message_area(operator_client):
    response = operator_client.get("/runs/?q=a%00", **htmx("run-table"))
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#messages"
    assert "NUL characters are not allowed" in response.content.decode()


def test_the_refusal_names_the_parameter_without_echoing_the_nul(operator_client):
    response = operator_client.get("/runs/?bad%00name=1")
    assert response.status_code == 400
    assert "bad\\x00name" in response.content.decode()
    assert "\x00" not in response.content.decode()


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/runs/{id}/retry/", {"note": "a\x00b"}),
        ("/runs/{id}/resolve/", {"note": "a\x00b"}),
        ("/runs/{id}/cancel/", {"note": "\x00"}),
        ("/runs/bulk/", {"op": "resolve", "note": "a\x00b", "ids": "{id}", "confirmed": "1"}),
        ("/runs/bulk/", {"op": "retry", "ids": "{id}\x00", "confirmed": "1"}),
        ("/runs/bulk/", {"op": "re\x00try", "ids": "{id}"}),
        ("/runs/bulk/", {"op": "retry", "all_matching": "1", "q": "\x00", "confirmed": "1"}),
        ("/actions/test-noop/pause/", {"note": "a\x00b"}),
        ("/actions/test-noop/resume/", {"next": "/\x00"}),
    ],
)
def test_a_nul_in_any_form_field_is_a_400_and_writes_nothing(operator_client, path, fields):
    run = make_dead_run()
    before = untouched()
    data = {key: value.replace("{id}", str(run.pk)) for key, value in fields.items()}
    response = operator_client.post(path.replace("{id}", str(run.pk)), data)
    assert response.status_code == 400
    assert "NUL characters are not allowed" in response.content.decode()
    assert untouched() == before


# --- fuzzing: whatever the query string, a page answers 200 or a 400 that says why ---

any_text = st.text(max_size=30) | st.binary(max_size=12).map(quote_from_bytes)


@given(
    page=st.sampled_from(["/", "/runs/", "/runs/failed/", "/actions/", "run", "job"]),
    params=st.lists(
        st.tuples(st.sampled_from([*FILTERS, "x"]) | st.text(max_size=5), any_text),
        max_size=5,
    ),
    partial=st.booleans(),
)
@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_query_string_makes_a_dashboard_page_fail(operator_client, page, params, partial):
    run = Run.objects.filter(status=RunStatus.DEAD).first() or make_dead_run()
    job = Job.objects.first() or Job.objects.create(kind="retried", filters={})
    url = {"run": f"/runs/{run.pk}/", "job": f"/jobs/{job.pk}/"}.get(page, page)
    query = "&".join(
        f"{quote_from_bytes(name.encode('utf-8', 'surrogatepass'))}={value}"
        if isinstance(value, str) and "%" in value
        else f"{quote_from_bytes(name.encode('utf-8', 'surrogatepass'))}="
        f"{quote_from_bytes(value.encode('utf-8', 'surrogatepass'))}"
        for name, value in params
    )
    headers = htmx("run-table") if partial else {}
    response = operator_client.get(f"{url}?{query}", **headers)
    assert response.status_code in (200, 400), (url, query, response.status_code)
    if response.status_code == 400:
        assert "Nothing done:" in response.content.decode()
