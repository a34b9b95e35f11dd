"""Scenario 5: hostile input through the API and the submit command: a specific 4xx, nothing written."""

import http.client
import json
from urllib.parse import urlparse

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from actions.models import Action, IdempotencyRecord, OperatorEvent, Run, RunStatus
from tests.chaos.servers import send_raw
from tests.factories import make_dead_run, make_user

pytestmark = pytest.mark.django_db(transaction=True)

SUBMIT = "/api/actions/test-schema/runs/"
JSON = "application/json"


def nested(depth: int) -> bytes:
    return b'{"inputs": ' + b'{"a": ' * depth + b"1" + b"}" * depth + b"}"


# (name, path, body bytes, headers, expected status, expected error code)
CORPUS = [
    ("malformed json", SUBMIT, b'{"inputs": {', {}, 400, "invalid_json"),
    ("truncated json", SUBMIT, b'{"inputs": {"email": "a@b.c"', {}, 400, "invalid_json"),
    ("not an object", SUBMIT, b"[1, 2, 3]", {}, 400, "invalid_body"),
    ("inputs missing", SUBMIT, b'{"input": {}}', {}, 400, "invalid_body"),
    ("inputs not an object", SUBMIT, b'{"inputs": "x"}', {}, 400, "invalid_body"),
    ("deep nesting", SUBMIT, nested(100), {}, 400, "invalid_inputs"),
    ("recursion bomb", SUBMIT, nested(40_000), {}, 400, "invalid_inputs"),
    ("oversized recursion bomb", SUBMIT, nested(100_000), {}, 413, "payload_too_large"),
    (
        "duplicate key",
        SUBMIT,
        b'{"inputs": {"email": "a@b.c", "email": "evil@x.y"}}',
        {},
        400,
        "invalid_json",
    ),
    (
        "duplicate envelope",
        SUBMIT,
        b'{"inputs": {"email": "a@b.c"}, "inputs": {"email": "evil@x.y"}}',
        {},
        400,
        "invalid_json",
    ),
    (
        "integer a double rounds",
        SUBMIT,
        b'{"inputs": {"email": "a@b.c", "age": 9007199254740993}}',
        {},
        400,
        "invalid_inputs",
    ),
    (
        "latin-1 charset",
        SUBMIT,
        '{"inputs": {"email": "caf\xe9@b.c"}}'.encode("latin-1"),
        {"Content-Type": "application/json; charset=latin-1"},
        415,
        "unsupported_media_type",
    ),
    ("NaN literal", SUBMIT, b'{"inputs": {"email": "a@b.c", "age": NaN}}', {}, 400, None),
    ("huge exponent", SUBMIT, b'{"inputs": {"email": "a@b.c", "age": 1e999}}', {}, 400, None),
    (
        "huge integer",
        SUBMIT,
        b'{"inputs": {"email": "a@b.c", "age": 1' + b"0" * 5000 + b"}}",
        {},
        400,
        None,
    ),
    ("NUL escape", SUBMIT, b'{"inputs": {"email": "a\\u0000@b.c"}}', {}, 400, "invalid_inputs"),
    ("raw NUL byte", SUBMIT, b'{"inputs": {"email": "a\x00@b.c"}}', {}, 400, None),
    ("invalid utf-8", SUBMIT, b'{"inputs": {"email": "\xff\xfe@b.c"}}', {}, 400, None),
    ("lone surrogate", SUBMIT, b'{"inputs": {"email": "\\ud800@b.c"}}', {}, 400, None),
    ("schema violation", SUBMIT, b'{"inputs": {"age": -1}}', {}, 400, "invalid_inputs"),
    (
        "10 MB body",
        SUBMIT,
        b'{"inputs": {"email": "' + b"x" * 10_000_000 + b'"}}',
        {},
        413,
        "payload_too_large",
    ),
    (
        "huge key",
        SUBMIT,
        b'{"inputs": {"email": "a@b.c"}}',
        {"Idempotency-Key": "k" * 10_000},
        400,
        None,
    ),
    (
        "unicode key",
        SUBMIT,
        b'{"inputs": {"email": "a@b.c"}}',
        {"Idempotency-Key": "cl\u00e9".encode().decode("latin-1")},
        400,
        "invalid_idempotency_key",
    ),
    (
        "empty key",
        SUBMIT,
        b'{"inputs": {"email": "a@b.c"}}',
        {"Idempotency-Key": ""},
        400,
        "invalid_idempotency_key",
    ),
    (
        "repeated key header",
        SUBMIT,
        b'{"inputs": {"email": "a@b.c"}}',
        {"Idempotency-Key": "a, b"},
        400,
        "invalid_idempotency_key",
    ),
    (
        "text/plain",
        SUBMIT,
        b'{"inputs": {"email": "a@b.c"}}',
        {"Content-Type": "text/plain"},
        415,
        None,
    ),
    (
        "form encoded",
        SUBMIT,
        b"inputs=1",
        {"Content-Type": "application/x-www-form-urlencoded"},
        415,
        None,
    ),
    ("unknown action", "/api/actions/no-such/runs/", b'{"inputs": {}}', {}, 404, "unknown_action"),
    (
        "sql in the action name",
        "/api/actions/x'%3B%20DROP%20TABLE%20actions_run%3B--/runs/",
        b'{"inputs": {}}',
        {},
        404,
        None,
    ),
]


