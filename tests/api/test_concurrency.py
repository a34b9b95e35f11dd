"""Many clients retrying the same request at once, over real HTTP, against PostgreSQL."""

import json
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from rest_framework.authtoken.models import Token

from actions.models import IdempotencyRecord, Run, RunStatus
from tests.conftest import wait_for
from tests.factories import make_user
from tests.testapp.models import Execution

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

CLIENTS = 32


def post(url: str, body: dict, headers: dict[str, str]) -> tuple[int, dict, dict]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


@pytest.fixture
def wide_live_server(live_server):
    """The live server, with a listen backlog that holds every client connecting at once.

    Django's test server listens with a backlog of 10: the kernel resets connections
    past it, which would test the TCP stack instead of the API.
    """
    live_server.thread.httpd.socket.listen(CLIENTS * 2)  # Linux updates the backlog in place
    return live_server


def test_32_concurrent_submits_with_one_key_make_one_run_executed_once(
    wide_live_server, start_worker
):
    live_server = wide_live_server
    user = make_user("svc-concurrent", "actions.submit_run", staff=False)
    token = Token.objects.create(user=user).key
    url = f"{live_server.url}/api/actions/test-counted/runs/"
    headers = {"Authorization": f"Token {token}", "Idempotency-Key": "signup-42"}
    barrier = threading.Barrier(CLIENTS)

    def client(_: int) -> tuple[int, dict, dict]:
        barrier.wait()  # all at once
        return post(url, {"inputs": {"n": 42}}, headers)

    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(client, range(CLIENTS)))

    statuses = sorted(status for status, _, _ in results)
    assert statuses == [200] * (CLIENTS - 1) + [202], [body for _, _, body in results]
    run_ids = {body["id"] for _, _, body in results}
    assert len(run_ids) == 1
    replays = [h for status, h, _ in results if status == 200]
    assert all(h.get("Idempotent-Replayed") == "true" for h in replays)
    assert Run.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1

    run_id = run_ids.pop()
    start_worker()
    wait_for(
        lambda: Run.objects.filter(pk=run_id, status=RunStatus.SUCCEEDED).exists(),
        timeout=60,
        what="the run to succeed",
    )
    assert Execution.objects.filter(run_id=run_id).count() == 1
    again = post(url, {"inputs": {"n": 42}}, headers)
    assert again[0] == 200
    assert again[2]["status"] == "succeeded"
    assert again[2]["result"] is None  # the service may submit, not read runs
    assert Run.objects.get(pk=run_id).result == {"n": 42}
