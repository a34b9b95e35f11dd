"""Scenario 4: two operators act on the same dead run at the same moment (API and dashboard)."""

import http.client
import secrets
import threading
from functools import partial
from urllib.parse import urlencode, urlparse

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from actions.models import OperatorEvent, RunStatus
from tests.conftest import OPERATOR_PERMS
from tests.factories import make_dead_run, make_user

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 15


@pytest.fixture
def operators(live_server):
    """Send one request as the API operator (token) or the dashboard operator (session)."""
    api_user = make_user("api-operator", *OPERATOR_PERMS)
    token = Token.objects.create(user=api_user).key
    dash_user = make_user("dash-operator", *OPERATOR_PERMS)
    client = Client()
    client.force_login(dash_user)
    session = client.cookies["sessionid"].value
    csrf = secrets.token_hex(16)  # a 32-character secret, sent as cookie and header
    url = urlparse(live_server.url)

    def send(path: str, body: bytes, headers: dict) -> int:
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        conn.request("POST", path, body=body, headers=headers)
        status = conn.getresponse().status
        conn.close()
        return status

    def via_api(run_id, verb: str, note: str) -> int:
        return send(
            f"/api/runs/{run_id}/{verb}/",
            f'{{"note": "{note}"}}'.encode(),
            {"Authorization": f"Token {token}", "Content-Type": "application/json"},
        )

    def via_dashboard(run_id, verb: str, note: str) -> int:
        return send(
            f"/runs/{run_id}/{verb}/",
            urlencode({"note": note}).encode(),
            {
                "Cookie": f"sessionid={session}; csrftoken={csrf}",
                "X-CSRFToken": csrf,
                "Content-Type": "application/x-www-form-urlencoded",
                "HX-Request": "true",
                "Referer": live_server.url + "/runs/failed/",
            },
        )

    return via_api, via_dashboard


def race(*calls) -> list[int]:
    barrier = threading.Barrier(len(calls))
    results: list[int] = [0] * len(calls)

    def go(i, call):
        barrier.wait()
        results[i] = call()

    threads = [threading.Thread(target=go, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_retry_and_resolve_at_once_exactly_one_wins_and_the_timeline_says_which(operators, capsys):
    via_api, via_dashboard = operators
    conflicts = 0
    for i in range(ROUNDS):
        run = make_dead_run()
        api_verb, dash_verb = ("retry", "resolve") if i % 2 else ("resolve", "retry")
        calls = (
            partial(via_api, run.pk, api_verb, f"api {api_verb}"),
            partial(via_dashboard, run.pk, dash_verb, f"dashboard {dash_verb}"),
        )
        statuses = race(*calls)
        assert sorted(statuses) == [200, 409], statuses
        conflicts += 1
        [event] = OperatorEvent.objects.filter(run=run)
        run.refresh_from_db()
        expected = {"retried": RunStatus.QUEUED, "resolved": RunStatus.RESOLVED}[event.kind]
        assert run.status == expected
    with capsys.disabled():
        print(
            f"\nchaos[operator-races]: {ROUNDS} races, {ROUNDS} winners, {conflicts} answered 409"
        )


def test_two_dashboard_operators_resolving_at_once_one_gets_409(operators):
    _, via_dashboard = operators
    run = make_dead_run()
    statuses = race(
        lambda: via_dashboard(run.pk, "resolve", "first"),
        lambda: via_dashboard(run.pk, "resolve", "second"),
    )
    assert sorted(statuses) == [200, 409]
    assert OperatorEvent.objects.filter(run=run).count() == 1