# (name, path, body actually sent, Content-Length announced): the client half-closes early.
SHORT_BODIES = [
    ("valid JSON, short of its length", SUBMIT, b'{"inputs": {"email": "a@b.c"}}', 200),
    ("cut inside a string", SUBMIT, b'{"inputs": {"email": "a@b', 31),
    ("nothing of its length", SUBMIT, b"", 31),
    ("one byte short", SUBMIT, b'{"inputs": {"email": "a@b.c"}} ', 32),
]


def send_short(url, token: str, path: str, body: bytes, announced: int) -> tuple[int, dict]:
    headers = {"Authorization": f"Token {token}", "Content-Type": JSON}
    status, payload = send_raw(url, "POST", path, headers, body, announced)
    return status, json.loads(payload) if payload else {}


@pytest.fixture
def api(live_server):
    user = make_user("hostile-tester", "actions.view_run", "actions.submit_run")
    token = Token.objects.create(user=user).key
    url = urlparse(live_server.url)

    def send(path: str, body: bytes, headers: dict) -> tuple[int, dict]:
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        conn.request(
            "POST",
            path,
            body=body,
            headers={"Authorization": f"Token {token}", "Content-Type": JSON, **headers},
        )
        response = conn.getresponse()
        raw = response.read()
        conn.close()
        return response.status, json.loads(raw) if raw else {}

    send.short = lambda path, body, announced: send_short(url, token, path, body, announced)
    return send


def written() -> tuple[int, int]:
    return Run.objects.count(), IdempotencyRecord.objects.count()


def test_every_hostile_request_gets_a_specific_4xx_json_error_and_writes_nothing(api, capsys):
    refused = 0
    for name, path, body, headers, status, code in CORPUS:
        got, payload = api(path, body, headers)
        assert got == status, f"{name}: {got} {payload}"
        assert set(payload) >= {"error", "message"}, f"{name}: {payload}"
        if code:
            assert payload["error"] == code, f"{name}: {payload}"
        assert written() == (0, 0), f"{name} wrote a row"
        refused += 1
    for name, path, body, announced in SHORT_BODIES:
        got, payload = api.short(path, body, announced)
        assert got == 400, f"{name}: {got} {payload}"
        assert payload["error"] == "invalid_body", f"{name}: {payload}"
        assert f"after {len(body)} of the {announced} bytes" in payload["message"], name
        assert written() == (0, 0), f"{name} wrote a row"
        refused += 1
    # The server still serves, and hostile-looking but valid strings are stored verbatim.
    hostile = {"email": "<script>alert(1)</script>@x.y'; DROP TABLE actions_run; --"}
    got, payload = api(
        SUBMIT, json.dumps({"inputs": hostile}).encode(), {"Idempotency-Key": "ok-1"}
    )
    assert got == 202, payload
    assert Run.objects.get().inputs == hostile
    with capsys.disabled():
        print(
            f"\nchaos[hostile-input]: HTTP inputs tried {len(CORPUS) + len(SHORT_BODIES)}, "
            f"refused {refused}, "
            "server kept serving"
        )


