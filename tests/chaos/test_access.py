"""Scenario 6: every URL of the dashboard and the API against every persona."""

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from actions.models import Job
from tests.factories import make_dead_run

pytestmark = pytest.mark.django_db

SECRET = "card-4242-secret-of-another-customer"
PAGE, OPERATE, API_READ, API_SUBMIT, API_OPERATE, API_PAUSE, API_DOCS = range(7)


def urls(run_id, job_id) -> list[tuple[str, str, int]]:
    r = run_id
    return [
        ("GET", "/", PAGE),
        ("GET", "/runs/", PAGE),
        ("GET", "/runs/failed/", PAGE),
        ("GET", f"/runs/{r}/", PAGE),
        ("GET", "/actions/", PAGE),
        ("GET", f"/jobs/{job_id}/", PAGE),
        ("POST", f"/runs/{r}/retry/", OPERATE),
        ("POST", f"/runs/{r}/resolve/", OPERATE),
        ("POST", f"/runs/{r}/cancel/", OPERATE),
        ("POST", "/runs/bulk/", OPERATE),
        ("POST", "/actions/test-noop/pause/", OPERATE),
        ("POST", "/actions/test-noop/resume/", OPERATE),
        ("GET", "/api/actions/", API_READ),
        ("GET", "/api/actions/test-noop/", API_READ),
        ("GET", "/api/runs/", API_READ),
        ("GET", f"/api/runs/{r}/", API_READ),
        ("GET", "/api/schema/", API_DOCS),
        ("GET", "/api/docs/", API_DOCS),
        ("POST", "/api/actions/test-noop/runs/", API_SUBMIT),
        ("POST", f"/api/runs/{r}/retry/", API_OPERATE),
        ("POST", f"/api/runs/{r}/resolve/", API_OPERATE),
        ("POST", f"/api/runs/{r}/cancel/", API_OPERATE),
        ("POST", "/api/actions/test-noop/pause/", API_PAUSE),
        ("POST", "/api/actions/test-noop/resume/", API_PAUSE),
    ]


# Expected status codes per persona and kind of URL; None means "allowed": any answer
# that is not a refusal (2xx, 3xx, or 4xx about the request itself, never 401/403/5xx).
# The schema and its docs hold no data: any signed-in user may read them.
KINDS = (PAGE, OPERATE, API_READ, API_SUBMIT, API_OPERATE, API_PAUSE, API_DOCS)
EXPECTED = {
    persona: dict(zip(KINDS, codes, strict=True))
    for persona, codes in {
        "anonymous": (302, 302, 401, 401, 401, 401, 401),
        "outsider": (403, 403, 403, 403, 403, 403, 200),
        "viewer": (200, 403, 200, 403, 403, 403, 200),
        "operator": (200, None, 200, None, None, None, 200),
    }.items()
}


@pytest.mark.parametrize("persona", list(EXPECTED))
def test_every_url_answers_each_persona_as_the_permission_matrix_says(persona, request, capsys):
    run = make_dead_run(inputs={"card": SECRET})
    job = Job.objects.create(kind="retried", filters={})
    client = Client()
    headers = {}
    if persona != "anonymous":
        user = request.getfixturevalue(persona)
        client.force_login(user)
        headers = {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=user).key}"}
    checked = 0
    for method, url, kind in urls(run.pk, job.pk):
        api = url.startswith("/api/")
        kwargs = dict(headers) if api else {}
        if method == "GET":
            response = client.get(url, **kwargs)
        else:
            body = {"inputs": {}} if kind == API_SUBMIT else {"note": "checked"}
            response = (
                client.post(url, body, content_type="application/json", **kwargs)
                if api
                else client.post(url, {"note": "checked", "op": "retry", "ids": [str(run.pk)]})
            )
        expected = EXPECTED[persona][kind]
        if expected is None:
            assert response.status_code < 500 and response.status_code not in (401, 403), (
                f"{persona} {method} {url}: {response.status_code}"
            )
        else:
            assert response.status_code == expected, (
                f"{persona} {method} {url}: {response.status_code}"
            )
        if response.status_code in (302, 401, 403):
            assert SECRET not in response.content.decode(errors="replace"), f"{url} leaked data"
        checked += 1
    with capsys.disabled():
        print(f"\nchaos[access]: {persona}: {checked} URLs answered as the permission matrix says")