@pytest.mark.parametrize(
    ("inputs", "key", "code"),
    [
        ("{", None, "invalid_json"),
        ("[1]", None, "invalid_inputs"),
        ('{"email": "a\\u0000b"}', None, "invalid_inputs"),
        ('{"email": "a@b.c", "age": NaN}', None, "invalid_inputs"),
        ('{"email": "a@b.c"}', "k" * 256, "invalid_idempotency_key"),
        ('{"email": "a@b.c"}', "", "invalid_idempotency_key"),
        ('{"email": "a@b.c", "email": "x@y.z"}', None, "invalid_json"),
        ('{"email": "a@b.c", "age": 9007199254740993}', None, "invalid_inputs"),
    ],
)
def test_the_submit_command_refuses_hostile_input_with_its_code(inputs, key, code):
    with pytest.raises(CommandError, match=code):
        call_command("submit", "test-schema", inputs=inputs, key=key)
    assert written() == (0, 0)


# The dashboard: (name, method, path, urlencoded body or None, Content-Length announced or None)
DASHBOARD = [
    ("NUL in the search", "GET", "/runs/?q=%00", None, None),
    ("NUL in an error code", "GET", "/runs/failed/?code=a%00b", None, None),
    ("NUL in an action", "GET", "/runs/?action=%00", None, None),
    ("NUL in a range", "GET", "/?since=%00", None, None),
    ("NUL in a parameter's name", "GET", "/actions/?%00=1", None, None),
    ("NUL in a resolve note", "POST", "/runs/{run}/resolve/", b"note=a%00b", None),
    ("NUL in a retry note", "POST", "/runs/{run}/retry/", b"note=%00", None),
    ("NUL in a bulk note", "POST", "/runs/bulk/", b"op=resolve&note=a%00b&ids={run}", None),
    ("NUL in a bulk id", "POST", "/runs/bulk/", b"op=retry&ids={run}%00&confirmed=1", None),
    ("NUL in a pause note", "POST", "/actions/test-noop/pause/", b"note=%00", None),
    ("short resolve body", "POST", "/runs/{run}/resolve/", b"note=settled", 40),
    ("short pause body", "POST", "/actions/test-noop/pause/", b"", 12),
]


def test_every_hostile_dashboard_input_is_a_400_saying_why_and_changes_nothing(
    live_server, client, operator, capsys
):
    run = make_dead_run()
    client.force_login(operator)
    csrf = "c" * 32
    cookies = f"sessionid={client.cookies['sessionid'].value}; csrftoken={csrf}"
    url = urlparse(live_server.url)
    refused = 0
    for name, method, path, body, announced in DASHBOARD:
        headers = {"Cookie": cookies, "X-CSRFToken": csrf}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = body.replace(b"{run}", str(run.pk).encode())
        path = path.replace("{run}", str(run.pk))
        status, page = send_raw(url, method, path, headers, body or b"", announced)
        assert status == 400, f"{name}: {status}"
        reason = "NUL characters are not allowed" if announced is None else "bytes its Content"
        assert reason in page.decode(errors="replace"), name
        assert not OperatorEvent.objects.exists(), f"{name} wrote an event"
        assert Run.objects.get().status == RunStatus.DEAD, name
        assert not Action.objects.filter(paused=True).exists(), name
        refused += 1
    status, _ = send_raw(url, "GET", "/runs/failed/?code=bad_request", {"Cookie": cookies})
    assert status == 200
    with capsys.disabled():
        print(
            f"\nchaos[hostile-input]: dashboard inputs tried {len(DASHBOARD)}, refused "
            f"{refused} with 400, nothing written, server kept serving"
        )
